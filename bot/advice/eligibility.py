"""Judge an aid scheme against a profile: each machine criterion passes, fails or is unknown, and
the scheme gets one eligibility (see `Eligibility`) that never contradicts its own conditions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.dialog.profile import Profile
from bot.dialog.questions import OVERSEAS, Band
from bot.kb.models import (
    Aid,
    AidStatus,
    Condition,
    ConditionKind,
    Criterion,
    CriterionField,
)
from bot.kb.snapshot import rule_signature


class Verdict(StrEnum):
    passed = "pass"
    failed = "fail"
    unknown = "unknown"


class Eligibility(StrEnum):
    eligible = "eligible"  # ✅ every criterion passes and no condition could exclude
    to_check = "to_check"  # 🔎 criteria pass or are unknown, conditions remain
    on_application = "on_application"  # selected cohorts, calls for projects: never ✅
    not_eligible = "not_eligible"  # ❌ a criterion fails on the answers
    unverified = "unverified"  # name, amount or conditions unsourced: not offered as an aid
    closed = "closed"
    proposal = "proposal"


OFFERED = (Eligibility.eligible, Eligibility.to_check, Eligibility.on_application)
"""The verdicts of a scheme the plan offers, and the only ones that may offset a cost."""

Answer = str | float | Band | None
"""A profile's answer for one field: an id, an exact amount, a band, or None (not known)."""


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict, with the user's answer that decided it (None: not given)."""

    criterion: Criterion
    verdict: Verdict
    answer: Answer


@dataclass(frozen=True)
class Judgement:
    """What a verdict says; schemes with the same rule set share one (see `judge_many`)."""

    eligibility: Eligibility
    results: tuple[CriterionResult, ...]
    deciding: CriterionResult | None  # the failing, or first unknown, criterion
    reason: str | None = None  # 'expired', 'not_open_yet' when dates decide
    open_conditions: tuple[Condition, ...] = ()  # conditions that could exclude, deciding first


@dataclass(frozen=True)
class AidVerdict:
    """One scheme's verdict (two fields only: one is built per scheme judged)."""

    aid: Aid
    judgement: Judgement

    @property
    def eligibility(self) -> Eligibility:
        return self.judgement.eligibility

    @property
    def results(self) -> tuple[CriterionResult, ...]:
        return self.judgement.results

    @property
    def deciding(self) -> CriterionResult | None:
        return self.judgement.deciding

    @property
    def reason(self) -> str | None:
        return self.judgement.reason

    @property
    def open_conditions(self) -> tuple[Condition, ...]:
        return self.judgement.open_conditions

    @property
    def to_confirm(self) -> tuple[Condition, ...]:
        """The one or two conditions to confirm first."""
        return self.open_conditions[:2]


# --- one evaluator per criterion field --------------------------------------------------------


def _numeric(band: Band | None, op: str, threshold: float) -> Verdict:
    """A band against a threshold: a band straddling it cannot be judged (unknown)."""
    if band is None:
        return Verdict.unknown
    low = band.low if band.low is not None else float("-inf")
    high = band.high if band.high is not None else float("inf")
    if op == "max":
        return Verdict.passed if high <= threshold else (
            Verdict.failed if low > threshold else Verdict.unknown)
    return Verdict.passed if low >= threshold else (
        Verdict.failed if high < threshold else Verdict.unknown)


def _membership(answer: str | None, criterion: Criterion) -> Verdict:
    if answer is None or not isinstance(criterion.value, list):
        return Verdict.unknown
    inside = answer in criterion.value
    return Verdict.passed if inside == (criterion.op == "in") else Verdict.failed


Evaluator = Callable[[Criterion, Profile], tuple[Verdict, Answer]]


def _band_of(get: Callable[[Profile], Band | None]) -> Evaluator:
    def evaluate(criterion: Criterion, profile: Profile) -> tuple[Verdict, Answer]:
        band = get(profile)
        if not isinstance(criterion.value, int | float):
            return Verdict.unknown, band
        return _numeric(band, criterion.op, float(criterion.value)), band
    return evaluate


def _id_of(get: Callable[[Profile], str | None]) -> Evaluator:
    def evaluate(criterion: Criterion, profile: Profile) -> tuple[Verdict, Answer]:
        answer = get(profile)
        return _membership(answer, criterion), answer
    return evaluate


def _budget(criterion: Criterion, profile: Profile) -> tuple[Verdict, Answer]:
    """The exact amount typed when there is one, else the band tapped. A threshold over several
    years (`years`) is met by a first-year budget from that budget up to `years` times it."""
    if not isinstance(criterion.value, int | float):
        return Verdict.unknown, None
    answer: Answer = profile.budget
    first = profile.budget
    if profile.budget_eur is not None:
        answer = profile.budget_eur
        first = Band("exact", profile.budget_eur, profile.budget_eur)
    if first is not None and criterion.years:
        first = Band(first.id, first.low,
                     None if first.high is None else first.high * criterion.years)
    return _numeric(first, criterion.op, float(criterion.value)), answer


def _vie_count(profile: Profile) -> Band | None:
    if profile.vie != "yes":
        return None
    count = profile.vie_count
    return Band(str(count), count, None if count >= 4 else count)  # "4" reads "4 or more"


def _vie_plan(criterion: Criterion, profile: Profile) -> tuple[Verdict, Answer]:
    """"maybe" lies between "yes" and "none": it decides only where both would agree."""
    answer = profile.vie
    if answer == "maybe" and "maybe" not in criterion.value:  # type: ignore[operator]
        yes, none = _membership("yes", criterion), _membership("none", criterion)
        return (yes if yes is none else Verdict.unknown), answer
    return _membership(answer, criterion), answer


def _territory(criterion: Criterion, profile: Profile) -> tuple[Verdict, Answer]:
    """A metropolitan company is in no overseas territory; overseas without one: unknown."""
    if profile.home_region is not None and profile.home_region != OVERSEAS:
        return _membership("", criterion), profile.home_region
    return _membership(profile.territory, criterion), profile.territory


def _large_contracts(profile: Profile) -> str | None:
    return None if profile.large_contracts is None else (
        "yes" if profile.large_contracts else "no")


EVALUATORS: dict[CriterionField, Evaluator] = {
    CriterionField.headcount: _band_of(lambda p: p.headcount),
    CriterionField.turnover_eur: _band_of(lambda p: p.turnover),
    CriterionField.company_age_years: _band_of(lambda p: p.company_age),
    CriterionField.vie_count: _band_of(_vie_count),
    CriterionField.export_share_pct: _band_of(lambda p: None),  # not asked: always to confirm
    CriterionField.budget_eur: _budget,
    CriterionField.home_region: _id_of(lambda p: p.home_region),
    CriterionField.sector: _id_of(lambda p: p.sector),
    CriterionField.stage: _id_of(lambda p: p.stage),
    CriterionField.country: _id_of(lambda p: p.country),
    CriterionField.world_region: _id_of(lambda p: p.world_region),
    CriterionField.territory: _territory,
    CriterionField.large_contracts: _id_of(_large_contracts),
    CriterionField.vie_plan: _vie_plan,
}
"""How each criterion field is judged; every CriterionField has exactly one evaluator."""


def judge_criterion(criterion: Criterion, profile: Profile) -> CriterionResult:
    verdict, answer = EVALUATORS[criterion.field](criterion, profile)
    return CriterionResult(criterion, verdict, answer)


# --- a scheme's eligibility -------------------------------------------------------------------


def open_conditions(aid: Aid) -> tuple[Condition, ...]:
    """The conditions that could exclude the company, the deciding ones first."""
    could = [c for c in aid.conditions if c.kind is ConditionKind.exclusion]
    return tuple(sorted(could, key=lambda c: not c.decides))


def judge(aid: Aid, profile: Profile, today: dt.date) -> AidVerdict:
    """The scheme's verdict for this profile (see `judgement`)."""
    return AidVerdict(aid, judgement(aid, profile, today))


def judgement(aid: Aid, profile: Profile, today: dt.date) -> Judgement:
    """Closed and proposed schemes are never eligible; dates past their end close a scheme; a
    failing criterion excludes; unsourced schemes are not offered; selections are on application;
    a condition that could exclude keeps the scheme to confirm."""
    results = tuple(judge_criterion(c, profile) for c in aid.criteria)
    if aid.status is AidStatus.closed:
        return Judgement(Eligibility.closed, results, None)
    if aid.status is AidStatus.proposal:
        return Judgement(Eligibility.proposal, results, None)
    if aid.valid_to and aid.valid_to < today:
        return Judgement(Eligibility.closed, results, None, reason="expired")
    failed = next((r for r in results if r.verdict is Verdict.failed), None)
    if failed:
        return Judgement(Eligibility.not_eligible, results, failed)
    unknown = next((r for r in results if r.verdict is Verdict.unknown), None)
    conditions = open_conditions(aid)
    if aid.unsourced:
        return Judgement(Eligibility.unverified, results, unknown, None, conditions)
    if aid.selection:
        return Judgement(Eligibility.on_application, results, unknown, None, conditions)
    if aid.valid_from and aid.valid_from > today:
        return Judgement(Eligibility.to_check, results, unknown, "not_open_yet", conditions)
    if unknown or conditions:
        return Judgement(Eligibility.to_check, results, unknown, None, conditions)
    return Judgement(Eligibility.eligible, results, None)


def judge_many(aids: Iterable[Aid], profile: Profile, today: dt.date,
               rule_of: Mapping[str, Hashable]) -> list[AidVerdict]:
    """`judge` for each scheme; schemes with the same rule set (`rule_of`: scheme id -> rule-set
    key, see snapshot.rule_signature) share one judgement, their open conditions included, so the
    cost follows the number of distinct rule sets."""
    memo: dict[Hashable, Judgement] = {}
    out: list[AidVerdict] = []
    append, known = out.append, rule_of.get
    for aid in aids:
        key = known(aid.id)
        if key is None:
            key = rule_signature(aid)
        seen = memo.get(key)
        if seen is None:
            seen = memo[key] = judgement(aid, profile, today)
        append(AidVerdict(aid, seen))
    return out
