"""The VIE as it applies to the profile: general rules, hosting, the country, the allowance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.dialog.profile import Profile
from bot.kb.models import Allowance, Text, VieCountry, VieRule
from bot.kb.snapshot import KnowledgeBase


def whole_eur(amount: float) -> int:
    """The one rounding rule of plans: to the whole euro, halves up. Every sum or product shown is
    computed from figures already rounded this way, so what is displayed adds up exactly."""
    return int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class MonthlyAllowance:
    """The monthly allowance of one place, each part with the date of its own scale."""

    place: Text
    common: int
    common_date: dt.date
    geographic: int
    geographic_date: dt.date

    @property
    def total(self) -> int:
        return self.common + self.geographic


# How the allowance was found (VieAdvice.allowance_how):
# "city": the scale lists the target city; "rest": the city is not listed, the country's rate
# for other cities or the whole country applies; "country": no city given, that same rate;
# "unlisted": the scale lists only specific places and none is the city or the rest of the
# country (no figure); "no_scale": no sourced scale for the country (no figure).
ALLOWANCE_HOW = ("city", "rest", "country", "unlisted", "no_scale")


@dataclass(frozen=True)
class VieAdvice:
    general: tuple[VieRule, ...]
    hosting: tuple[VieRule, ...]  # host options when there is no subsidiary
    country: VieCountry | None
    allowance: Allowance | None
    allowance_how: str  # one of ALLOWANCE_HOW
    monthly: MonthlyAllowance | None  # the rounded figures plans show, None: no figure
    listed_places: tuple[Text, ...]  # the places the country's scale lists
    two_volunteers: VieRule | None
    has_structure: bool | None  # None: stage unknown
    plans: str | None  # none, maybe, yes


# The first rule of each topic is the one shown in a plan; the others stay in the base.
_GENERAL_TOPICS = ("eligibility", "duration", "days_abroad", "allowance", "costs", "regional")


def vie_advice(profile: Profile, kb: KnowledgeBase) -> VieAdvice:
    rules = list(kb.vie_rules.values())
    country = kb.vie_countries.get(profile.country) if profile.country else None
    has_structure = None if profile.stage is None else profile.stage == "established"
    allowance, how = find_allowance(country, profile.city)
    monthly = None
    if allowance is not None:
        common = allowance.common_eur or kb.vie_costs.common_eur
        monthly = MonthlyAllowance(
            place=allowance.place,
            common=whole_eur(common),
            common_date=(allowance.scale_date if allowance.common_eur
                         else kb.vie_costs.common_date),
            geographic=whole_eur(allowance.geographic_eur),
            geographic_date=allowance.scale_date)
    return VieAdvice(
        general=tuple(r for topic in _GENERAL_TOPICS
                      if (r := next((x for x in rules if x.topic == topic), None))),
        hosting=tuple(r for r in rules if r.topic == "hosting") if not has_structure else (),
        country=country,
        allowance=allowance,
        allowance_how=how,
        monthly=monthly,
        listed_places=tuple(a.place for a in country.allowances) if country else (),
        two_volunteers=next((r for r in rules if r.topic == "two_volunteers"), None),
        has_structure=has_structure,
        plans=profile.vie,
    )


def find_allowance(country: VieCountry | None, city: str | None) -> tuple[Allowance | None, str]:
    """The allowance of the city where the scale lists it, else the one the data marks as the
    rest of the country; never another place's rate (see ALLOWANCE_HOW)."""
    if country is None or not country.allowances:
        return None, "no_scale"
    if city is not None:
        listed = next((a for a in country.allowances if a.city == city), None)
        if listed is not None:
            return listed, "city"
    rest = next((a for a in country.allowances if a.rest_of_country), None)
    if rest is None:
        return None, "unlisted"
    return rest, "country" if city is None else "rest"
