"""Which questions can still change a plan: the dialog asks the optional ones only then."""

from __future__ import annotations

from bot.advice.eligibility import Verdict, judge_criterion
from bot.dialog.profile import Profile
from bot.kb.models import AidStatus, CriterionField
from bot.kb.snapshot import KnowledgeBase


def deciding_fields(profile: Profile, kb: KnowledgeBase) -> frozenset[CriterionField]:
    """The criterion fields that an active scheme still open to this profile (none of its
    criteria fails on the answers given so far) depends on."""
    schemes, _ = kb.aid_for(profile.home_region)
    fields: set[CriterionField] = set()
    for aid in schemes:
        if aid.status is not AidStatus.active:
            continue
        results = [judge_criterion(c, profile) for c in aid.criteria]
        if any(r.verdict is Verdict.failed for r in results):
            continue
        fields.update(r.criterion.field for r in results if r.verdict is Verdict.unknown)
    return frozenset(fields)
