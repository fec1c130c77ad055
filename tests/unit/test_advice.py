"""The advice engine on the shipped knowledge base: landing, VIE, aid, budget, next steps."""

from __future__ import annotations

from dataclasses import replace

from bot.advice.eligibility import Eligibility, Verdict
from bot.advice.engine import advise
from bot.advice.vie import whole_eur
from bot.dialog.profile import Profile
from bot.kb.models import AidStatus
from bot.kb.snapshot import KnowledgeBase
from tests.conftest import TODAY

SF_SAAS = {"sector": "saas", "target_region": "north_america", "target_country": "us",
           "target_city": "san-francisco", "headcount": "h10_49", "turnover": "t1_10m",
           "home_region": "auvergne-rhone-alpes", "stage": "first_steps", "vie": "yes",
           "vie_count": "2", "budget": "b50_150k"}


def plan(kb: KnowledgeBase, **answers: str):  # type: ignore[no-untyped-def]
    return advise(Profile.from_answers({**SF_SAAS, **answers}), kb, TODAY)


def test_landing_city_first_then_country(kb: KnowledgeBase) -> None:
    advice = plan(kb)
    levels = [la.level for la in advice.landing]
    assert 1 <= len(advice.landing) <= 3 and levels == sorted(
        levels, key=["city", "country", "covers"].index)
    assert advice.landing[0].record.city == "san-francisco"
    assert all(la.reasons for la in advice.landing)


def test_no_office_of_another_country_when_the_country_has_none(kb: KnowledgeBase) -> None:
    """The blind "same world region" fallback is gone: nothing rather than the wrong country."""
    without_japan = replace(kb, landing={k: r for k, r in kb.landing.items() if r.country != "jp"})
    advice = advise(Profile.from_answers({**SF_SAAS, "target_region": "asia",
                                          "target_country": "jp", "target_city": ""}),
                    without_japan, TODAY)
    assert advice.landing == ()
    assert advice.next_steps and advice.next_steps[0].key in ("regional_tfe", "national_tfe")


def test_closed_landing_records_are_never_recommended(kb: KnowledgeBase) -> None:
    for country in kb.countries:
        advice = plan(kb, target_country=country, target_city="",
                      target_region=kb.countries[country].world_region)
        assert all(la.record.status != "closed" for la in advice.landing)


def test_vie_country_specifics_and_the_dated_allowance(kb: KnowledgeBase) -> None:
    vie = plan(kb).vie
    assert vie.country is not None and vie.country.country == "us"
    assert vie.allowance is not None and vie.allowance.city == "san-francisco"
    assert vie.hosting  # first steps: no structure abroad, host options shown
    assert plan(kb, stage="established").vie.hosting == ()


def test_budget_is_allowance_times_months_plus_fees(kb: KnowledgeBase) -> None:
    budget = plan(kb).budget
    vie = kb.vie_countries["us"]
    allowance = next(a for a in vie.allowances if a.city == "san-francisco")
    # Each input rounded to the euro once, the arithmetic done on the rounded figures.
    monthly = whole_eur(allowance.geographic_eur) + whole_eur(
        allowance.common_eur or kb.vie_costs.common_eur)
    months = min(12, vie.max_duration_months)
    fees = kb.vie_costs
    assert budget.vie is not None and budget.vie.monthly.total == monthly
    assert budget.vie.cost.low == 2 * months * (monthly + whole_eur(fees.management_fee_eur_min))
    assert budget.vie.cost.high == 2 * months * (monthly + whole_eur(fees.management_fee_eur_max))
    assert budget.fit in ("within", "partly", "above", "below")


def test_no_vie_planned_costs_nothing(kb: KnowledgeBase) -> None:
    budget = plan(kb, vie="none").budget
    assert budget.vie_count == 0 and budget.vie is None and budget.scenario is None
    assert budget.total is None  # nothing priced in San Francisco: no "0 € to 0 €" total


def test_closed_schemes_are_never_offered(kb: KnowledgeBase) -> None:
    advice = plan(kb)
    offered = {v.aid.id for v in advice.aid}
    closed = {a.id for a in kb.aid.values() if a.status is not AidStatus.active}
    assert not offered & closed
    assert {v.aid.id for v in advice.aid_closed} == {
        a.id for a in kb.aid.values() if a.status is AidStatus.closed}
    assert {v.aid.id for v in advice.aid_proposals} == {
        a.id for a in kb.aid.values() if a.status is AidStatus.proposal}


def test_turnover_decides_assurance_prospection(kb: KnowledgeBase) -> None:
    small = {v.aid.id: v for v in plan(kb).aid}
    scheme = small["assurance-prospection"]
    # The turnover passes, but its conditions (French content, products already sold) remain:
    # to confirm, with those shown first, never ✅.
    assert scheme.eligibility is Eligibility.to_check and scheme.to_confirm
    assert next(r for r in scheme.results
                if r.criterion.field.value == "turnover_eur").verdict is Verdict.passed
    big = plan(kb, turnover="t500m")
    refused = {v.aid.id: v for v in big.aid_not_eligible}
    deciding = refused["assurance-prospection"].deciding
    assert deciding is not None and deciding.criterion.field.value == "turnover_eur"
    unknown = {v.aid.id: v for v in plan(kb, turnover="unknown").aid}
    assert unknown["assurance-prospection"].eligibility is Eligibility.to_check


def test_regional_schemes_follow_the_home_region(kb: KnowledgeBase) -> None:
    regional = [a for a in kb.aid.values() if a.scope == "regional"
                and a.status is AidStatus.active]
    assert regional
    scheme = regional[0]
    region = next(c.value[0] for c in scheme.criteria if c.field.value == "home_region")
    inside = plan(kb, home_region=region)
    assert scheme.id in {v.aid.id for v in inside.aid}
    elsewhere = plan(kb, home_region=next(r for r in kb.french_regions if r != region))
    assert scheme.id not in {v.aid.id for v in elsewhere.aid + elsewhere.aid_not_eligible}
    assert elsewhere.aid_other_regions >= 1
    unknown = plan(kb, home_region="unknown")
    assert scheme.id in {v.aid.id for v in unknown.aid
                         if v.eligibility is Eligibility.to_check}


def test_next_steps_start_with_the_regional_contact_when_known(kb: KnowledgeBase) -> None:
    with_contact = next(r for r in kb.french_regions.values() if r.tfe_contact)
    steps = plan(kb, home_region=with_contact.id).next_steps
    assert steps[0].key == "regional_tfe"
    assert steps[0].url == str(with_contact.tfe_contact.url)  # type: ignore[union-attr]
    without = next(r for r in kb.french_regions.values() if not r.tfe_contact)
    assert plan(kb, home_region=without.id).next_steps[0].key == "national_tfe"


def test_only_funding_schemes_offset_the_budget(kb: KnowledgeBase) -> None:
    offsets = plan(kb).budget.offsets
    assert offsets and all(v.aid.kind in ("insurance", "loan", "subsidy", "tax_credit")
                           for v in offsets)
    assert all(v.eligibility is not Eligibility.not_eligible for v in offsets)
