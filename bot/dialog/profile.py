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

    @classmethod
    def from_answers(cls, answers: Mapping[str, str]) -> Profile:
        vie = _known(answers.get("vie"))
        count = answers.get("vie_count", "")
        return cls(
            sector=_known(answers.get("sector")),
            world_region=_known(answers.get("target_region")),
            country=_known(answers.get("target_country")),
            city=_known(answers.get("target_city")),
            headcount=q.band("headcount", answers.get("headcount")),
            turnover=q.band("turnover", answers.get("turnover")),
            home_region=_known(answers.get("home_region")),
            stage=_known(answers.get("stage")),
            vie=vie,
            vie_count=(int(count) if vie == "yes" and count.isdigit()
                       else 1 if vie == "maybe" else 0),
            budget=q.band("budget", answers.get("budget")),
        )
