"""The first-year budget estimate beside the user's budget, and the aid that could offset it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.advice.eligibility import AidVerdict, Eligibility
from bot.advice.landing import LandingAdvice
from bot.advice.vie import VieAdvice
from bot.dialog.profile import Profile
from bot.dialog.questions import Band
from bot.kb.models import Landing
from bot.kb.snapshot import KnowledgeBase

_FUNDING = ("insurance", "loan", "subsidy", "tax_credit")  # kinds that bring money, not advice


@dataclass(frozen=True)
class BudgetEstimate:
    vie_count: int
    months: int
    monthly_allowance: float | None  # common + geographic, None when no figure
    fee_min: float
    fee_max: float
    vie_min: float | None
    vie_max: float | None
    landing: Landing | None
    landing_year: float | None
    total_min: float | None
    total_max: float | None
    user_budget: Band | None
    fit: str  # within, above, below, unknown
    offsets: tuple[AidVerdict, ...]


def estimate_budget(profile: Profile, kb: KnowledgeBase, vie: VieAdvice,
                    landing: tuple[LandingAdvice, ...],
                    verdicts: list[AidVerdict]) -> BudgetEstimate:
    costs = kb.vie_costs
    count = profile.vie_count
    months = min(12, vie.country.max_duration_months) if vie.country else 12
    monthly = None
    if vie.allowance:
        monthly = vie.allowance.geographic_eur + (vie.allowance.common_eur or costs.common_eur)
    vie_min = vie_max = None
    if count == 0:
        vie_min = vie_max = 0.0
    elif monthly is not None:
        vie_min = count * months * (monthly + costs.management_fee_eur_min)
        vie_max = count * months * (monthly + costs.management_fee_eur_max)
    priced = next((la.record for la in landing if la.record.cost and
                   (la.record.cost.monthly_eur is not None or
                    la.record.cost.one_off_eur is not None)), None)
    landing_year = None
    if priced and priced.cost:
        landing_year = 12 * (priced.cost.monthly_eur or 0) + (priced.cost.one_off_eur or 0)
    total_min = total_max = None
    if vie_min is not None and vie_max is not None:
        total_min = vie_min + (landing_year or 0)
        total_max = vie_max + (landing_year or 0)
    fit = "unknown"
    user = profile.budget
    if user is not None and total_min is not None and total_max is not None:
        if user.high is not None and total_min > user.high:
            fit = "above"
        elif user.low is not None and total_max < user.low:
            fit = "below"
        else:
            fit = "within"
    offsets = tuple(
        v for v in verdicts
        if v.eligibility in (Eligibility.eligible, Eligibility.to_check)
        and v.aid.kind in _FUNDING
        and ((count and v.aid.covers_vie) or v.aid.covers_landing)
    )
    return BudgetEstimate(count, months, monthly, costs.management_fee_eur_min,
                          costs.management_fee_eur_max, vie_min, vie_max, priced, landing_year,
                          total_min, total_max, user, fit, offsets)


