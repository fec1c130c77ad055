"""The answers' vocabulary: option ids and numeric bands. The steps themselves, one declarative
spec each, are in bot/dialog/specs.py."""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Band:
    """A numeric range answer; bounds inclusive, None for open."""

    id: str
    low: float | None
    high: float | None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


HEADCOUNT = (
    Band("h0_9", 0, 9),
    Band("h10_49", 10, 49),
    Band("h50_249", 50, 249),
    Band("h250", 250, None),
)
TURNOVER = (
    Band("t0_1m", 0, 999_999),
    Band("t1_10m", 1_000_000, 9_999_999),
    Band("t10_50m", 10_000_000, 49_999_999),
    Band("t50_500m", 50_000_000, 500_000_000),
    Band("t500m", 500_000_001, None),
)
BUDGET = (
    Band("b0_20k", 0, 19_999),
    Band("b20_50k", 20_000, 49_999),
    Band("b50_150k", 50_000, 149_999),
    Band("b150k", 150_000, None),
)
COMPANY_AGE = (
    Band("a0_1", 0, 0.99),
    Band("a1_3", 1, 2.99),
    Band("a3", 3, None),
)
STAGES = ("first_steps", "exporting", "established")
OVERSEAS = "outre-mer"  # the home region whose schemes depend on the territory
# Overseas territories; "collectivite": Saint-Martin, Saint-Barthélemy, Saint-Pierre-et-Miquelon,
# French Polynesia, New Caledonia, Wallis-et-Futuna.
TERRITORIES = ("guadeloupe", "martinique", "guyane", "reunion", "mayotte", "collectivite")
YES_NO = ("yes", "no")
LARGE_CONTRACT_TURNOVER = 1_000_000  # below it, contracts of several million euros are implied out
# The question is asked from this turnover: between the two, contracts of several million euros
# are rare enough that the schemes for them stay "to confirm", one line away, without a question.
LARGE_CONTRACT_QUESTION_TURNOVER = 10_000_000
VIE_PLANS = ("none", "maybe", "yes")
VIE_COUNTS = ("1", "2", "3", "4")  # "4" reads "4 or more"

BANDS: dict[str, tuple[Band, ...]] = {
    "headcount": HEADCOUNT,
    "turnover": TURNOVER,
    "budget": BUDGET,
    "company_age": COMPANY_AGE,
}


def band(question: str, band_id: str | None) -> Band | None:
    """The band with this id for a banded question, or None (unknown or not a band)."""
    return next((b for b in BANDS.get(question, ()) if b.id == band_id), None)
