"""Words users type for the fixed options (input vocabulary, normalised: no accents, lowercase).

What the bot *says* lives in templates; this is only what it *understands* besides button labels.
"""

from __future__ import annotations

from bot.dialog.matching import normalise

UNKNOWN_WORDS = frozenset(
    normalise(w)
    for w in (
        "je ne sais pas", "je sais pas", "sais pas", "ne sais pas", "jsp", "aucune idée",
        "aucune idee", "pas sûr", "pas sur", "inconnu", "nsp", "?", "??",
        "i don't know", "i dont know", "dont know", "don't know", "idk", "not sure", "unknown",
        "no idea", "pas encore décidé", "pas decide", "not decided",
    )
) - {""}

_SYNONYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("stage", "first_steps"): ("debut", "debutant", "premiers pas", "pas encore", "beginner",
                               "first steps", "new to export", "starting out",
                               "starting", "never exported", "jamais exporte", "first export"),
    ("stage", "exporting"): ("exporte deja", "j exporte", "nous exportons", "already exporting",
                             "exporting", "export"),
    ("stage", "established"): ("filiale", "bureau", "subsidiary", "office abroad", "branch",
                               "implante", "structure a l etranger", "entity abroad"),
    ("vie", "none"): ("non", "no", "aucun", "pas de vie", "none", "nope", "non merci",
                      "no thanks", "no thank you", "jamais", "never"),
    ("vie", "maybe"): ("peut etre", "peutetre", "maybe", "perhaps", "on verra", "possible"),
    ("vie", "yes"): ("oui", "yes", "yep", "ouais", "bien sur", "of course"),
}


def option_synonyms(step: str, option: str) -> tuple[str, ...]:
    """Extra words that mean this option at this step."""
    return _SYNONYMS.get((step, option), ())
