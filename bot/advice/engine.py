"""Profile -> advice over one knowledge-base snapshot: landing, VIE, aid, budget, next steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.advice.eligibility import AidVerdict, Eligibility, judge_many
from bot.dialog.profile import Profile
from bot.dialog.questions import Band
from bot.kb.models import (
    AidStatus,
    Allowance,
    Contact,
    Landing,
    Source,
    VieCountry,
    VieRule,
)
from bot.kb.snapshot import KnowledgeBase

MAX_LANDING = 3
_FUNDING = ("insurance", "loan", "subsidy", "tax_credit")  # kinds that bring money, not advice
_COST_RANK = {"free": 0, "low": 1, "medium": 2, "high": 3, "unknown": 2}


@dataclass(frozen=True)
class Reason:
    """Why an item fits; `key` picks the sentence in the templates, `value` fills it."""

    key: str
    value: str = ""


@dataclass(frozen=True)
class LandingAdvice:
    record: Landing
    level: str  # city, country, region
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class VieAdvice:
    general: tuple[VieRule, ...]
    hosting: tuple[VieRule, ...]  # host options when there is no subsidiary
    country: VieCountry | None
    allowance: Allowance | None
    common_eur: float
    common_date: dt.date
    two_volunteers: VieRule | None
    has_structure: bool | None  # None: stage unknown
    plans: str | None  # none, maybe, yes


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


@dataclass(frozen=True)
class NextStep:
    key: str  # regional_tfe, national_tfe, landing, bpifrance
    name: str
    url: str
    source: Source | None
    contact: Contact | None = None


@dataclass(frozen=True)
class Advice:
    profile: Profile
    kb_version: str
    landing: tuple[LandingAdvice, ...]
    vie: VieAdvice
    aid: tuple[AidVerdict, ...]  # eligible and to check, in that order
    aid_not_eligible: tuple[AidVerdict, ...]  # excluded for a reason other than home region
    aid_other_regions: int  # regional schemes of other regions, not listed
    aid_closed: tuple[AidVerdict, ...]
    aid_proposals: tuple[AidVerdict, ...]
    budget: BudgetEstimate
    next_steps: tuple[NextStep, ...]


def advise(profile: Profile, kb: KnowledgeBase, today: dt.date) -> Advice:
    """The whole plan for one profile; deterministic for a given snapshot and date."""
    # Schemes reserved to other regions are only counted: judging them all would cost time in
    # proportion to every region's schemes, for verdicts the plan does not show.
    to_judge, others = kb.aid_for(profile.home_region)
    verdicts = judge_many(to_judge, profile, today, kb.rule_ids)
    by: dict[Eligibility, list[AidVerdict]] = {e: [] for e in Eligibility}
    for v in verdicts:
        by[v.eligibility].append(v)
    usable = by[Eligibility.eligible] + by[Eligibility.to_check]
    landing = recommend_landing(profile, kb)
    vie = vie_advice(profile, kb)
    return Advice(
        profile=profile,
        kb_version=kb.version,
        landing=landing,
        vie=vie,
        aid=tuple(usable),
        aid_not_eligible=tuple(by[Eligibility.not_eligible]),
        aid_other_regions=others,
        aid_closed=tuple(by[Eligibility.closed]),
        aid_proposals=tuple(by[Eligibility.proposal]),
        budget=estimate_budget(profile, kb, vie, landing, usable),
        next_steps=next_steps(profile, kb, landing, usable),
    )


# --- landing ----------------------------------------------------------------------------------


def recommend_landing(profile: Profile, kb: KnowledgeBase) -> tuple[LandingAdvice, ...]:
    """The best options: in the city first, then the rest of the country, then the region."""
    # Tiers are gathered lazily: a city with enough options never scans the whole region.
    tiers: list[tuple[str, Callable[[], list[Landing]]]] = []
    country, city = profile.country, profile.city
    if country:
        if city:
            tiers.append(("city", lambda: [r for r in kb.landing_in_city(city)
                                           if r.country == country]))
        tiers.append(("country", lambda: [r for r in kb.landing_in_country(country)
                                          if r.city != city or not city]))
    region = profile.world_region or (kb.countries[country].world_region if country else None)
    if region:
        tiers.append(("region", lambda: [r for r in kb.landing_in_region(region)
                                         if r.country != country]))
    chosen: list[LandingAdvice] = []
    for level, gather in tiers:
        usable = [r for r in gather() if r.status != "closed"]
        ranked = sorted(usable, key=lambda r: (-_landing_score(r, profile), r.id))
        for rec in ranked:
            if len(chosen) == MAX_LANDING:
                return tuple(chosen)
            chosen.append(LandingAdvice(rec, level, _landing_reasons(rec, profile, kb)))
    return tuple(chosen)


def _landing_score(rec: Landing, profile: Profile) -> float:
    score = 0.0
    if profile.sector and profile.sector in rec.sectors:
        score += 3
    elif not rec.sectors:
        score += 1
    if profile.stage and profile.stage in rec.stages:
        score += 2
    elif not rec.stages:
        score += 0.5
    if rec.french_network:
        score += 1
    if rec.status == "unverified":
        score -= 2
    cost_level = rec.cost.level if rec.cost else "unknown"
    if profile.budget and profile.budget.high is not None and profile.budget.high < 50_000:
        score -= _COST_RANK[cost_level] * 0.5
    return score


def _landing_reasons(rec: Landing, profile: Profile, kb: KnowledgeBase) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if profile.sector and profile.sector in rec.sectors:
        reasons.append(Reason("sector_match", profile.sector))
    elif not rec.sectors:
        reasons.append(Reason("all_sectors"))
    else:
        reasons.append(Reason("sector_focus", ",".join(rec.sectors)))
    if profile.stage and profile.stage in rec.stages:
        reasons.append(Reason("stage_match", profile.stage))
    elif rec.stages:
        reasons.append(Reason("stage_focus", ",".join(s.value for s in rec.stages)))
    if rec.cost:
        reasons.append(Reason("cost", rec.cost.level))
    else:
        reasons.append(Reason("cost_unknown"))
    if rec.french_network:
        reasons.append(Reason("french_network"))
    if rec.status == "unverified":
        reasons.append(Reason("unverified"))
    return tuple(reasons)


# --- VIE --------------------------------------------------------------------------------------

# The first rule of each topic is the one shown in a plan; the others stay in the base.
_GENERAL_TOPICS = ("eligibility", "duration", "days_abroad", "allowance", "costs", "regional")


def vie_advice(profile: Profile, kb: KnowledgeBase) -> VieAdvice:
    rules = list(kb.vie_rules.values())
    country = kb.vie_countries.get(profile.country) if profile.country else None
    has_structure = None if profile.stage is None else profile.stage == "established"
    return VieAdvice(
        general=tuple(r for topic in _GENERAL_TOPICS
                      if (r := next((x for x in rules if x.topic == topic), None))),
        hosting=tuple(r for r in rules if r.topic == "hosting") if not has_structure else (),
        country=country,
        allowance=_allowance(country, profile.city),
        common_eur=kb.vie_costs.common_eur,
        common_date=kb.vie_costs.common_date,
        two_volunteers=next((r for r in rules if r.topic == "two_volunteers"), None),
        has_structure=has_structure,
        plans=profile.vie,
    )


def _allowance(country: VieCountry | None, city: str | None) -> Allowance | None:
    """The allowance for the city when the scale has one, else the country's first place."""
    if country is None or not country.allowances:
        return None
    return next((a for a in country.allowances if city and a.city == city),
                country.allowances[0])


# --- budget -----------------------------------------------------------------------------------


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


# --- next steps -------------------------------------------------------------------------------


def next_steps(profile: Profile, kb: KnowledgeBase, landing: tuple[LandingAdvice, ...],
               verdicts: list[AidVerdict]) -> tuple[NextStep, ...]:
    steps: list[NextStep] = []
    region = kb.french_regions.get(profile.home_region) if profile.home_region else None
    if region and region.tfe_contact:
        steps.append(NextStep("regional_tfe", region.tfe_contact.name,
                              str(region.tfe_contact.url), region.source, region.tfe_contact))
    else:
        tfe = next((a for a in kb.aid.values() if a.kind == "support" and a.scope == "national"
                    and a.status is AidStatus.active), None)
        if tfe:
            steps.append(NextStep("national_tfe", tfe.name.fr, str(tfe.url), tfe.source,
                                  tfe.contact))
    if landing:
        first = landing[0].record
        steps.append(NextStep("landing", first.name, str(first.url), first.source, first.contact))
    for v in verdicts:
        if v.eligibility in (Eligibility.eligible, Eligibility.to_check) and v.aid.kind in (
                "insurance", "loan"):
            steps.append(NextStep("financing", v.aid.provider, str(v.aid.url), v.aid.source,
                                  v.aid.contact))
            break
    return tuple(steps)
