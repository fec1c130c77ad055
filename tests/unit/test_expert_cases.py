"""Expert cases over the SHIPPED knowledge base: a profile, and the verdict an export advisor
expects for named schemes, each with its reason. A change to aid.json or to the verdict rules
that moves one of these must be a deliberate one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.advice.engine import Advice, advise
from bot.dialog.profile import Profile
from bot.kb.snapshot import KnowledgeBase
from tests.conftest import TODAY

BASE = {"sector": "saas", "target_region": "north_america", "target_country": "us",
        "headcount": "h10_49", "turnover": "t1_10m", "home_region": "ile-de-france",
        "stage": "first_steps", "vie": "yes", "vie_count": "1", "budget": "b50_150k"}

# Where a scheme lands in the plan: the lead (for this project), the "not eligible" lines, the
# one line of other schemes, or the "ask your region" line.
LEAD, REFUSED, OTHER, ASK = "lead", "refused", "other", "ask"


@dataclass(frozen=True)
class Expect:
    scheme: str
    verdict: str  # an Eligibility value
    where: str
    deciding: str | None = None  # the criterion field that decides (fails, or is unknown)
    answer: object = None  # the user's answer shown beside a failing criterion
    why: str = ""


CASES: dict[str, tuple[dict[str, str], list[Expect]]] = {
    "5-person SaaS in Île-de-France, budget under 20 k€": (
        {"headcount": "h0_9", "turnover": "t0_1m", "vie": "none", "budget": "b0_20k",
         "budget_amount": "15000"},
        [Expect("assurance-prospection", "to_check", LEAD, "budget_eur", None,
                "its 30 000 € minimum is for the whole prospection period of 2 or 3 years: "
                "15 000 € in the first year may reach it"),
         Expect("french-tech-2030", "on_application", LEAD, None, None,
                "a selected cohort: never ✅"),
         Expect("credit-export", "not_eligible", OTHER, "large_contracts", "no",
                "contracts of several million euros, implied out by a turnover under 1 M€"),
         Expect("cautions-prefinancement", "to_check", OTHER, None, None,
                "a big-contract instrument: not for this project"),
         Expect("team-france-export", "eligible", LEAD, None, None,
                "the public one-stop shop: no criterion, no condition")]),
    "5-person SaaS, 8 000 € a year for export": (
        {"headcount": "h0_9", "turnover": "t0_1m", "vie": "none", "budget": "b0_20k",
         "budget_amount": "8000"},
        [Expect("assurance-prospection", "not_eligible", REFUSED, "budget_eur", 8000.0,
                "three years at the typed 8 000 € stay under its 30 000 € minimum")]),
    "La Réunion company with a VIE": (
        {"home_region": "outre-mer", "territory": "reunion"},
        [Expect("reunion-primexport", "to_check", LEAD, None, None,
                "territory passes; the de minimis ceiling remains to confirm"),
         Expect("reunion-vie", "unverified", ASK, None, None,
                "the rate after 31 December 2021 is not in the source: ask the Region"),
         Expect("martinique-dev-international", "not_eligible", REFUSED, "territory",
                "reunion", "reserved to Martinique")]),
    "Martinique company with a VIE": (
        {"home_region": "outre-mer", "territory": "martinique"},
        [Expect("reunion-primexport", "not_eligible", REFUSED, "territory", "martinique",
                "reserved to La Réunion, not to other overseas territories"),
         Expect("reunion-vie", "not_eligible", REFUSED, "territory", "martinique",
                "reserved to La Réunion (a failing criterion comes before 'unverified')"),
         Expect("martinique-dev-international", "to_check", LEAD, "company_age_years", None,
                "territory passes; age and export share are not known")]),
    "overseas company that does not know its territory": (
        {"home_region": "outre-mer", "territory": "unknown"},
        [Expect("reunion-primexport", "to_check", LEAD, "territory", None,
                "'I don't know' never excludes: to confirm"),
         Expect("martinique-dev-international", "to_check", LEAD, "territory", None,
                "'I don't know' never excludes: to confirm")]),
    "company under 1 year old": (
        {"company_age": "a0_1"},
        [Expect("pret-croissance-international", "not_eligible", REFUSED, "company_age_years",
                None, "for companies of more than 3 years"),
         Expect("assurance-prospection", "not_eligible", REFUSED, "company_age_years", None,
                "needs one 12-month balance sheet")]),
    "company 3 years old or more, budget 50-150 k€": (
        {"company_age": "a3"},
        [Expect("pret-croissance-international", "to_check", LEAD, None, None,
                "age passes; 'independent and sound SME or mid-cap' remains"),
         Expect("assurance-prospection", "to_check", LEAD, None, None,
                "criteria pass; French content and products on the market remain")]),
    "Auvergne-Rhône-Alpes company with no VIE planned": (
        {"home_region": "auvergne-rhone-alpes", "vie": "none"},
        [Expect("aura-vie", "not_eligible", OTHER, "vie_plan", "none",
                "a VIE-only aid, and no VIE is planned")]),
    "Auvergne-Rhône-Alpes company that may take a VIE": (
        {"home_region": "auvergne-rhone-alpes", "vie": "maybe"},
        [Expect("aura-vie", "to_check", LEAD, "vie_plan", None,
                "'maybe' decides nothing: to confirm")]),
    "exporter signing large contracts, dollar market": (
        {"turnover": "t10_50m", "headcount": "h50_249", "stage": "exporting",
         "large_contracts": "yes"},
        [Expect("credit-export", "to_check", LEAD, None, None,
                "large contracts: yes; the export contract itself remains to confirm"),
         Expect("cautions-prefinancement", "to_check", LEAD, None, None,
                "serves large contracts; a bond or pre-financing must be needed"),
         Expect("assurance-change", "to_check", LEAD, None, None,
                "USD market: currency risk; French content remains to confirm")]),
    "Hauts-de-France company with a VIE": (
        {"home_region": "hauts-de-france"},
        [Expect("hdf-vie-support", "unverified", ASK, None, None,
                "name, amount and conditions not found: not offered as an aid")]),
}


def place(advice: Advice, scheme: str) -> tuple[str, object]:
    for where, verdicts in ((LEAD, advice.aid), (REFUSED, advice.aid_not_eligible),
                            (OTHER, advice.aid_other), (ASK, advice.aid_unverified)):
        for v in verdicts:
            if v.aid.id == scheme:
                return where, v
    raise AssertionError(f"{scheme} is not in the plan")


@pytest.mark.parametrize("case", list(CASES))
def test_expert_case(kb: KnowledgeBase, case: str) -> None:
    answers, expected = CASES[case]
    advice = advise(Profile.from_answers({**BASE, **answers}), kb, TODAY)
    for e in expected:
        where, v = place(advice, e.scheme)
        assert (v.eligibility.value, where) == (e.verdict, e.where), (e.scheme, e.why)  # type: ignore[attr-defined]
        if e.deciding is not None:
            deciding = v.deciding  # type: ignore[attr-defined]
            assert deciding is not None and deciding.criterion.field.value == e.deciding, e
            if e.verdict == "not_eligible" and e.answer is not None:
                assert deciding.answer == e.answer, e


def test_offsets_never_count_an_unverified_or_excluded_scheme(kb: KnowledgeBase) -> None:
    for answers, _ in CASES.values():
        advice = advise(Profile.from_answers({**BASE, **answers}), kb, TODAY)
        assert all(v.eligibility.value in ("eligible", "to_check", "on_application")
                   for v in advice.budget.offsets)


def test_big_contract_instruments_lead_only_for_large_contracts(kb: KnowledgeBase) -> None:
    big = {"credit-export", "cautions-prefinancement", "assurance-credit"}
    for large in ("no", "unknown", "yes"):
        advice = advise(Profile.from_answers({**BASE, "large_contracts": large}), kb, TODAY)
        lead = {v.aid.id for v in advice.aid}
        assert (big <= lead) if large == "yes" else not (big & lead), large


# --- the needs a profile has, and the questions that can still change its plan -------------------


@pytest.mark.parametrize(("answers", "has", "lacks"), [
    ({"target_country": "ca", "stage": "exporting"}, {"currency_risk", "vie"}, set()),
    ({"target_country": "de", "stage": "exporting"}, set(), {"currency_risk"}),
    ({"target_country": "ca", "stage": "first_steps"}, set(), {"currency_risk"}),
    ({"large_contracts": "yes"}, {"large_contracts", "contract_risk", "currency_risk"}, set()),
    ({"large_contracts": "unknown"}, set(), {"large_contracts", "contract_risk"}),
    ({"vie": "none", "budget": "b20_50k"}, set(), {"vie", "loan"}),
    ({"vie": "maybe", "budget": "unknown"}, {"vie", "loan"}, set()),
    ({"stage": "established"}, {"prospection"}, {"advice", "office_abroad"}),
])
def test_profile_needs(kb: KnowledgeBase, answers: dict[str, str], has: set[str],
                       lacks: set[str]) -> None:
    from bot.advice.needs import profile_needs

    needs = {n.value for n in profile_needs(Profile.from_answers({**BASE, **answers}), kb)}
    assert has <= needs and not (lacks & needs), needs


def test_deciding_fields_follow_the_schemes_that_could_still_apply(kb: KnowledgeBase) -> None:
    from bot.advice.relevance import deciding_fields
    from bot.kb.models import CriterionField as F

    def fields(**answers: str) -> frozenset[F]:
        return deciding_fields(Profile.from_answers({**BASE, **answers}), kb)

    # Unknown large contracts at 1-10 M€: the answer would bring export credit, so it is asked.
    assert F.large_contracts in fields(stage="exporting")
    assert F.large_contracts not in fields(stage="exporting", large_contracts="no")
    assert F.large_contracts not in fields(stage="exporting", turnover="t0_1m")  # implied "no"
    assert F.large_contracts not in fields()  # first steps abroad: implied "no"
    # Company age decides Assurance Prospection and the Prêt Croissance International...
    assert F.company_age_years in fields()
    # ...not once it is known, nor for a budget under the minimums and no loan needed.
    assert F.company_age_years not in fields(company_age="a3")
    assert F.company_age_years not in fields(budget="b0_20k", budget_amount="8000")
    # The territory decides the overseas schemes, and only for overseas companies.
    assert F.territory in fields(home_region="outre-mer")
    assert F.territory not in fields(home_region="outre-mer", territory="reunion")
    assert F.territory not in fields()
