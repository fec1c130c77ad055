"""The company profile the advice is computed from, built from the dialog's answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.dialog import questions as q


def _known(value: str | None) -> str | None:
    return None if value in (None, "", q.UNKNOWN) else value


@dataclass(frozen=True)
class Profile:
    """None means 'not known': criteria on it are judged 'to check', never failed."""

    sector: str | None = None
    world_region: str | None = None
    country: str | None = None
    city: str | None = None
    headcount: q.Band | None = None
    turnover: q.Band | None = None
    home_region: str | None = None
    stage: str | None = None
    vie: str | None = None  # none, maybe, yes
    vie_count: int = 0
    budget: q.Band | None = None
    # Asked only when they can change the plan (see bot/dialog/questions.py):
    territory: str | None = None  # when home_region is "outre-mer": one of q.TERRITORIES
    company_age: q.Band | None = None  # years since creation
    large_contracts: bool | None = None  # signs export contracts of several million euros
    budget_eur: float | None = None  # the exact amount typed, beside its band; None: a band tapped

    @classmethod
    def from_answers(cls, answers: Mapping[str, str]) -> Profile:
        vie = _known(answers.get("vie"))
        count = answers.get("vie_count", "")
        turnover = q.band("turnover", answers.get("turnover"))
        large = _known(answers.get("large_contracts"))
        if large is None and implies_no_large_contracts(answers, turnover):
            large = "no"
        amount = answers.get("budget_amount", "")
        return cls(
            sector=_known(answers.get("sector")),
            world_region=_known(answers.get("target_region")),
            country=_known(answers.get("target_country")),
            city=_known(answers.get("target_city")),
            headcount=q.band("headcount", answers.get("headcount")),
            turnover=turnover,
            home_region=_known(answers.get("home_region")),
            stage=_known(answers.get("stage")),
            vie=vie,
            # "maybe" is not a planned volunteer: the budget shows it as a scenario.
            vie_count=int(count) if vie == "yes" and count.isdigit() else 0,
            budget=q.band("budget", answers.get("budget")),
            territory=(_known(answers.get("territory"))
                       if answers.get("home_region") == q.OVERSEAS else None),
            company_age=q.band("company_age", answers.get("company_age")),
            large_contracts=None if large is None else large == "yes",
            budget_eur=_amount(amount) if answers.get("budget") not in (None, q.UNKNOWN) else None,
        )


def implies_no_large_contracts(answers: Mapping[str, str], turnover: q.Band | None) -> bool:
    """Export contracts of several million euros are implied out by a turnover entirely under
    1 M€, or by a company taking its first steps abroad (it has no export contract yet)."""
    small = turnover is not None and turnover.high is not None \
        and turnover.high < q.LARGE_CONTRACT_TURNOVER
    return small or answers.get("stage") == "first_steps"


def _amount(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 else None
