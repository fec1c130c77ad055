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
    # Overseas territories: names, short forms and department numbers.
    ("territory", "guadeloupe"): ("guadeloupe", "la guadeloupe", "gwada", "971",
                                  "pointe a pitre", "basse terre"),
    ("territory", "martinique"): ("martinique", "la martinique", "972", "fort de france"),
    ("territory", "guyane"): ("guyane", "la guyane", "guyane francaise", "french guiana",
                              "973", "cayenne"),
    ("territory", "reunion"): ("reunion", "la reunion", "ile de la reunion", "974",
                               "saint denis de la reunion", "reunion island"),
    ("territory", "mayotte"): ("mayotte", "976", "mamoudzou"),
    ("territory", "collectivite"): ("saint martin", "st martin", "saint barthelemy",
                                    "saint barth", "st barth", "saint pierre et miquelon",
                                    "st pierre et miquelon", "spm", "polynesie",
                                    "polynesie francaise", "french polynesia", "tahiti",
                                    "nouvelle caledonie", "new caledonia", "caledonie",
                                    "wallis et futuna", "wallis and futuna", "wallis",
                                    "collectivite", "autre collectivite", "com"),
}


def option_synonyms(step: str, option: str) -> tuple[str, ...]:
    """Extra words that mean this option at this step."""
    return _SYNONYMS.get((step, option), ())

# Typed answers to "Did you mean …?" (and to yes/no questions).
YES_WORDS = frozenset(
    normalise(w)
    for w in (
        "oui", "ouais", "ouai", "ouaip", "oui oui", "oui merci", "oui c est ca", "ok", "okay",
        "oki", "d'accord", "daccord", "dac", "exact", "exactement", "c'est ça", "c est ca",
        "c'est bien ça", "tout à fait", "bien sûr", "voilà", "absolument", "affirmatif", "si",
        "yes", "yep", "yeah", "yup", "sure", "right", "correct", "that's it", "thats it",
        "that's right", "exactly", "of course", "y",
    )
)
NO_WORDS = frozenset(
    normalise(w)
    for w in (
        "non", "nan", "nope", "non merci", "pas du tout", "pas ça", "pas ca", "ce n'est pas ça",
        "c'est pas ça", "non pas ça", "absolument pas", "négatif", "no", "nah", "no thanks",
        "not that", "not at all", "wrong", "n",
    )
)

# Numbers typed in words, up to twenty (and the round tens, for amounts such as "cinquante mille").
NUMBER_WORDS: dict[str, int] = {
    **{normalise(w): n for n, w in enumerate(
        ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
         "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit",
         "dix-neuf", "vingt"))},
    **{normalise(w): n for n, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen", "twenty"))},
    "une": 1,
    "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100,
}
