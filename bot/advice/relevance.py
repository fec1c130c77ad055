"""Which questions can still change a plan: the dialog asks the optional ones only then."""

from __future__ import annotations

from dataclasses import replace

from bot.advice.eligibility import Verdict, judge_criterion
from bot.advice.needs import profile_needs, serves
from bot.dialog.profile import Profile
from bot.kb.models import AidStatus, CriterionField
from bot.kb.snapshot import KnowledgeBase


def deciding_fields(profile: Profile, kb: KnowledgeBase) -> frozenset[CriterionField]:
    """The criterion fields that an active, sourced scheme still open to this profile (none of
    its criteria fails on the answers given so far) and serving its project depends on. While
    the large-contracts answer is unknown, the schemes it would bring count too (it is the
    answer that makes them serve the project)."""
    schemes, _ = kb.aid_for(profile.home_region)
    hypothesis = profile if profile.large_contracts is not None else replace(
        profile, large_contracts=True)
    needs = profile_needs(hypothesis, kb)
    fields: set[CriterionField] = set()
    for aid in schemes:
        if aid.status is not AidStatus.active or aid.unsourced or not serves(aid, needs):
            continue
        results = [judge_criterion(c, profile) for c in aid.criteria]
        if any(r.verdict is Verdict.failed for r in results):
            continue
        fields.update(r.criterion.field for r in results if r.verdict is Verdict.unknown)
    return frozenset(fields)
