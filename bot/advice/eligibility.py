"""Judge an aid scheme's machine-checkable criteria against a profile: pass, fail or unknown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from bot.dialog.profile import Profile
from bot.dialog.questions import Band
from bot.kb.models import Aid, AidStatus, Criterion, CriterionField
from bot.kb.snapshot import rule_signature


class Verdict(StrEnum):
    passed = "pass"
    failed = "fail"
    unknown = "unknown"


class Eligibility(StrEnum):
    eligible = "eligible"
    to_check = "to_check"
    not_eligible = "not_eligible"
    closed = "closed"
    proposal = "proposal"


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict, with the user's answer that decided it (None: not given)."""

    criterion: Criterion
    verdict: Verdict
    answer: str | Band | None


@dataclass(frozen=True)
class AidVerdict:
    aid: Aid
    eligibility: Eligibility
    results: tuple[CriterionResult, ...]
    deciding: CriterionResult | None  # the failing, or first unknown, criterion
    reason: str | None = None  # 'expired', 'not_open_yet' when dates decide


def _numeric(band: Band | None, op: str, threshold: float) -> Verdict:
    if band is None:
        return Verdict.unknown
    low = band.low if band.low is not None else float("-inf")
    high = band.high if band.high is not None else float("inf")
    if op == "max":
        return Verdict.passed if high <= threshold else (
            Verdict.failed if low > threshold else Verdict.unknown)
    return Verdict.passed if low >= threshold else (
        Verdict.failed if high < threshold else Verdict.unknown)


Answers = dict[CriterionField, "str | Band | None"]


@lru_cache(maxsize=1024)
def answers_of(profile: Profile) -> Answers:
    """What the profile says for each criterion field (computed once per profile)."""
    return {
        CriterionField.headcount: profile.headcount,
        CriterionField.turnover_eur: profile.turnover,
        CriterionField.home_region: profile.home_region,
        CriterionField.sector: profile.sector,
        CriterionField.stage: profile.stage,
        CriterionField.country: profile.country,
        CriterionField.world_region: profile.world_region,
        CriterionField.vie_count: (
            Band(str(profile.vie_count), profile.vie_count, None if profile.vie_count >= 4
                 else profile.vie_count) if profile.vie == "yes" else None
        ),
    }


def judge_criterion(criterion: Criterion, profile: Profile) -> CriterionResult:
    answer = answers_of(profile).get(criterion.field)
    if criterion.op in ("max", "min"):
        band = answer if isinstance(answer, Band) else None
        verdict = _numeric(band, criterion.op, float(criterion.value))  # type: ignore[arg-type]
    elif answer is None or isinstance(answer, Band):
        verdict = Verdict.unknown
    else:
        inside = answer in criterion.value  # type: ignore[operator]
        verdict = Verdict.passed if inside == (criterion.op == "in") else Verdict.failed
    return CriterionResult(criterion, verdict, answer)


def judge(aid: Aid, profile: Profile, today: dt.date) -> AidVerdict:
    """Closed and proposed schemes are never eligible; dates past their end close a scheme."""
    results = tuple(judge_criterion(c, profile) for c in aid.criteria)
    if aid.status is AidStatus.closed:
        return AidVerdict(aid, Eligibility.closed, results, None)
    if aid.status is AidStatus.proposal:
        return AidVerdict(aid, Eligibility.proposal, results, None)
    if aid.valid_to and aid.valid_to < today:
        return AidVerdict(aid, Eligibility.closed, results, None, reason="expired")
    failed = next((r for r in results if r.verdict is Verdict.failed), None)
    if failed:
        return AidVerdict(aid, Eligibility.not_eligible, results, failed)
    unknown = next((r for r in results if r.verdict is Verdict.unknown), None)
    if aid.valid_from and aid.valid_from > today:
        return AidVerdict(aid, Eligibility.to_check, results, unknown, reason="not_open_yet")
    if unknown:
        return AidVerdict(aid, Eligibility.to_check, results, unknown)
    return AidVerdict(aid, Eligibility.eligible, results, None)


def judge_many(aids: Iterable[Aid], profile: Profile, today: dt.date,
               rule_of: Mapping[str, Hashable]) -> list[AidVerdict]:
    """`judge` for each scheme; schemes with the same rule set (`rule_of`: scheme id -> rule-set
    key, see snapshot.rule_signature) share one verdict, so the cost follows the number of
    distinct rule sets."""
    memo: dict[Hashable, AidVerdict] = {}
    out: list[AidVerdict] = []
    append, known = out.append, rule_of.get
    for aid in aids:
        key = known(aid.id)
        if key is None:
            key = rule_signature(aid)
        seen = memo.get(key)
        if seen is None:
            seen = memo[key] = judge(aid, profile, today)
            append(seen)
        else:
            append(AidVerdict(aid, seen.eligibility, seen.results, seen.deciding, seen.reason))
    return out
