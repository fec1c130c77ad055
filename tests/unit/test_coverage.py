"""The shipped knowledge base covers what users need, and every record can be reached."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.advice.eligibility import OFFERED
from bot.advice.engine import advise
from bot.advice.steps import next_steps
from bot.dialog.profile import Profile
from bot.kb.models import AidStatus, CriterionField
from bot.kb.snapshot import KnowledgeBase
from tests.conftest import TODAY

HUB_COUNTRIES = {"us", "sg", "ca", "br", "in", "vn", "cn", "hk"}
HUB_PLACES = {"san-francisco", "singapore", "boston", "montreal", "sao-paulo", "bangalore",
              "beijing", "shanghai", "hong-kong"}
METROPOLITAN = {"auvergne-rhone-alpes", "bourgogne-franche-comte", "bretagne",
                "centre-val-de-loire", "corse", "grand-est", "hauts-de-france", "ile-de-france",
                "normandie", "nouvelle-aquitaine", "occitanie", "pays-de-la-loire",
                "provence-alpes-cote-dazur"}
CLOSED_USERS_HEAR_ABOUT = {"cheque-relance-export", "cheque-relance-vie",
                           "assurance-prospection-accompagnement", "credit-impot-prospection"}


def live_landing(kb: KnowledgeBase) -> list:  # type: ignore[type-arg]
    return [r for r in kb.landing.values() if r.status != "closed"]


def test_at_least_40_landing_records_in_20_countries(kb: KnowledgeBase) -> None:
    records = live_landing(kb)
    assert len(records) >= 40
    assert len({r.country for r in records}) >= 20


def test_each_2013_hub_has_two_landing_options(kb: KnowledgeBase) -> None:
    per_city = Counter(r.city for r in live_landing(kb))
    for place in HUB_PLACES:
        assert per_city[place] >= 2, place
    vietnam = [r for r in live_landing(kb) if r.country == "vn"]
    assert len(vietnam) >= 2


def test_vie_specifics_for_25_countries_including_every_hub_country(kb: KnowledgeBase) -> None:
    assert len(kb.vie_countries) >= 25
    assert set(kb.vie_countries) >= HUB_COUNTRIES
    for vie in kb.vie_countries.values():
        assert vie.visa.fr and vie.visa.en
        for allowance in vie.allowances:
            assert allowance.scale_date <= TODAY


def test_vie_general_rules_cover_every_topic(kb: KnowledgeBase) -> None:
    topics = {r.topic for r in kb.vie_rules.values()}
    assert {"eligibility", "duration", "days_abroad", "hosting", "allowance", "costs",
            "regional", "two_volunteers"} <= topics
    days = [r for r in kb.vie_rules.values() if r.topic == "days_abroad"]
    assert any(r.conflict for r in days)  # the sources disagree, and the record says so
    hosting = " ".join(r.text.fr for r in kb.vie_rules.values() if r.topic == "hosting")
    for word in ("portage", "EFE", "partag"):
        assert word in hosting, word


def test_every_metropolitan_region_has_export_aid_and_a_contact(kb: KnowledgeBase) -> None:
    regional: dict[str, list[str]] = {}
    for aid in kb.aid.values():
        for crit in aid.criteria:
            if crit.field is CriterionField.home_region and crit.op == "in":
                for region in crit.value:  # type: ignore[union-attr]
                    regional.setdefault(str(region), []).append(aid.id)
    missing_aid = METROPOLITAN - set(regional)
    # A regional page where one is known, else Team France Export's national site, named as
    # such (never the national homepage labelled as the region's contact).
    missing_contact = {r for r in METROPOLITAN
                       if not (steps := next_steps(Profile.from_answers({"home_region": r}),
                                                   kb, (), []))
                       or steps[0].key not in ("regional_tfe", "national_tfe")
                       or not steps[0].url}
    assert not missing_aid, f"regions without regional aid: {sorted(missing_aid)}"
    assert not missing_contact, f"regions without a TFE contact: {sorted(missing_contact)}"


def test_main_national_schemes_and_the_closed_ones_users_hear_about(kb: KnowledgeBase) -> None:
    assert {"assurance-prospection", "pret-croissance-international", "team-france-export",
            "een"} <= set(kb.aid)
    assert all(kb.aid[a].status is AidStatus.closed for a in CLOSED_USERS_HEAR_ABOUT)
    assert any(a.status is AidStatus.proposal for a in kb.aid.values())
    for aid in kb.aid.values():
        if aid.status is AidStatus.closed and aid.valid_to is not None:
            assert aid.valid_to < TODAY, aid.id  # an end date, when sourced, is in the past


def test_vocabulary(kb: KnowledgeBase) -> None:
    assert len(kb.sectors) >= 10
    for sector in kb.sectors.values():
        assert sector.synonyms and sector.name.fr and sector.name.en
    for country in kb.countries.values():
        assert country.aliases and country.world_region in kb.world_regions


# --- every record can be reached by some profile through the dialog ---------------------------


def unknown_profile(**answers: str) -> Profile:
    base = {"sector": "unknown", "headcount": "unknown", "turnover": "unknown",
            "home_region": "unknown", "stage": "unknown", "vie": "maybe", "budget": "unknown"}
    return Profile.from_answers({**base, **answers})


def test_every_active_aid_is_offered_to_some_profile(kb: KnowledgeBase) -> None:
    """A profile whose needs cover every scheme's (a VIE maybe, large contracts, a dollar market)
    gets each active, sourced scheme offered for its project; an unsourced one is only named."""
    for aid in kb.aid.values():
        if aid.status is not AidStatus.active or (aid.valid_to and aid.valid_to < TODAY):
            continue
        region = next((c.value[0] for c in aid.criteria  # type: ignore[index]
                       if c.field is CriterionField.home_region and c.op == "in"), "unknown")
        advice = advise(unknown_profile(home_region=str(region), target_region="north_america",
                                        target_country="us", stage="exporting",
                                        large_contracts="yes"), kb, TODAY)
        if aid.unsourced:
            assert aid.id in {v.aid.id for v in advice.aid_unverified}, aid.id
            continue
        offered = {v.aid.id: v.eligibility for v in advice.aid}
        assert offered.get(aid.id) in OFFERED, aid.id


def test_every_vie_country_and_french_region_is_offered(kb: KnowledgeBase) -> None:
    for vie in kb.vie_countries.values():
        country = kb.countries[vie.country]
        assert country in kb.countries_in(country.world_region)
    assert len(kb.french_regions) >= 14


@pytest.mark.parametrize("use_city", [True, False])
def test_users_across_covered_destinations_get_a_full_plan(kb: KnowledgeBase,
                                                           use_city: bool) -> None:
    """A landing option in the country, its VIE rules, three aid verdicts with reasons."""
    for country_id in sorted({r.country for r in live_landing(kb)}):
        country = kb.countries[country_id]
        cities = kb.cities_in(country_id)
        answers = {"sector": "saas", "target_region": country.world_region,
                   "target_country": country_id, "headcount": "h10_49",
                   "turnover": "t1_10m", "home_region": "bretagne", "stage": "first_steps",
                   "vie": "yes", "vie_count": "2", "budget": "b50_150k"}
        if use_city and cities:
            answers["target_city"] = cities[0].id
        advice = advise(Profile.from_answers(answers), kb, TODAY)
        # At least one: programmes for local founders and other countries' offices are not
        # landing options, so a country with a single French office shows just that one.
        assert len(advice.landing) >= 1, country_id
        assert any(la.record.country == country_id for la in advice.landing), country_id
        assert advice.vie.general and advice.vie.country is not None, country_id
        judged = [*advice.aid, *advice.aid_not_eligible]
        assert len(judged) >= 3, country_id
        assert not any(v.aid.status is not AidStatus.active for v in advice.aid)
