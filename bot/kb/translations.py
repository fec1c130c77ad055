"""Texts of the base that are not really in both languages: the English a copy of the French
(beyond a short name), or one language's text carrying the other's words ("… ouvert / Check
the scheme is still open", "(pour l'État)" in an English text)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import BaseModel

from bot.kb.loader import LIST_FILES, Problem
from bot.kb.models import Text
from bot.kb.snapshot import KnowledgeBase

SAME_TEXT_WORDS = 4
"""A text this long or longer whose English equals its French is untranslated (shorter ones
are names: "French Tech Toronto", "Assurance Prospection")."""

FRENCH_WORDS = frozenset({
    "le", "la", "les", "des", "du", "une", "au", "aux", "et", "pour", "avec", "est", "sont",
    "dans", "sur", "par", "ou", "qui", "que", "ne", "pas", "l'", "d'", "qu'", "bureau",
    "régional", "régionale", "dispositif", "toujours", "ouvert", "vérifier", "entreprises",
    "selon"
})
ENGLISH_WORDS = frozenset({
    "the", "and", "with", "of", "for", "is", "are", "to", "check", "still", "open", "scheme",
    "which", "from", "this", "that"
})
NAME_FIELDS = frozenset({"name", "place"})
MIXED_HITS = 2
"""Distinct words of the other language a text must carry to be flagged."""

_WORD = re.compile(r"[a-zà-ÿœ]+'|[a-zà-ÿœ]+")


def _hits(text: str, words: frozenset[str]) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w in words}


def _texts(value: object, path: str) -> Iterator[tuple[str, Text]]:
    if isinstance(value, Text):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _texts(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _texts(item, f"{path}.{i}")


def problems_of(text: Text, name: bool = False) -> str | None:
    """Why a text is not in both languages, or None (`name`: a proper name may be the same in
    both)."""
    if (text.en.strip() == text.fr.strip() and len(text.fr.split()) >= SAME_TEXT_WORDS
            and not name):
        return "the English is the French text: translate it"
    french = _hits(text.en, FRENCH_WORDS)
    if len(french) >= MIXED_HITS:
        return f"the English carries French words ({', '.join(sorted(french))})"
    english = _hits(text.fr, ENGLISH_WORDS)
    if len(english) >= MIXED_HITS:
        return f"the French carries English words ({', '.join(sorted(english))})"
    return None


def untranslated(kb: KnowledgeBase) -> list[Problem]:
    out: list[Problem] = []
    records: list[tuple[str, str | None, BaseModel]] = [
        (name, getattr(rec, "id", None), rec)
        for name in LIST_FILES for rec in getattr(kb, name).values()]
    records.append(("vie_costs", None, kb.vie_costs))
    for name, rid, rec in records:
        for path, text in _texts(rec, ""):
            why = problems_of(text, path.rsplit(".", 1)[-1] in NAME_FIELDS)
            if why:
                out.append(Problem(f"{name}.json", rid, path, why))
    return out
