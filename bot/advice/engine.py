"""Profile -> advice over one knowledge-base snapshot: landing, VIE, aid, budget, next steps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.advice.budget import BudgetEstimate, estimate_budget
from bot.advice.eligibility import OFFERED, AidVerdict, Eligibility, judge_many
from bot.advice.landing import LandingAdvice, Reason, recommend_landing
from bot.advice.needs import currency_of, profile_needs, serves
from bot.advice.steps import NextStep, next_steps
from bot.advice.vie import VieAdvice, vie_advice
from bot.dialog.profile import Profile
from bot.kb.models import Need
from bot.kb.snapshot import KnowledgeBase

__all__ = ["Advice", "BudgetEstimate", "LandingAdvice", "NextStep", "Reason", "VieAdvice",
           "advise"]


@dataclass(frozen=True)
class Advice:
    profile: Profile
    kb_version: str
    landing: tuple[LandingAdvice, ...]
    vie: VieAdvice
    aid: tuple[AidVerdict, ...]  # offered and serving this project: eligible, to check, on
    #                              application, in that order
    aid_not_eligible: tuple[AidVerdict, ...]  # serving this project, excluded by a criterion
    aid_other: tuple[AidVerdict, ...]  # offered or excluded, but not serving this project
    aid_unverified: tuple[AidVerdict, ...]  # unsourced: "ask your region about ..."
    aid_other_regions: int  # regional schemes of other regions, not listed
    aid_closed: tuple[AidVerdict, ...]
    aid_proposals: tuple[AidVerdict, ...]
    budget: BudgetEstimate
    next_steps: tuple[NextStep, ...]
    needs: frozenset[Need] = frozenset()
    currency: str | None = None  # ISO 4217 currency of the target country


def advise(profile: Profile, kb: KnowledgeBase, today: dt.date) -> Advice:
    """The whole plan for one profile; deterministic for a given snapshot and date."""
    # Schemes reserved to other regions are only counted: judging them all would cost time in
    # proportion to every region's schemes, for verdicts the plan does not show.
    to_judge, others = kb.aid_for(profile.home_region)
    verdicts = judge_many(to_judge, profile, today, kb.rule_ids)
    needs = profile_needs(profile, kb)
    by: dict[Eligibility, list[AidVerdict]] = {e: [] for e in Eligibility}
    for v in verdicts:
        by[v.eligibility].append(v)
    usable: list[AidVerdict] = []  # offered (best first) and serving this project
    refused: list[AidVerdict] = []
    other: list[AidVerdict] = []  # offered, then not eligible, serving other projects
    served: dict[tuple[Need, ...], bool] = {}  # `serves` once per distinct list of needs
    for e in (*OFFERED, Eligibility.not_eligible):
        serving = refused if e is Eligibility.not_eligible else usable
        for v in by[e]:
            ok = served.get(key := tuple(v.aid.needs))
            if ok is None:
                ok = served[key] = serves(v.aid, needs)
            (serving if ok else other).append(v)
    landing = recommend_landing(profile, kb)
    vie = vie_advice(profile, kb)
    return Advice(
        profile=profile,
        kb_version=kb.version,
        landing=landing,
        vie=vie,
        aid=tuple(usable),
        aid_not_eligible=tuple(refused),
        aid_other=tuple(other),
        aid_unverified=tuple(by[Eligibility.unverified]),
        aid_other_regions=others,
        aid_closed=tuple(by[Eligibility.closed]),
        aid_proposals=tuple(by[Eligibility.proposal]),
        budget=estimate_budget(profile, kb, vie, landing, verdicts),
        next_steps=next_steps(profile, kb, landing, usable),
        needs=needs,
        currency=currency_of(profile, kb),
    )
