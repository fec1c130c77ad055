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


def parse_amount(text: str) -> float | None:
    """Euros from a typed amount; None when the text is not one amount we understand."""
    cleaned = text.strip().lower().replace("euros", "€").replace("eur", "€")
    if not cleaned or len(cleaned) > _MAX_LEN:
        return None
    cleaned = re.sub(r"^(?:env(?:iron)?\.?|about|approx\.?|~|±)\s*", "", cleaned)
    cleaned = re.sub(r"^€\s*", "", cleaned)
    match = _NUMBER.match(cleaned)
    if not match:
        return None
    whole, frac, rest = match.groups()
    value = float(re.sub(r"[ .\u202f\u00a0]", "", whole) + (f".{frac}" if frac else ""))
    unit = rest.replace("€", "").replace(" ", "").strip()
    if unit in ("", "e"):
        return value
    factor = _MULTIPLIERS.get(unit) or _MULTIPLIERS.get(unit.rstrip("s"))
    return value * factor if factor else None


def parse_count(text: str) -> int | None:
    """A head count from '12', '12 salariés', 'about 30 people'; None otherwise."""
    if re.search(r"-\s*\d", text):
        return None
    norm = normalise(text)
    match = re.fullmatch(
        r"(?:environ |about |approx |around )?(\d{1,7})"
        r"(?: (?:salaries?|employes?|personnes?|people|employees?|staff|etp|fte|collaborateurs?))?",
        norm,
    )
    return int(match.group(1)) if match else None
