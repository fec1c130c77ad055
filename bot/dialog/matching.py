"""Match typed answers to known names: accents, case and punctuation ignored; fuzzy when unsure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

SURE_SCORE = 90.0
MAYBE_SCORE = 75.0
MIN_FUZZY_LENGTH = 4
PLAUSIBLE_SCORE = 60.0


def normalise(text: str) -> str:
    """Lowercase, strip accents, keep letters and digits separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", bare).strip()


@dataclass(frozen=True)
class Match:
    """A candidate for a typed answer; `sure` is False when the user should confirm it."""

    key: str
    score: float
    sure: bool


class Matcher:
    """Finds which key (an option or record id) a typed text names."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        self._exact: dict[str, str] = {}
        self._choices: list[str] = []
        self._keys: list[str] = []
        for key, name in names:
            norm = normalise(name)
            if not norm:
                continue
            self._exact.setdefault(norm, key)
            if len(norm) >= MIN_FUZZY_LENGTH:  # "ch" or "us" would match anything containing them
                self._choices.append(norm)
                self._keys.append(key)

    def match(self, text: str) -> Match | None:
        """Exact normalised match first, then the best fuzzy match above the threshold."""
        norm = normalise(text)
        if not norm or len(norm) > 80:
            return None
        if norm in self._exact:
            return Match(self._exact[norm], 100.0, True)
        if len(norm) < MIN_FUZZY_LENGTH - 1 or not self._choices:
            return None
        found = [
            (choice, score, index)
            for choice, score, index in process.extract(
                norm, self._choices, scorer=fuzz.WRatio, limit=5, score_cutoff=MAYBE_SCORE)
            # WRatio also scores partial overlaps ("atlantide" ~ "inde"): keep only candidates
            # typed as whole words or spelled close enough to be a typo.
            if set(choice.split()) <= set(norm.split())
            or fuzz.ratio(norm, choice) >= PLAUSIBLE_SCORE
        ]
        if not found:
            return None
        choice, score, index = found[0]
        key = self._keys[index]
        # WRatio scores high when a long text merely contains a short name: sure only when the
        # whole name was typed (as words) or the spelling is close, and no other key ties.
        whole_words = set(choice.split()) <= set(norm.split())
        close = fuzz.ratio(norm, choice) >= MAYBE_SCORE
        rival = any(self._keys[i] != key and s >= score - 2 for _, s, i in found[1:])
        sure = score >= SURE_SCORE and (whole_words or close) and not rival
        return Match(key, float(score), sure)
