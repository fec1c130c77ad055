"""Aid alerts, pure: which schemes a new knowledge version opens, and which of them concern a
subscriber's profile."""

from __future__ import annotations

import datetime as dt

from bot.advice.eligibility import AidVerdict, Eligibility, judge
from bot.dialog.profile import Profile
from bot.kb.models import Aid, AidStatus
from bot.kb.snapshot import KnowledgeBase

WORTH_TELLING = (Eligibility.eligible, Eligibility.to_check)


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
             told: frozenset[str] = frozenset()) -> list[AidVerdict]:
    """The schemes this profile may get (eligible, or to check), not told about before."""
    verdicts = (judge(aid, profile, today) for aid in schemes if aid.id not in told)
    return [v for v in verdicts if v.eligibility in WORTH_TELLING]
