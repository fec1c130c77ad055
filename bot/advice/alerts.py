"""Aid alerts, pure: which schemes a new knowledge version opens, and which of them concern a
subscriber's profile."""

from __future__ import annotations

import datetime as dt

from bot.advice.eligibility import OFFERED, AidVerdict, judge
from bot.advice.needs import profile_needs, serves
from bot.dialog.profile import Profile
from bot.kb.models import Aid, AidStatus
from bot.kb.snapshot import KnowledgeBase

WORTH_TELLING = OFFERED


def opened_schemes(old: KnowledgeBase, new: KnowledgeBase) -> list[Aid]:
    """Schemes active in `new` that were absent, closed or only proposed in `old`."""
    out = []
    for aid in new.aid.values():
        before = old.aid.get(aid.id)
        if aid.status is AidStatus.active and (before is None
                                               or before.status is not AidStatus.active):
            out.append(aid)
    return out


def matching(schemes: list[Aid], profile: Profile, today: dt.date,
             told: frozenset[str] = frozenset(),
             kb: KnowledgeBase | None = None) -> list[AidVerdict]:
    """The schemes this profile may get (eligible, to check, on application), not told about
    before; with `kb`, only those serving the profile's project."""
    needs = profile_needs(profile, kb) if kb is not None else None
    verdicts = (judge(aid, profile, today) for aid in schemes if aid.id not in told
                and (needs is None or serves(aid, needs)))
    return [v for v in verdicts if v.eligibility in WORTH_TELLING]
