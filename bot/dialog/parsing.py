"""Parse typed numeric answers: headcounts ("12 salariés") and euro amounts ("1,5 M€", "500k")."""

from __future__ import annotations

import datetime as dt
import re

from bot.dialog.matching import normalise
from bot.dialog.vocabulary import NUMBER_WORDS

_MULTIPLIERS = {
    "k": 1e3, "ke": 1e3, "keur": 1e3, "k€": 1e3, "mille": 1e3, "thousand": 1e3,
    "m": 1e6, "me": 1e6, "meur": 1e6, "m€": 1e6, "million": 1e6, "millions": 1e6, "mio": 1e6,
    "md": 1e9, "mds": 1e9, "mrd": 1e9, "milliard": 1e9, "milliards": 1e9, "bn": 1e9,
    "billion": 1e9, "billions": 1e9,
}
_NUMBER = re.compile(r"^(\d{1,3}(?:[ .\u202f\u00a0]\d{3})+|\d+)(?:[.,](\d+))?\s*(.*)$")
_MAX_LEN = 40


_ZERO_WORDS = frozenset({"rien", "aucun", "aucune", "zero", "nothing", "none", "nil",
                         "pas de ca", "pas encore de ca", "no revenue", "no turnover"})
_BELOW = re.compile(r"^(?:moins de|less than|under|below|<)\s*")
_ABOVE = re.compile(r"^(?:plus de|more than|over|above|>)\s*")


_NUMBER_WORDS = re.compile(r"\b(" + "|".join(
    re.escape(w) for w in sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b")


def words_to_digits(norm: str) -> str:
    """A normalised text with its numbers in words as digits: "cinq salaries" -> "5 salaries"."""
    return _NUMBER_WORDS.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), norm)


def _word_to_digits(found: re.Match[str]) -> str:
    word = found.group(0)
    value = NUMBER_WORDS.get(normalise(word))
    return word if value is None else str(value)


def parse_amount(text: str) -> float | None:
    """Euros from a typed amount ("1,5 M€", "500k", "moins de 1 M€", "cinquante mille euros");
    None when not one amount."""
    found = parse_amount_exactness(text)
    return None if found is None else found[0]


def parse_amount_exactness(text: str) -> tuple[float, bool] | None:
    """(euros, exact) from a typed amount; exact is False for "less than 1 M€", "over 500k"
    (a bound, not the figure itself)."""
    cleaned = text.strip().lower().replace("euros", "€").replace("eur", "€")
    if not cleaned or len(cleaned) > _MAX_LEN:
        return None
    if normalise(cleaned) in _ZERO_WORDS:
        return 0.0, True
    cleaned = re.sub(r"\b[^\W\d_]+(?:-[^\W\d_]+)*\b", _word_to_digits, cleaned)
    cleaned = re.sub(r"^(?:env(?:iron)?\.?|about|approx\.?|around|~|±)\s*", "", cleaned)
    below, above = _BELOW.match(cleaned), _ABOVE.match(cleaned)
    cleaned = _ABOVE.sub("", _BELOW.sub("", cleaned))
    cleaned = re.sub(r"^€\s*", "", cleaned)
    cleaned = re.sub(r"\s*(?:d'|de |of )?€$", "", cleaned)
    match = _NUMBER.match(cleaned)
    if not match:
        return None
    whole, frac, rest = match.groups()
    value = float(re.sub(r"[ .\u202f\u00a0]", "", whole) + (f".{frac}" if frac else ""))
    unit = rest.replace("€", "").replace(" ", "").strip()
    if unit not in ("", "e"):
        factor = _MULTIPLIERS.get(unit) or _MULTIPLIERS.get(unit.rstrip("s"))
        if factor is None:
            return None
        value *= factor
    # "less than 1 M€" lies just below the figure, "more than" just above.
    if below:
        return max(value - 1, 0), False
    return (value + 1, False) if above else (value, True)


_APPROX = {"dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30,
           "quarantaine": 40, "cinquantaine": 50, "soixantaine": 60, "centaine": 100}
_ALONE = frozenset({"seul", "seule", "moi seul", "moi seule", "solo", "just me", "only me",
                    "freelance", "independant", "myself"})
_PEOPLE = (r"(?: (?:salaries?|employes?|personnes?|people|employees?|staff|etp|fte|"
           r"collaborateurs?|persons?))?")


def parse_count(text: str) -> int | None:
    """A head count: '12', '1 000', '12 salariés', 'cinq', 'une vingtaine', 'moins de 10',
    '10-49'."""
    if re.match(r"^\s*-\s*\d", text):
        return None
    norm = normalise(text)
    if norm in _ALONE:
        return 1
    approx = re.fullmatch(r"(?:une |a )?(\w+?)s?" + _PEOPLE, norm)
    if approx and approx.group(1) in _APPROX:
        return _APPROX[approx.group(1)]
    norm = words_to_digits(norm)
    below = re.match(r"(?:moins de|less than|under|fewer than) ", norm)
    above = re.match(r"(?:plus de|more than|over) ", norm)
    norm = re.sub(r"^(?:environ|about|approx|around|moins de|less than|under|fewer than|"
                  r"plus de|more than|over|entre|between) ", "", norm)
    number = r"(\d{1,3}(?: \d{3})+|\d{1,7})"
    match = re.fullmatch(number + r"(?: (?:a|to|et|and|-)? ?" + number + ")?" + _PEOPLE, norm)
    if not match:
        return None
    low = int(match.group(1).replace(" ", ""))
    if match.group(2):  # a range: its middle
        return (low + int(match.group(2).replace(" ", ""))) // 2
    return max(low - 1, 0) if below else low + 1 if above else low


_AGE_UNITS = {"an": 1.0, "ans": 1.0, "annee": 1.0, "annees": 1.0, "year": 1.0, "years": 1.0,
              "yr": 1.0, "yrs": 1.0, "mois": 1 / 12, "month": 1 / 12, "months": 1 / 12}
_AGE = re.compile(r"(?:(moins d(?:e)?|less than|under)|(plus d(?:e)?|more than|over)|"
                  r"(?:environ|about|around|depuis|since|for))? ?(\d{1,3}) ([a-z]+)"
                  r"(?: (?:d )?(?:existence|activite|anciennete|old))?")
_YEAR = re.compile(r"(?:(?:creee?s?|fondee?s?|immatriculee?s?|nee?|lancee?s?|created|founded|"
                   r"started|set up|incorporated|registered)(?: en| in)?|depuis|since|en|in)?"
                   r" ?((?:19|20)\d\d)")


def parse_age(text: str, today: dt.date) -> tuple[float, float] | None:
    """A company's age in years as (lowest, highest) from "2 ans", "18 mois", "moins d'un an",
    "3 years", "créée en 2019" (the year spans a range of ages); None when not an age."""
    norm = words_to_digits(normalise(text))
    if len(norm) > _MAX_LEN:
        return None
    if found := _AGE.fullmatch(norm):
        below, above, number, unit = found.groups()
        if unit not in _AGE_UNITS:
            return None
        years = int(number) * _AGE_UNITS[unit]
        if below:
            return 0.0, max(years - 0.01, 0.0)
        return (years + 0.01, years + 0.01) if above else (years, years)
    if found := _YEAR.fullmatch(norm):
        year = int(found.group(1))
        if year > today.year:
            return None
        oldest = (today - dt.date(year, 1, 1)).days / 365.25
        youngest = max((today - dt.date(year, 12, 31)).days / 365.25, 0.0)
        return youngest, oldest
    return None
