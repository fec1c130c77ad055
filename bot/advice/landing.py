"""Where to land: the structures that serve the target city, then the rest of the country, then
offices elsewhere that a source says cover the target; ranked for the profile.

What is offered at all (`_offered`): not closed, not a programme for local founders, a French
region's own office only to companies from that region, another country's office only when it
covers the target. How the rest is ranked is declared once, below (OFFICIAL_KINDS, KIND_WEIGHT,
FIT): `_rank_key` reads its keys in order, the first difference decides.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from types import MappingProxyType

from bot.dialog.profile import Profile
from bot.kb.models import Audience, Landing, LandingKind
from bot.kb.snapshot import KnowledgeBase

MAX_LANDING = 3

LEVELS = ("city", "country", "covers")
"""Where an option is, relative to the target: in (or serving the whole of) the target city's
country and in the city; in another city of the country; in another country it covers."""

OFFICIAL_KINDS = frozenset({LandingKind.business_france, LandingKind.chamber})
"""The country's French offices: at the same level they come before every other kind."""

KIND_WEIGHT = MappingProxyType({
    LandingKind.business_france: 0.0,  # ranked among OFFICIAL_KINDS by fit only
    LandingKind.chamber: 0.0,
    LandingKind.soft_landing: 3.0,  # built to host companies from abroad
    LandingKind.investment_agency: 2.5,  # the city's or country's agency for foreign companies
    LandingKind.accelerator: 2.0,
    LandingKind.incubator: 2.0,
    LandingKind.french_tech: 1.5,  # communities of volunteers: introductions, no hosting
    LandingKind.network: 1.0,
    LandingKind.coworking: 1.0,  # desks
})
"""The other kinds' base score, added to the fit score."""

FIT = MappingProxyType({
    "sector_match": 3.0,  # the record names the company's sector
    "sector_other": -3.0,  # it names only other sectors
    "stage_match": 1.0,  # it names the company's stage
    "stage_other": -1.0,  # it names only other stages
    "unverified": -3.0,  # known only from an old or passing mention: after active ones
    "no_own_site": -1.0,  # no site of its own found: reached through Team France Export
    "cost_step": -0.5,  # per cost level (free 0 .. high 3), only on a tight budget
})
"""Weights of the fit score."""

TIGHT_BUDGET_EUR = 50_000  # a budget band entirely under this makes cost count
_COST_RANK = MappingProxyType({"free": 0, "low": 1, "medium": 2, "high": 3, "unknown": 2})


@dataclass(frozen=True)
class Reason:
    """Why an item fits; `key` picks the sentence in the templates, `value` fills it."""

    key: str
    value: str = ""


@dataclass(frozen=True)
class LandingAdvice:
    record: Landing
    level: str  # one of LEVELS
    reasons: tuple[Reason, ...]


def recommend_landing(profile: Profile, kb: KnowledgeBase) -> tuple[LandingAdvice, ...]:
    """The best options for the profile's target, at most MAX_LANDING, best first."""
    country = profile.country
    if not country:
        return ()
    chosen: list[tuple[Landing, str]] = []
    for block in _blocks(profile, kb, country):
        offered = [(rec, level) for rec in block
                   if (level := landing_level(rec, profile)) and _offered(rec, profile)]
        chosen += heapq.nsmallest(MAX_LANDING - len(chosen), offered,
                                  key=lambda pair: _rank_key(pair[0], pair[1], profile))
        if len(chosen) == MAX_LANDING:
            break
    return tuple(LandingAdvice(rec, level, _landing_reasons(rec, level, profile))
                 for rec, level in chosen)


def _blocks(profile: Profile, kb: KnowledgeBase, country: str) -> Iterator[Iterable[Landing]]:
    """The candidates in blocks that `_rank_key`'s first keys order whole (the company's own
    region's offices; then by tier, the French offices before the rest), so the best few are
    taken from the first blocks without ranking the whole country."""
    if profile.home_region:
        yield kb.landing_for_home(profile.home_region)
    for tier in _tiers(profile, kb, country):
        others = [rec for rec in tier if not rec.home_regions]
        yield [rec for rec in others if rec.kind in OFFICIAL_KINDS]
        yield [rec for rec in others if rec.kind not in OFFICIAL_KINDS]


def _tiers(profile: Profile, kb: KnowledgeBase, country: str) -> Iterator[Iterable[Landing]]:
    """The records of each tier of `_rank_key`, in order, gathered only when asked for."""
    city = profile.city
    if city:
        yield chain(kb.landing_at(country, city), kb.landing_at(country, None))
        yield (rec for rec in kb.landing_in_country(country) if rec.city not in (None, city))
    else:
        yield kb.landing_in_country(country)
    yield kb.landing_covering(country)


def landing_level(rec: Landing, profile: Profile) -> str | None:
    """The record's level for this target, or None when it does not serve the target."""
    if rec.country == profile.country:
        return "city" if profile.city and rec.city == profile.city else "country"
    if profile.country in rec.covers:
        return "covers"
    return None


def _offered(rec: Landing, profile: Profile) -> bool:
    if rec.status == "closed" or rec.audience is Audience.local:
        return False
    return not rec.home_regions or profile.home_region in rec.home_regions


def _rank_key(rec: Landing, level: str, profile: Profile) -> tuple[object, ...]:
    """The ranking, key by key: the company's own region's office first; then the target city
    (with the structures serving the whole country), the country's other cities, offices
    abroad; then the country's French offices (OFFICIAL_KINDS); then the score; then the exact
    city; then the id."""
    serves_target = level == "city" or (level == "country" and not (rec.city and profile.city))
    tier = 0 if serves_target else LEVELS.index(level)
    return (not rec.home_regions, tier, rec.kind not in OFFICIAL_KINDS,
            -score(rec, profile), level != "city", rec.id)


def score(rec: Landing, profile: Profile) -> float:
    """The kind's weight plus the fit score."""
    return KIND_WEIGHT[rec.kind] + fit_score(rec, profile)


def fit_score(rec: Landing, profile: Profile) -> float:
    """Sector, stage, verification and (on a tight budget) cost, weighted by FIT."""
    score = 0.0
    if rec.sectors:
        score += FIT["sector_match"] if profile.sector in rec.sectors else FIT["sector_other"]
    if rec.stages:
        score += FIT["stage_match"] if profile.stage in rec.stages else FIT["stage_other"]
    if rec.status == "unverified":
        score += FIT["unverified"]
    if rec.url is None and rec.contact is None:
        score += FIT["no_own_site"]
    budget = profile.budget
    if budget and budget.high is not None and budget.high < TIGHT_BUDGET_EUR:
        score += FIT["cost_step"] * _COST_RANK[rec.cost.level if rec.cost else "unknown"]
    return score


def _landing_reasons(rec: Landing, level: str, profile: Profile) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    if rec.home_regions and profile.home_region:
        reasons.append(Reason("home_region", profile.home_region))
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


def count_landing(profile: Profile, kb: KnowledgeBase) -> int:
    """How many options are offered for the profile's target (the plan shows the best
    MAX_LANDING of them)."""
    if not profile.country:
        return 0
    seen: set[str] = set()
    for block in _blocks(profile, kb, profile.country):
        seen.update(rec.id for rec in block
                    if landing_level(rec, profile) and _offered(rec, profile))
    return len(seen)
