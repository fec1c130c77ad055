"""Two plans side by side: what the comparison screen, its chart and the PDF annex show.

Pure domain code: every figure is taken from each plan's own (the allowance, the first-year
estimate and its items, the visa, the landing options, the first call), so what a side shows is
what that plan shows; only the schemes are compared, to keep those that differ."""

from __future__ import annotations

from dataclasses import dataclass

from bot.advice.budget import Span
from bot.advice.eligibility import AidVerdict
from bot.advice.landing import LandingAdvice, count_landing
from bot.advice.vie import MonthlyAllowance
from bot.kb.models import Text
from bot.kb.snapshot import KnowledgeBase
from bot.plan.model import Action, Plan, SourceRef

MAX_DIFFERING = 4
"""Schemes listed per side on the screen (the PDF annex lists them all)."""

COST_ITEMS = ("vie", "landing")
"""The first-year items a plan adds up, in the order of its sum (bot/advice/budget.py)."""


@dataclass(frozen=True)
class CostItem:
    """One item of a first-year estimate. key: vie or landing; for the VIE, the volunteers and
    months priced; for landing, the structure's name."""

    key: str
    span: Span
    count: int = 0
    months: int = 0
    name: str = ""


@dataclass(frozen=True)
class Side:
    """What one destination's plan says, with the sources of each figure."""

    plan: Plan
    monthly: MonthlyAllowance | None  # None: no allowance in the base for this place
    allowance_sources: tuple[SourceRef, ...]  # the country's VIE sheet
    visa: Text | None  # None: no VIE sheet for the country
    total: Span | None  # the first-year estimate; None: not computed
    with_one_vie: bool  # VIE "maybe": the estimate is the scenario with one volunteer
    costs: tuple[CostItem, ...]  # the items the total adds up
    cost_sources: tuple[SourceRef, ...]
    landing: LandingAdvice | None  # the best option, None: none known
    landing_sources: tuple[SourceRef, ...]
    landing_count: int  # every option offered for the target
    first_call: Action | None
    differing: tuple[AidVerdict, ...]  # schemes of this plan the other lacks or judges apart

    def cost(self, key: str) -> CostItem | None:
        return next((c for c in self.costs if c.key == key), None)


@dataclass(frozen=True)
class Comparison:
    left: Side
    right: Side

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.left, self.right

    @property
    def cost_keys(self) -> tuple[str, ...]:
        """The items either side prices, in the order of the sums."""
        return tuple(k for k in COST_ITEMS if any(s.cost(k) for s in self.sides))


def compare(left: Plan, right: Plan, kb: KnowledgeBase) -> Comparison:
    """`left`: the user's plan; `right`: the same answers for another destination."""
    return Comparison(_side(left, right, kb), _side(right, left, kb))


def cost_items(plan: Plan) -> tuple[CostItem, ...]:
    """The items the plan's first-year estimate adds up (VIE, landing structure), as its total
    adds them: none when the plan has no total."""
    line, budget = plan.summary.budget, plan.advice.budget
    if line.total is None:
        return ()
    items: list[CostItem] = []
    vie = budget.scenario if line.with_one_vie else budget.vie
    if vie is not None:
        items.append(CostItem("vie", vie.cost, vie.count, vie.months))
    if budget.landing_year is not None and budget.landing is not None:
        items.append(CostItem("landing", Span(budget.landing_year, budget.landing_year),
                              name=budget.landing.name))
    return tuple(items)


def differing(plan: Plan, other: Plan) -> tuple[AidVerdict, ...]:
    """The schemes serving this plan that the other does not offer, or judges otherwise."""
    theirs = {v.aid.id: v.eligibility for v in other.advice.aid}
    return tuple(v for v in plan.advice.aid if theirs.get(v.aid.id) is not v.eligibility)


def _side(plan: Plan, other: Plan, kb: KnowledgeBase) -> Side:
    vie_items = plan.section("vie").of_kind("vie_country")
    budget_items = plan.section("vie").of_kind("budget")
    landing_items = plan.section("landing").items
    country = plan.advice.vie.country
    line = plan.summary.budget
    return Side(
        plan=plan,
        monthly=plan.advice.vie.monthly,
        allowance_sources=vie_items[0].sources if vie_items else (),
        visa=country.visa if country else None,
        total=line.total,
        with_one_vie=line.with_one_vie,
        costs=cost_items(plan),
        cost_sources=budget_items[0].sources if budget_items and line.total else (),
        landing=plan.advice.landing[0] if plan.advice.landing else None,
        landing_sources=landing_items[0].sources if landing_items else (),
        landing_count=count_landing(plan.advice.profile, kb),
        first_call=plan.summary.actions[0] if plan.summary.actions else None,
        differing=differing(plan, other),
    )
