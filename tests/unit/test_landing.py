"""Landing from the right place, and "who to call" links to the organisation's own site.

Over the shipped knowledge base and over small bases built from it (`with_landing`)."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import replace
from typing import Any

import pytest

from bot.advice.engine import advise
from bot.advice.landing import KIND_WEIGHT, OFFICIAL_KINDS, recommend_landing
from bot.dialog.profile import Profile
from bot.kb.check import review_raw
from bot.kb.links import is_not_own_site
from bot.kb.loader import REGISTRY
from bot.kb.models import Audience, Landing, LandingKind, Source, Text
from bot.kb.snapshot import KnowledgeBase
from bot.render.templates import Renderer
from tests.conftest import TODAY
from tests.unit.test_templates import plan_messages

BASE = {"sector": "saas", "headcount": "h10_49", "turnover": "t1_10m", "stage": "first_steps",
        "vie": "yes", "vie_count": "1", "budget": "b50_150k", "home_region": "bretagne"}
LOCAL_ONLY = {"nasscom-10000-startups", "ctic-dakar", "sihub-hcmc", "cubo-itau-sao-paulo"}


def answers(kb: KnowledgeBase, country: str, city: str | None = None,
            **more: str) -> dict[str, str]:
    return {**BASE, "target_region": kb.countries[country].world_region,
            "target_country": country, "target_city": city or "", **more}


def landing_ids(kb: KnowledgeBase, country: str, city: str | None = None,
                **more: str) -> list[str]:
    profile = Profile.from_answers(answers(kb, country, city, **more))
    return [la.record.id for la in recommend_landing(profile, kb)]


def record(rid: str, kind: LandingKind, country: str, city: str | None,
           **fields: Any) -> Landing:
    return Landing(id=rid, name=rid.title(), kind=kind, country=country, city=city,
                   offers=Text(fr="Offre.", en="Offer."), french_network=True,
                   sources=[Source(url=f"https://example.org/{rid}",  # type: ignore[arg-type]
                                   verified=dt.date(2026, 11, 1))], **fields)


def with_landing(kb: KnowledgeBase, *records: Landing, keep: str | None = None) -> KnowledgeBase:
    """The shipped base with its landing records of country `keep` (none if None) and these."""
    kept = {k: r for k, r in kb.landing.items() if keep and r.country == keep}
    return replace(kb, landing={**kept, **{r.id: r for r in records}})


def every_target(kb: KnowledgeBase) -> list[tuple[str, str | None]]:
    return [(c, None) for c in kb.countries] + [(t.country, t.id) for t in kb.cities.values()]


# --- a French region's own office abroad -------------------------------------------------------


def test_a_regions_own_office_goes_first_to_its_companies_only(kb: KnowledgeBase) -> None:
    house = kb.landing["maison-occitanie-new-york"]
    assert house.home_regions == ["occitanie"]
    for city in ("new-york", "boston", None):
        assert landing_ids(kb, "us", city, home_region="occitanie")[0] == house.id
        for other in ("ile-de-france", "bretagne", "unknown"):
            assert house.id not in landing_ids(kb, "us", city, home_region=other)


def test_a_built_regional_office_only_for_its_region(kb: KnowledgeBase) -> None:
    office = record("maison-bretagne-tokyo", LandingKind.network, "jp", "tokyo",
                    home_regions=["bretagne"], audience=Audience.foreign)
    built = with_landing(kb, office, keep="jp")
    assert landing_ids(built, "jp", "tokyo", home_region="bretagne")[0] == office.id
    assert office.id not in landing_ids(built, "jp", "tokyo", home_region="normandie")
    assert landing_ids(built, "jp", "tokyo", home_region="normandie") == landing_ids(
        kb, "jp", "tokyo", home_region="normandie")


# --- other countries ---------------------------------------------------------------------------


def test_the_shipped_base_offers_only_offices_in_the_target_country(kb: KnowledgeBase) -> None:
    for country, city in every_target(kb):
        for la in recommend_landing(Profile.from_answers(answers(kb, country, city)), kb):
            assert la.record.country == country or country in la.record.covers, (country, la)


def test_another_countrys_office_only_when_it_covers_the_target(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    hk_desk = record("china-desk-hk", LandingKind.chamber, "hk", "hong-kong", covers=["cn"])
    not_covering = record("chamber-hk", LandingKind.chamber, "hk", "hong-kong")
    built = with_landing(kb, hk_desk, not_covering, keep="cn")
    profile = Profile.from_answers(answers(built, "cn", "beijing"))
    levels = [la.level for la in recommend_landing(profile, built)]
    assert levels and "covers" not in levels  # China's own options fill the list first
    alone = with_landing(kb, hk_desk, not_covering)
    advice = advise(profile, alone, TODAY)
    assert [(la.record.id, la.level) for la in advice.landing] == [("china-desk-hk", "covers")]
    assert "chamber-hk" not in {la.record.id for la in advise(
        Profile.from_answers(answers(alone, "jp", "tokyo")), alone, TODAY).landing}
    text = {loc: "\n".join(plan_messages(alone, renderer, loc, answers(alone, "cn", "beijing")))
            for loc in ("fr", "en")}
    assert "couvre Chine depuis Hong Kong" in text["fr"]
    assert "covers China from Hong Kong" in text["en"]


# --- programmes for local founders -------------------------------------------------------------


def test_local_programmes_are_never_offered(kb: KnowledgeBase) -> None:
    assert {r.id for r in kb.landing.values() if r.audience is Audience.local} == LOCAL_ONLY
    for country, city in every_target(kb):
        assert not LOCAL_ONLY & set(landing_ids(kb, country, city)), (country, city)


def test_a_local_programme_that_accepts_foreign_companies_stays(kb: KnowledgeBase) -> None:
    ctic = kb.landing["ctic-dakar"]
    accepting = ctic.model_copy(update={"audience": Audience.any})
    assert ctic.id not in landing_ids(kb, "sn", "dakar")
    assert ctic.id in landing_ids(with_landing(kb, accepting, keep="sn"), "sn", "dakar")


# --- the ranking -------------------------------------------------------------------------------


def test_business_france_and_the_chamber_come_before_french_tech(kb: KnowledgeBase) -> None:
    """At the same level: the target city with what serves the whole country, then the other
    cities (an office elsewhere in the country does not pass the city's own options)."""
    checked = 0
    for country, city in every_target(kb):
        ranked = [kb.landing[i] for i in landing_ids(kb, country, city)]
        for level in (0, 1):
            kinds = [r.kind for r in ranked
                     if (r.city is None or not city or r.city == city) == (level == 0)]
            officials = [i for i, k in enumerate(kinds) if k in OFFICIAL_KINDS]
            if officials and LandingKind.french_tech in kinds:
                checked += 1
                assert max(officials) < kinds.index(LandingKind.french_tech), (country, city)
    assert checked >= 10
    # San Francisco, Toronto, Munich: the country's French offices lead.
    assert kb.landing[landing_ids(kb, "us", "san-francisco")[0]].kind in OFFICIAL_KINDS
    assert kb.landing[landing_ids(kb, "ca", "toronto")[0]].kind in OFFICIAL_KINDS
    assert landing_ids(kb, "de", "munich")[0] == "cci-france-allemagne"  # serves all Germany


def test_the_target_city_before_the_rest_of_the_country(kb: KnowledgeBase) -> None:
    ids = landing_ids(kb, "us", "boston")
    cities = [kb.landing[i].city for i in ids]
    assert cities[0] == "boston" and cities == sorted(cities, key=lambda c: c != "boston")


def test_sector_fit_changes_the_order(kb: KnowledgeBase) -> None:
    general = record("general-accelerator", LandingKind.accelerator, "jp", "tokyo")
    health = record("health-accelerator", LandingKind.accelerator, "jp", "tokyo",
                    sectors=["healthtech"])
    built = with_landing(kb, general, health)
    assert landing_ids(built, "jp", "tokyo", sector="healthtech") == [health.id, general.id]
    assert landing_ids(built, "jp", "tokyo", sector="saas") == [general.id, health.id]


def test_stage_fit_changes_the_order(kb: KnowledgeBase) -> None:
    newcomers = record("first-steps-programme", LandingKind.incubator, "jp", "tokyo",
                       stages=["first_steps"])
    settled = record("established-programme", LandingKind.incubator, "jp", "tokyo",
                     stages=["established"])
    built = with_landing(kb, newcomers, settled)
    assert landing_ids(built, "jp", "tokyo", stage="first_steps")[0] == newcomers.id
    assert landing_ids(built, "jp", "tokyo", stage="established")[0] == settled.id


def test_every_kind_has_a_weight() -> None:
    assert set(KIND_WEIGHT) == set(LandingKind)


# --- who to call -------------------------------------------------------------------------------


HREF = re.compile(r'href="([^"]+)"')


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_contact_and_next_step_links_are_never_press(kb: KnowledgeBase, renderer: Renderer,
                                                     locale: str) -> None:
    """Every link of the first screen (who to call) and of "Where to land", for a grid of
    profiles, except the sources (a press article may prove a fact)."""
    links = 0
    sources = {str(s.url) for table in (kb.landing, kb.aid, kb.french_regions)
               for record in table.values() for s in record.sources}
    for country, city in every_target(kb):
        for home in ("occitanie", "auvergne-rhone-alpes", "outre-mer"):
            summary, landing, *_ = plan_messages(
                kb, renderer, locale, answers(kb, country, city, home_region=home))
            for url in map(html.unescape, HREF.findall(summary + landing)):
                if url in sources and url not in {
                        str(r.url) for r in kb.landing.values() if r.url}:
                    continue
                links += 1
                assert not is_not_own_site(kb.source_policy, url), (country, city, url)
    assert links > 100


def test_no_known_site_means_a_name_without_link_and_team_france_export(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    """An option with no site of its own in the base is named, not linked, and the next step
    goes through Team France Export (the first city whose first option has none)."""
    place = next((c.country, c.id) for c in kb.cities.values()
                 if (first := advise(Profile.from_answers(answers(kb, c.country, c.id)), kb,
                                     TODAY).landing)
                 and first[0].record.url is None and first[0].record.contact is None)
    name = advise(Profile.from_answers(answers(kb, *place)), kb, TODAY).landing[0].record.name
    advice = advise(Profile.from_answers(answers(kb, *place)), kb, TODAY)
    step = next(s for s in advice.next_steps if s.name == name)
    assert step.key == "landing_via_tfe" and step.url is None
    text = "\n".join(plan_messages(kb, renderer, "fr", answers(kb, *place), full=True))
    summary = plan_messages(kb, renderer, "fr", answers(kb, *place))[0]
    # the first screen's action: named, not linked, through Team France Export
    assert f"<b>{html.escape(name)}</b>" in summary
    assert "site officiel non connu, Team France Export vous met en relation" in summary
    assert "Site officiel non connu" in text
    with_site = advise(Profile.from_answers(answers(kb, "in", "bangalore")), kb, TODAY)
    step = next(s for s in with_site.next_steps if s.key.startswith("landing"))
    assert step.key == "landing" and step.url == str(kb.landing["ifcci-bangalore"].url)


def test_the_national_homepage_is_not_shown_as_a_regional_contact(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    steps = advise(Profile.from_answers(answers(kb, "us", "boston", home_region="grand-est")),
                   kb, TODAY).next_steps
    assert steps[0].key == "national_tfe" and steps[0].region == "grand-est"
    text = {loc: plan_messages(kb, renderer, loc,
                               answers(kb, "us", "boston", home_region="grand-est"))[0]
            for loc in ("fr", "en")}  # the summary: its first action
    assert "1. <a href=\"https://www.teamfrance-export.fr/\">Team France Export</a>" in text["fr"]
    assert "demandez l'équipe de votre région" in text["fr"]
    assert "ask for your region's team" in text["en"]
    assert "contact export régional" not in text["fr"]


# --- the kb check rule -------------------------------------------------------------------------


def raw_collections(kb: KnowledgeBase) -> dict[str, Any]:
    """Every collection of the registry, as JSON data."""
    return {c.name: [r.model_dump(mode="json", by_alias=True) for r in getattr(kb, c.name).values()]
            if c.many else getattr(kb, c.name).model_dump(mode="json", by_alias=True)
            for c in REGISTRY}


def test_kb_check_refuses_press_pages_as_contact_links(kb: KnowledgeBase) -> None:
    raw = raw_collections(kb)
    assert review_raw(raw, TODAY)[1].ok
    target = next(r for r in raw["landing"] if r["id"] == "french-tech-san-francisco")
    target["url"] = "https://lemoci.com/?p=69479"  # the press article it used to link to
    region = next(r for r in raw["french_regions"] if r["id"] == "auvergne-rhone-alpes")
    region["tfe_contact"]["url"] = "https://www.teamfrance-export.fr/"
    report = review_raw(raw, TODAY)[1]
    assert not report.ok
    found = {(p.file, p.record, p.field) for p in report.errors}
    assert ("landing.json", "french-tech-san-francisco", "url") in found
    assert ("french_regions.json", "auvergne-rhone-alpes", "tfe_contact.url") in found


def test_kb_check_refuses_unknown_regions_and_covered_countries(kb: KnowledgeBase) -> None:
    raw = raw_collections(kb)
    target = next(r for r in raw["landing"] if r["id"] == "maison-occitanie-new-york")
    target["home_regions"] = ["atlantide"]
    target["covers"] = ["zz"]
    found = {(p.record, p.field) for p in review_raw(raw, TODAY)[1].errors}
    assert {("maison-occitanie-new-york", "home_regions"),
            ("maison-occitanie-new-york", "covers")} <= found
