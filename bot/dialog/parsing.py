"""Parse typed numeric answers: headcounts ("12 salariés") and euro amounts ("1,5 M€", "500k")."""

from __future__ import annotations

import re

from bot.dialog.matching import normalise

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


def parse_amount(text: str) -> float | None:
    """Euros from a typed amount ("1,5 M€", "500k", "moins de 1 M€"); None when not one amount."""
    cleaned = text.strip().lower().replace("euros", "€").replace("eur", "€")
    if not cleaned or len(cleaned) > _MAX_LEN:
        return None
    if normalise(cleaned) in _ZERO_WORDS:
        return 0.0
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
    return max(value - 1, 0) if below else value + 1 if above else value


_APPROX = {"dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30,
           "quarantaine": 40, "cinquantaine": 50, "soixantaine": 60, "centaine": 100}
_ALONE = frozenset({"seul", "seule", "moi seul", "moi seule", "solo", "just me", "only me",
                    "freelance", "independant", "myself"})
_PEOPLE = (r"(?: (?:salaries?|employes?|personnes?|people|employees?|staff|etp|fte|"
           r"collaborateurs?|persons?))?")


def parse_count(text: str) -> int | None:
    """A head count: '12', '1 000', '12 salariés', 'une vingtaine', 'moins de 10', '10-49'."""
    if re.match(r"^\s*-\s*\d", text):
        return None
    norm = normalise(text)
    if norm in _ALONE:
        return 1
    approx = re.fullmatch(r"(?:une |a )?(\w+?)s?" + _PEOPLE, norm)
    if approx and approx.group(1) in _APPROX:
        return _APPROX[approx.group(1)]
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
