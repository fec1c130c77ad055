"""Advice -> Plan: what leads (three actions, two warnings, the budget verdict) and what each
section holds. The one place that decides what the first screen says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.advice.budget import BudgetEstimate, Total
from bot.advice.eligibility import AidVerdict, Eligibility
from bot.advice.engine import Advice
from bot.kb.links import own_link
from bot.kb.models import CriterionField, Source, SourcePolicy, horizon_start
from bot.kb.snapshot import KnowledgeBase
from bot.plan.model import (
    MAX_ACTIONS,
    MAX_WARNINGS,
    Action,
    BudgetLine,
    Item,
    Plan,
    Section,
    SourceRef,
    Summary,
    Warning,
)

TWO_ALONE_WARN = frozenset({"not_possible", "conditions", "to_check"})
"""A country's answer to "two VIE with no other employee there" that the owner must act on."""


def build_plan(advice: Advice, kb: KnowledgeBase, today: dt.date) -> Plan:
    """The plan of one piece of advice; deterministic for a given advice and date. A source
    dated before the base's verification horizon (`meta.verification_horizon_months` before
    `today`), or not dated at all, is flagged old."""
    months = kb.meta.verification_horizon_months
    horizon = horizon_start(today, months)
    sections = (landing_section(advice, horizon), vie_section(advice, kb, horizon),
                aid_section(advice, horizon), sources_section())
    return Plan(advice, today, advice.kb_version,
                summarize(advice, kb.source_policy, horizon), sections, months)


# --- summary ------------------------------------------------------------------------------


def summarize(advice: Advice, policy: SourcePolicy, horizon: dt.date | None = None) -> Summary:
    return Summary(budget=budget_line(advice.budget), actions=actions(advice, policy, horizon),
                   warnings=warnings(advice), aid_count=len(advice.aid))


def actions(advice: Advice, policy: SourcePolicy,
            horizon: dt.date | None = None) -> tuple[Action, ...]:
    """The regional export team, then where to land, then the lead financing; when one of them
    is missing, the next scheme that fits this project (with its own page)."""
    out: list[Action] = []
    named: set[str] = set()
    for step in advice.next_steps:
        source = SourceRef.of(step.source, horizon) if step.source else None
        if step.key in ("regional_tfe", "national_tfe"):
            out.append(Action(step.key, step.name, step.url, "door", source=source,
                              title=step.title))
        elif step.key in ("landing", "landing_via_tfe"):
            first = advice.landing[0]
            out.append(Action(step.key, step.name, step.url, "landing",
                              first.record.kind.value, source))
        elif step.key == "financing":
            lead = next((v for v in advice.aid if v.aid.provider == step.name), None)
            out.append(Action(step.key, step.name, step.url, "financing",
                              lead.aid.id if lead else "", source))
            if lead:
                named.add(lead.aid.id)
    for v in advice.aid:
        if len(out) >= MAX_ACTIONS:
            break
        url = own_link(policy, v.aid.contact and v.aid.contact.url, v.aid.url)
        if v.aid.id in named or v.aid.kind == "support" and any(
                a.key.endswith("_tfe") for a in out) or url is None:
            continue
        out.append(Action("aid", v.aid.provider, url, "aid", v.aid.id,
                          SourceRef.of(v.aid.source, horizon)))
        named.add(v.aid.id)
    return tuple(out[:MAX_ACTIONS])


def warnings(advice: Advice) -> tuple[Warning, ...]:
    """What must be confirmed before acting, most consequential first."""
    found: list[Warning] = []
    vie, budget = advice.vie, advice.budget
    lead = _lead_to_confirm(advice.aid)
    if lead is not None:
        found.append(Warning("confirm_aid", lead.aid.id, lead.aid.provider,
                             lead.to_confirm[0] if lead.to_confirm else None))
    country = vie.country
    if (budget.vie_count >= 2 and vie.has_structure is False and country is not None
            and country.two_volunteers_alone in TWO_ALONE_WARN):
        found.append(Warning("vie_two_alone", country.country, "Business France",
                             country.two_volunteers_note))
    if budget.vie_unpriced:
        found.append(Warning("vie_unpriced", advice.profile.country or "", "Business France"))
    if not advice.landing:
        found.append(Warning("no_landing", advice.profile.country or "", "Team France Export"))
    elif advice.landing[0].record.status == "unverified":
        found.append(Warning("landing_unverified", advice.landing[0].record.name,
                             "Team France Export"))
    return tuple(found[:MAX_WARNINGS])


def _lead_to_confirm(verdicts: Iterable[AidVerdict]) -> AidVerdict | None:
    """The first scheme serving this project whose verdict waits on a condition to confirm."""
    return next((v for v in verdicts if v.eligibility is Eligibility.to_check), None)


def budget_line(budget: BudgetEstimate) -> BudgetLine:
    total: Total | None = budget.total
    with_one_vie = False
    if total is None and budget.plans == "maybe" and budget.scenario_total is not None:
        total, with_one_vie = budget.scenario_total, True
    amount, band = budget.user_amount, budget.user_budget
    if total is None:
        reason = "vie_unpriced" if budget.vie_unpriced else "nothing_priced"
        return BudgetLine("none", user_amount=amount, user_band=band, reason=reason)
    fit = total.fit
    return BudgetLine(fit.kind, total.total, with_one_vie, user_amount=amount, user_band=band,
                      edge=fit.edge, gap=fit.gap, gap_high=fit.gap_high)


# --- sections -----------------------------------------------------------------------------


def landing_section(advice: Advice, horizon: dt.date | None = None) -> Section:
    return Section("landing", tuple(
        Item("landing", la, _refs(la.record.sources, horizon)) for la in advice.landing))


def vie_section(advice: Advice, kb: KnowledgeBase, horizon: dt.date | None = None) -> Section:
    """The VIE for this project and its cost: rules, hosting, the country, the budget."""
    vie, budget = advice.vie, advice.budget
    items = [Item("vie_rules", vie.general,
                  _refs((s for r in vie.general for s in r.sources), horizon))]
    if vie.hosting:
        items.append(Item("vie_hosting", vie.hosting,
                          _refs((s for r in vie.hosting for s in r.sources), horizon)))
    if vie.country is not None:
        items.append(Item("vie_country", vie, _refs(vie.country.sources, horizon)))
    items.append(Item("vie_two", vie, _refs(vie.two_volunteers.sources, horizon)
                      if vie.two_volunteers else ()))
    budget_sources: list[Source] = []
    if budget.vie or budget.scenario:
        budget_sources += kb.vie_costs.sources
    if budget.landing is not None:
        budget_sources += budget.landing.sources
    items.append(Item("budget", budget, _refs(budget_sources, horizon)))
    return Section("vie", tuple(items))


def aid_section(advice: Advice, horizon: dt.date | None = None) -> Section:
    """Schemes serving this project first; then, one line each, those excluded by a criterion,
    those for other projects, those to ask the region about, and the closed ones that concern the
    user (national, or of their region). The seed's 2013 proposals are not part of a plan."""
    items = [Item("aid", v, _refs(v.aid.sources, horizon)) for v in advice.aid]
    items += [Item("aid_refused", v, _refs(v.aid.sources[:1], horizon))
              for v in advice.aid_not_eligible]
    if advice.aid_other:
        items.append(Item("aid_other", advice.aid_other))
    if advice.aid_unverified:
        items.append(Item("aid_unverified", advice.aid_unverified,
                          _refs((v.aid.source for v in advice.aid_unverified), horizon)))
    closed = tuple(v for v in advice.aid_closed if v.aid.scope != "regional"
                   or _region_of(v) == advice.profile.home_region)
    if closed:
        items.append(Item("aid_closed", closed, _refs((v.aid.source for v in closed), horizon)))
    return Section("aid", tuple(items))


def sources_section() -> Section:
    """The full list: built from the other sections' sources (Plan.sources) when shown."""
    return Section("sources", ())


def _region_of(v: AidVerdict) -> str | None:
    for c in v.aid.criteria:
        if c.field is CriterionField.home_region and c.op == "in" and isinstance(c.value, list):
            return str(c.value[0]) if len(c.value) == 1 else None
    return None


def _refs(sources: Iterable[Source], horizon: dt.date | None) -> tuple[SourceRef, ...]:
    return tuple(SourceRef.of(s, horizon) for s in sources)
