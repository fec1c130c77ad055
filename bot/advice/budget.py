"""The first-year budget estimate beside the user's budget, and the aid that could offset it.

Every figure is a whole number of euros (`whole_eur`, the one rounding rule): inputs are rounded
once, and every sum, product and difference a plan shows is computed from the rounded figures,
so the displayed arithmetic is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.advice.eligibility import OFFERED, AidVerdict
from bot.advice.landing import LandingAdvice
from bot.advice.vie import MonthlyAllowance, VieAdvice, whole_eur
from bot.dialog.profile import Profile
from bot.dialog.questions import Band
from bot.kb.models import Landing, TypicalCost, VieRule
from bot.kb.snapshot import KnowledgeBase

_FUNDING = ("insurance", "loan", "subsidy", "tax_credit")  # kinds that bring money, not advice
_LEVER_RULES = ("hosting-shared", "hosting-portage")  # ways to share a VIE's cost
FIRST_YEAR_MONTHS = 12


@dataclass(frozen=True)
class Span:
    """A range of whole euros (low == high: one figure)."""

    low: int
    high: int

    @property
    def single(self) -> bool:
        return self.low == self.high

    def __add__(self, other: Span) -> Span:
        return Span(self.low + other.low, self.high + other.high)

    def times(self, factor: int) -> Span:
        return Span(self.low * factor, self.high * factor)

    def minus(self, amount: int) -> Span:
        return Span(self.low - amount, self.high - amount)


@dataclass(frozen=True)
class VieLine:
    """count × months × (allowance + fee) for one set of volunteers."""

    count: int
    months: int
    monthly: MonthlyAllowance
    fee: Span  # management fee a month
    per_month: Span  # allowance + fee, per volunteer
    per_vie_year: Span  # months × per_month, one volunteer
    cost: Span  # count × per_vie_year
    typical: TypicalCost | None  # a quoted yearly range for this country
    departs: bool  # per_vie_year does not meet the quoted range


@dataclass(frozen=True)
class Fit:
    """The total beside the user's budget: the typed amount when there is one, else the band."""

    kind: str  # within, partly, above, below, unknown
    amount: int | None  # the typed amount
    band: Band | None
    edge: int | None  # what the total is compared with: the amount, or the band's edge
    # The difference of two figures shown: above, the total's low end minus the edge (and
    # gap_high its high end minus the edge); partly, the most it can exceed; within / below,
    # the least left over.
    gap: int | None
    gap_high: int | None


@dataclass(frozen=True)
class Total:
    parts: tuple[Span, ...]  # VIE, then landing (shown "a + b = total" when several)
    total: Span
    fit: Fit


@dataclass(frozen=True)
class BudgetEstimate:
    vie_count: int
    plans: str | None  # none, maybe, yes
    vie: VieLine | None  # the planned VIE, priced
    vie_unpriced: bool  # VIE planned (or maybe) but no sourced allowance for the place
    scenario: VieLine | None  # "maybe": what one VIE would cost
    scenario_total: Total | None
    landing: Landing | None
    landing_monthly: int | None
    landing_one_off: int | None
    landing_year: int | None
    total: Total | None  # None: nothing priced, or a planned item that cannot be
    user_budget: Band | None
    user_amount: int | None  # the exact amount typed; None: a band tapped (or none)
    offsets: tuple[AidVerdict, ...]
    levers: tuple[VieRule, ...]  # ways to cut a VIE's cost, when over budget

    @property
    def fit(self) -> str:
        return self.total.fit.kind if self.total else "unknown"

    @property
    def over(self) -> bool:
        totals = (self.total, self.scenario_total)
        return any(t is not None and t.fit.kind in ("above", "partly") for t in totals)


def estimate_budget(profile: Profile, kb: KnowledgeBase, vie: VieAdvice,
                    landing: tuple[LandingAdvice, ...],
                    verdicts: Iterable[AidVerdict]) -> BudgetEstimate:
    count = profile.vie_count
    maybe = profile.vie == "maybe"
    months = (min(FIRST_YEAR_MONTHS, vie.country.max_duration_months) if vie.country
              else FIRST_YEAR_MONTHS)
    planned = _vie_line(kb, vie, profile, count, months) if count else None
    scenario = _vie_line(kb, vie, profile, 1, months) if maybe else None

    priced = next((la.record for la in landing if la.record.cost and
                   (la.record.cost.monthly_eur is not None or
                    la.record.cost.one_off_eur is not None)), None)
    monthly = one_off = year = None
    if priced is not None and priced.cost is not None:
        monthly = None if priced.cost.monthly_eur is None else whole_eur(priced.cost.monthly_eur)
        one_off = None if priced.cost.one_off_eur is None else whole_eur(priced.cost.one_off_eur)
        year = FIRST_YEAR_MONTHS * (monthly or 0) + (one_off or 0)
    landing_span = None if year is None else Span(year, year)

    amount = None if profile.budget_eur is None else whole_eur(profile.budget_eur)
    vie_unpriced = (count > 0 and planned is None) or (maybe and scenario is None)
    total = None
    if not (count and planned is None):  # a planned VIE with no figure: no total at all
        parts = tuple(p for p in (planned.cost if planned else None, landing_span) if p)
        if parts:
            total = _total(parts, profile.budget, amount)
    scenario_total = None
    if scenario is not None:
        parts = tuple(p for p in (scenario.cost, landing_span) if p)
        scenario_total = _total(parts, profile.budget, amount)

    vie_considered = bool(count) or maybe
    offsets = tuple(
        v for v in verdicts
        if v.eligibility in OFFERED and v.aid.kind in _FUNDING
        and ((vie_considered and v.aid.covers_vie) or v.aid.covers_landing))
    estimate = BudgetEstimate(
        vie_count=count, plans=profile.vie, vie=planned, vie_unpriced=vie_unpriced,
        scenario=scenario, scenario_total=scenario_total, landing=priced,
        landing_monthly=monthly, landing_one_off=one_off, landing_year=year, total=total,
        user_budget=profile.budget, user_amount=amount, offsets=offsets, levers=())
    if estimate.over and vie_considered:
        levers = tuple(kb.vie_rules[i] for i in _LEVER_RULES if i in kb.vie_rules)
        estimate = replace(estimate, levers=levers)
    return estimate


def _vie_line(kb: KnowledgeBase, vie: VieAdvice, profile: Profile, count: int,
              months: int) -> VieLine | None:
    if vie.monthly is None:
        return None
    costs = kb.vie_costs
    fee = Span(whole_eur(costs.management_fee_eur_min), whole_eur(costs.management_fee_eur_max))
    per_month = Span(vie.monthly.total + fee.low, vie.monthly.total + fee.high)
    per_year = per_month.times(months)
    country = kb.countries.get(profile.country) if profile.country else None
    typical = next((t for t in costs.typical_year if profile.country and t.applies(
        profile.country, country.world_region if country else None)), None)
    departs = typical is not None and (per_year.low > typical.max_eur
                                       or per_year.high < typical.min_eur)
    return VieLine(count, months, vie.monthly, fee, per_month, per_year, per_year.times(count),
                   typical, departs)


def _total(parts: tuple[Span, ...], band: Band | None, amount: int | None) -> Total:
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return Total(parts, total, _fit(total, band, amount))


def _fit(total: Span, band: Band | None, amount: int | None) -> Fit:
    """Within, partly (the range crosses the budget), above or below the user's budget."""
    if amount is not None:
        if total.low > amount:
            return Fit("above", amount, band, amount, total.low - amount, total.high - amount)
        if total.high > amount:
            return Fit("partly", amount, band, amount, total.high - amount, None)
        return Fit("within", amount, band, amount, amount - total.high, None)
    if band is None:
        return Fit("unknown", None, None, None, None, None)
    # Band bounds are inclusive whole euros: the band "20 to 50 k€" ends where the next begins.
    top = None if band.high is None else whole_eur(band.high) + 1
    low = whole_eur(band.low or 0)
    if top is not None and total.low > top:
        return Fit("above", None, band, top, total.low - top, total.high - top)
    if top is not None and total.high > top:
        return Fit("partly", None, band, top, total.high - top, None)
    if total.high < low:
        return Fit("below", None, band, low, low - total.high, None)
    return Fit("within", None, band, top, None, None)
