"""Where to land: the structures in the target city, then the country, ranked for the profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.dialog.profile import Profile
from bot.kb.models import Landing
from bot.kb.snapshot import KnowledgeBase

MAX_LANDING = 3
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


