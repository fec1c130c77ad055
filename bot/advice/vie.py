"""The VIE as it applies to the profile: general rules, hosting, the country, the allowance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.dialog.profile import Profile
from bot.kb.models import Allowance, VieCountry, VieRule
from bot.kb.snapshot import KnowledgeBase


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


