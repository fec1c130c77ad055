"""Eligibility per criterion: pass, fail or unknown, with closed and proposed schemes never open."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.advice.eligibility import Eligibility, Verdict, judge, judge_criterion
from bot.dialog.profile import Profile
from bot.kb.models import Aid, Criterion

TODAY = dt.date(2026, 11, 26)
SOURCE = [{"url": "https://example.org/aid", "verified": "2026-01-01"}]


def crit(field: str, op: str, value: Any) -> Criterion:
    return Criterion.model_validate({"field": field, "op": op, "value": value})


def aid(**fields: Any) -> Aid:
    base: dict[str, Any] = {
        "id": "test-aid", "name": {"fr": "Aide", "en": "Aid"}, "provider": "Test",
        "scope": "national", "kind": "subsidy", "status": "active",
        "summary": {"fr": "s", "en": "s"}, "url": "https://example.org", "sources": SOURCE,
    }
    base.update(fields)
    return Aid.model_validate(base)


def profile(**answers: str) -> Profile:
    return Profile.from_answers(answers)


@pytest.mark.parametrize(
    ("criterion", "answers", "verdict"),
    [
        (crit("turnover_eur", "max", 500_000_000), {"turnover": "t1_10m"}, Verdict.passed),
        (crit("turnover_eur", "max", 500_000_000), {"turnover": "t500m"}, Verdict.failed),
        (crit("turnover_eur", "max", 500_000_000), {"turnover": "unknown"}, Verdict.unknown),
        (crit("turnover_eur", "max", 500_000_000), {}, Verdict.unknown),
        # A band straddling the threshold cannot be judged: to check, never a silent no.
        (crit("turnover_eur", "max", 150_000_000), {"turnover": "t50_500m"}, Verdict.unknown),
        (crit("headcount", "max", 249), {"headcount": "h50_249"}, Verdict.passed),
        (crit("headcount", "max", 249), {"headcount": "h250"}, Verdict.failed),
        (crit("headcount", "min", 10), {"headcount": "h0_9"}, Verdict.failed),
        (crit("headcount", "min", 10), {"headcount": "h10_49"}, Verdict.passed),
        (crit("home_region", "in", ["normandie"]), {"home_region": "normandie"}, Verdict.passed),
        (crit("home_region", "in", ["normandie"]), {"home_region": "bretagne"}, Verdict.failed),
        (crit("home_region", "in", ["normandie"]), {"home_region": "unknown"}, Verdict.unknown),
        (crit("sector", "not_in", ["games"]), {"sector": "saas"}, Verdict.passed),
        (crit("sector", "not_in", ["games"]), {"sector": "games"}, Verdict.failed),
        (crit("company_age_years", "min", 3), {"headcount": "h10_49"}, Verdict.unknown),
        (crit("vie_count", "min", 2), {"vie": "yes", "vie_count": "2"}, Verdict.passed),
        (crit("vie_count", "min", 2), {"vie": "yes", "vie_count": "1"}, Verdict.failed),
        (crit("vie_count", "min", 2), {"vie": "maybe"}, Verdict.unknown),
    ],
)
def test_criterion_verdicts(criterion: Criterion, answers: dict[str, str],
                            verdict: Verdict) -> None:
    assert judge_criterion(criterion, profile(**answers)).verdict is verdict


def test_all_pass_is_eligible() -> None:
    v = judge(aid(criteria=[crit("turnover_eur", "max", 5e8)]), profile(turnover="t0_1m"), TODAY)
    assert v.eligibility is Eligibility.eligible and v.deciding is None


def test_one_fail_decides_not_eligible_with_the_failing_criterion() -> None:
    criteria = [crit("turnover_eur", "max", 5e8), crit("home_region", "in", ["corse"])]
    v = judge(aid(criteria=criteria), profile(turnover="t0_1m", home_region="bretagne"), TODAY)
    assert v.eligibility is Eligibility.not_eligible
    assert v.deciding is not None and v.deciding.criterion.field.value == "home_region"
    assert v.deciding.answer == "bretagne"


def test_unknown_answer_means_to_check() -> None:
    v = judge(aid(criteria=[crit("headcount", "max", 249)]), profile(headcount="unknown"), TODAY)
    assert v.eligibility is Eligibility.to_check


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "closed", "valid_to": "2022-12-15"}, Eligibility.closed),
        ({"status": "proposal"}, Eligibility.proposal),
        # Marked active but past its end date: never offered as available.
        ({"status": "active", "valid_to": "2025-12-31"}, Eligibility.closed),
    ],
)
def test_closed_and_proposed_schemes_are_never_offered(fields: dict[str, Any],
                                                       expected: Eligibility) -> None:
    assert judge(aid(**fields), profile(turnover="t0_1m"), TODAY).eligibility is expected


def test_scheme_not_yet_open_is_to_check() -> None:
    v = judge(aid(valid_from="2027-01-01"), profile(), TODAY)
    assert v.eligibility is Eligibility.to_check and v.reason == "not_open_yet"


@pytest.mark.parametrize("answers", [
    {},
    {"sector": "saas", "headcount": "h10_49", "turnover": "t1_10m", "home_region": "bretagne",
     "target_region": "asia", "target_country": "sg", "stage": "first_steps", "vie": "yes",
     "vie_count": "2"},
    {"headcount": "h250", "turnover": "t500m", "home_region": "occitanie", "stage": "established",
     "vie": "no"},
])
def test_judge_many_gives_exactly_the_verdicts_of_judge(kb: Any, answers: dict[str, str]) -> None:
    from dataclasses import replace

    from bot.advice.eligibility import judge_many
    from bot.kb.models import Text

    profile = Profile.from_answers(answers)
    today = dt.date(2026, 11, 26)
    # Every scheme twice: once as shipped, once as a copy whose criteria carry another note and
    # whose conditions read differently.
    copies = {}
    for a in kb.aid.values():
        criteria = [c.model_copy(update={"note": Text(fr="note *", en="note")})
                    for c in a.criteria]
        conditions = [c.model_copy(update={"fr": c.fr + " *"}) for c in a.conditions]
        copies[a.id + "-x"] = a.model_copy(update={"id": a.id + "-x", "criteria": criteria,
                                                   "conditions": conditions})
    base = replace(kb, aid={**kb.aid, **copies})
    schemes = list(base.aid.values())
    many = judge_many(schemes, profile, today, base.rule_ids)
    assert many == [judge(a, profile, today) for a in schemes]
    for v in many:  # each verdict names its own scheme and shows that scheme's criteria
        assert [r.criterion for r in v.results] == list(v.aid.criteria)
        assert set(v.open_conditions) <= set(v.aid.conditions)
