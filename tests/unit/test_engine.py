"""The dialog engine, without aiogram: typed targets, skips, back, recap edits, stale buttons."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.dialog.engine import DONE, RECAP, Dialog, DialogState
from bot.dialog.profile import Profile
from bot.dialog.specs import SPECS, STEP_CODES
from bot.kb.loader import load_directory
from bot.kb.snapshot import KnowledgeBase
from bot.render.callbacks import CODE_QUESTIONS, CODE_STEPS, QUESTION_CODES
from bot.render.templates import Renderer
from tests.conftest import TODAY
from tests.dialog.test_typed_answers import with_large_contracts


@pytest.fixture
def dialog(kb: KnowledgeBase, renderer: Renderer) -> Dialog:
    return Dialog(kb, renderer.labels)


def at_target(dialog: Dialog) -> DialogState:
    state = dialog.new("d1")
    return dialog.choose(state, "d1", "sector", "saas").state


@pytest.mark.parametrize(
    ("typed", "country", "city", "next_step"),
    [
        ("USA", "us", None, "target_city"),
        ("etats unis", "us", None, "target_city"),
        ("États-Unis", "us", None, "target_city"),
        ("Singapour", "sg", "singapore", "headcount"),
        ("Sao Paulo", "br", "sao-paulo", "headcount"),
        ("são paulo", "br", "sao-paulo", "headcount"),
        ("MONTREAL", "ca", "montreal", "headcount"),
        ("Pékin", "cn", "beijing", "headcount"),
    ],
)
def test_typed_targets(dialog: Dialog, typed: str, country: str, city: str | None,
                       next_step: str) -> None:
    outcome = dialog.type(at_target(dialog), typed)
    assert outcome.status == "ok"
    answers = outcome.state.answers
    assert answers["target_country"] == country and answers.get("target_city") == city
    assert outcome.state.step == next_step


def test_back_after_a_typed_target_returns_where_it_was_typed(dialog: Dialog) -> None:
    state = dialog.type(at_target(dialog), "Singapour").state
    assert dialog.back(state).state.step == "target_region"


def test_a_country_without_cities_skips_the_city_question(kb: KnowledgeBase,
                                                          renderer: Renderer) -> None:
    no_german_city = replace(kb, cities={k: c for k, c in kb.cities.items() if c.country != "de"})
    dialog = Dialog(no_german_city, renderer.labels)
    state = dialog.choose(at_target(dialog), "d1", "target_region", "europe").state
    state = dialog.choose(state, "d1", "target_country", "de").state
    assert state.step == "headcount"


def test_country_not_decided_is_allowed(dialog: Dialog) -> None:
    state = dialog.choose(at_target(dialog), "d1", "target_region", "asia").state
    state = dialog.choose(state, "d1", "target_country", "unknown").state
    assert state.step == "headcount" and state.answers["target_country"] == "unknown"


def test_the_target_region_has_no_i_dont_know(dialog: Dialog) -> None:
    assert dialog.type(at_target(dialog), "je ne sais pas").status == "not_understood"


def test_vie_none_skips_the_count_and_changing_it_clears_the_count(dialog: Dialog) -> None:
    state = DialogState("d1", dialog.kb.version, step="vie", history=("stage",))
    yes = dialog.choose(state, "d1", "vie", "yes").state
    assert yes.step == "vie_count"
    two = dialog.choose(yes, "d1", "vie_count", "2").state
    assert two.step == "budget" and two.answers["vie_count"] == "2"
    back = dialog.back(dialog.back(two).state).state
    none = dialog.choose(back, "d1", "vie", "none").state
    assert none.step == "budget" and "vie_count" not in none.answers


def test_yes_and_how_many_volunteers_in_one_tap(dialog: Dialog) -> None:
    state = DialogState("d1", dialog.kb.version, step="vie", history=("stage",))
    shown = [o.id for o in dialog.question(state).options]
    assert shown == ["none", "maybe", "yes1", "yes2", "yes3", "yes4"]
    two = dialog.choose(state, "d1", "vie", "yes2").state
    assert two.step == "budget" and two.answers["vie"] == "yes"
    assert two.answers["vie_count"] == "2" and dialog.profile(two).vie_count == 2
    assert dialog.back(two).state.step == "vie"  # back to the question tapped, not the count
    # A "Yes" button sent before the one-tap buttons (s8:yes) still means yes, then how many.
    assert dialog.choose(state, "d1", "vie", "yes").state.step == "vie_count"
    assert dialog.choose(state, "d1", "vie", "yes9").status == "stale"
    assert dialog.type(state, "Oui, 3").state.answers.get("vie_count") == "3"
    assert dialog.type(state, "oui").state.step == "vie_count"


@pytest.mark.parametrize(
    ("step", "typed", "option"),
    [("headcount", "12", "h10_49"), ("headcount", "12 salariés", "h10_49"),
     ("headcount", "250", "h250"), ("turnover", "2 M€", "t1_10m"),
     ("turnover", "600M", "t500m"), ("turnover", "je ne sais pas", "unknown"),
     ("budget", "60k", "b50_150k"), ("stage", "j'exporte déjà", "exporting"),
     ("home_region", "idf", "ile-de-france"), ("home_region", "Bretagne", "bretagne"),
     ("vie", "oui", "yes"), ("vie", "peut-être", "maybe"), ("sector", "cyber", "cybersecurity"),
     ("vie_count", "7", "4")],
)
def test_typed_answers_per_question(dialog: Dialog, step: str, typed: str, option: str) -> None:
    state = DialogState("d1", dialog.kb.version, step=step, history=("sector",),
                        answers={"vie": "yes"})
    outcome = dialog.type(state, typed)
    assert outcome.status == "ok", outcome
    assert outcome.state.answers[step] == option


def test_stale_buttons_change_nothing(dialog: Dialog) -> None:
    state = at_target(dialog)
    for dialog_id, step, option in (("old", "target_region", "asia"),
                                    ("d1", "sector", "fintech"),
                                    ("d1", "target_region", "atlantis")):
        outcome = dialog.choose(state, dialog_id, step, option)
        assert outcome.status == "stale" and outcome.state == state


def full_state(dialog: Dialog) -> DialogState:
    state = dialog.new("d1")
    for step, option in (("sector", "saas"), ("target_region", "north_america"),
                         ("target_country", "us"), ("target_city", "boston"),
                         ("headcount", "h10_49"), ("turnover", "t1_10m"),
                         ("home_region", "bretagne"), ("stage", "first_steps"), ("vie", "none"),
                         ("budget", "b20_50k"), ("company_age", "a3")):
        if state.step == step:  # company_age: asked when a scheme open to it depends on it
            state = dialog.choose(state, "d1", step, option).state
    return state


def test_answers_lead_to_the_recap_then_done(dialog: Dialog) -> None:
    state = full_state(dialog)
    assert state.step == RECAP
    assert dialog.finish(state, "d1").state.step == DONE


def test_editing_from_the_recap_returns_to_it(dialog: Dialog) -> None:
    state = dialog.edit(full_state(dialog), "d1", "target").state
    assert state.step == "target_region" and state.editing
    state = dialog.choose(state, "d1", "target_region", "asia").state
    assert state.step == "target_country"  # still the same question
    state = dialog.type(state, "Japon").state
    if state.step == "target_city":
        state = dialog.choose(state, "d1", "target_city", "unknown").state
    assert state.step == RECAP and state.answers["target_country"] == "jp"
    assert state.answers["sector"] == "saas" and "target_city" not in state.answers or \
        state.answers["target_city"] == "unknown"


def test_state_round_trips_through_json_and_rejects_junk(dialog: Dialog) -> None:
    state = full_state(dialog)
    assert DialogState.from_dict(state.to_dict()) == state
    assert DialogState.from_dict({}) is None
    assert DialogState.from_dict({"dialog_id": "x", "kb_version": "v", "step": "nope"}) is None


@pytest.mark.parametrize(("typed", "count"), [("2 VIE", "2"), ("oui 3", "3"), ("yes, 1", "1"),
                                              ("12 volontaires", "4")])
def test_a_typed_number_of_volunteers_answers_both_vie_questions(dialog: Dialog, typed: str,
                                                                 count: str) -> None:
    state = DialogState("d1", dialog.kb.version, step="vie", history=("stage",))
    outcome = dialog.type(state, typed)
    assert outcome.state.answers["vie"] == "yes" and outcome.state.answers["vie_count"] == count
    assert outcome.state.step == "budget"


@pytest.mark.parametrize(("typed", "option"), [("non merci", "none"), ("no thanks", "none"),
                                               ("pas sûr", "maybe"), ("je ne sais pas", "maybe")])
def test_vie_plain_answers(dialog: Dialog, typed: str, option: str) -> None:
    state = DialogState("d1", dialog.kb.version, step="vie", history=("stage",))
    assert dialog.type(state, typed).state.answers["vie"] == option


# --- prefilled dialogs (an advisor's link) ---------------------------------------------------


def test_prefill_skips_the_prefilled_questions_and_keeps_the_counter(dialog: Dialog) -> None:
    state = dialog.new("d1", {"sector": "saas", "target_region": "asia",
                              "target_country": "sg", "target_city": "singapore"})
    assert state.step == "headcount" and dialog.question(state).number == 3
    assert dialog.question(state).total == 8
    assert state.answers == {"sector": "saas", "target_region": "asia",
                             "target_country": "sg", "target_city": "singapore"}
    # Back still reaches the prefilled questions, which can be changed.
    assert dialog.back(state).state.step == "target_city"


def test_prefill_with_a_gap_asks_the_gap_then_skips(dialog: Dialog) -> None:
    state = dialog.new("d1", {"target_region": "asia", "target_country": "sg",
                              "target_city": "singapore"})
    assert state.step == "sector" and not dialog.question(state).can_go_back
    state = dialog.choose(state, "d1", "sector", "ai").state
    assert state.step == "headcount" and state.answers["target_city"] == "singapore"


def test_prefill_country_without_city_asks_the_city(dialog: Dialog) -> None:
    state = dialog.new("d1", {"sector": "saas", "target_region": "north_america",
                              "target_country": "us"})
    assert state.step == "target_city"


def test_prefill_validation_drops_unknown_and_inconsistent_ids(dialog: Dialog) -> None:
    assert dialog.new("d1", {"sector": "nope", "target_region": "mars"}) == dialog.new("d1")
    # A country outside the region, and the city that hangs on it, are dropped.
    state = dialog.new("d1", {"sector": "saas", "target_region": "europe",
                              "target_country": "sg", "target_city": "singapore"})
    assert state.answers == {"sector": "saas", "target_region": "europe"}
    assert state.step == "target_country"
    # A city outside the country is dropped; the country stays.
    state = dialog.new("d1", {"target_region": "asia", "target_country": "sg",
                              "target_city": "berlin", "headcount": "h999"})
    assert state.answers == {"target_region": "asia", "target_country": "sg"}
    # A city alone implies its country and region; "unknown" is not a prefill.
    state = dialog.new("d1", {"target_city": "montreal", "sector": "unknown"})
    assert state.answers == {"target_region": "north_america", "target_country": "ca",
                             "target_city": "montreal"}
    assert dialog.new("d1", {"vie_count": "2"}).answers == {}


def test_prefilled_answers_show_in_the_recap_and_can_be_edited(dialog: Dialog) -> None:
    state = dialog.new("d1", {"sector": "saas", "target_city": "singapore"})
    for step, option in (("headcount", "h10_49"), ("turnover", "t1_10m"),
                         ("home_region", "occitanie"), ("stage", "first_steps"),
                         ("vie", "none"), ("budget", "b20_50k"), ("company_age", "a3")):
        if state.step == step:
            state = dialog.choose(state, "d1", step, option).state
    assert state.step == RECAP and state.answers["target_city"] == "singapore"
    editing = dialog.edit(state, "d1", "target").state
    assert editing.step == "target_region"
    state = dialog.choose(editing, "d1", "target_region", "europe").state
    state = dialog.choose(state, "d1", "target_country", "de").state
    state = dialog.choose(state, "d1", "target_city", "berlin").state
    assert state.step == RECAP and state.answers["target_city"] == "berlin"
    assert dialog.finish(state, "d1").state.step == DONE


def test_prefilled_state_survives_storage(dialog: Dialog) -> None:
    state = dialog.new("d1", {"sector": "saas"})
    assert state.prefilled == ("sector",)
    assert DialogState.from_dict(state.to_dict()) == state


# --- the specs: stable codes, conditional questions, typed answers --------------------------



def test_the_codes_of_existing_steps_and_questions_never_change() -> None:
    """Buttons already in users' chats carry these codes: they must keep their meaning."""
    assert {s: STEP_CODES[s] for s in (
        "sector", "target_region", "target_country", "target_city", "headcount", "turnover",
        "home_region", "stage", "vie", "vie_count", "budget")} == {
        "sector": "s0", "target_region": "s1", "target_country": "s2", "target_city": "s3",
        "headcount": "s4", "turnover": "s5", "home_region": "s6", "stage": "s7", "vie": "s8",
        "vie_count": "s9", "budget": "s10"}
    assert {q: QUESTION_CODES[q] for q in (
        "sector", "target", "headcount", "turnover", "home_region", "stage", "vie",
        "budget")} == {"sector": "q0", "target": "q1", "headcount": "q2", "turnover": "q3",
                       "home_region": "q4", "stage": "q5", "vie": "q6", "budget": "q7"}
    assert (STEP_CODES["territory"], STEP_CODES["company_age"],
            STEP_CODES["large_contracts"]) == ("s11", "s12", "s13")
    assert (QUESTION_CODES["territory"], QUESTION_CODES["company_age"],
            QUESTION_CODES["large_contracts"]) == ("q8", "q9", "q10")
    assert len(CODE_STEPS) == len(SPECS) and len(CODE_QUESTIONS) == len(QUESTION_CODES)


@pytest.fixture(scope="module")
def big_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_directory(with_large_contracts(tmp_path_factory.mktemp("kb")))


@pytest.fixture
def big(big_kb: KnowledgeBase, renderer: Renderer) -> Dialog:
    return Dialog(big_kb, renderer.labels, FixedClock.on(TODAY))


BASE = {"sector": "saas", "target_region": "asia", "target_country": "sg",
        "target_city": "singapore", "headcount": "h0_9", "turnover": "t0_1m",
        "home_region": "ile-de-france", "stage": "first_steps", "vie": "none",
        "budget": "b0_20k"}


def walk(dialog: Dialog, answers: dict[str, str]) -> list[str]:
    """The steps the dialog asks when tapping these answers ("unknown" for any other)."""
    state, asked = dialog.new("d1"), []
    while state.step != RECAP:
        asked.append(state.step)
        state = dialog.choose(state, "d1", state.step, answers.get(state.step, "unknown")).state
    return asked


def test_a_small_saas_from_ile_de_france_gets_no_territory_nor_large_contracts(
        big: Dialog) -> None:
    asked = walk(big, BASE)
    assert "territory" not in asked and "large_contracts" not in asked


def test_large_contracts_are_asked_from_10_million_turnover_when_a_scheme_depends_on_it(
        big: Dialog, dialog: Dialog) -> None:
    exporting = {**BASE, "stage": "exporting"}
    assert "large_contracts" in walk(big, {**exporting, "turnover": "t10_50m"})
    assert "large_contracts" in walk(dialog, {**exporting, "turnover": "t50_500m"})
    # Under 10 M€ (or unknown) it is not asked: the schemes stay to confirm, one line away.
    assert "large_contracts" not in walk(big, {**exporting, "turnover": "t1_10m"})
    assert "large_contracts" not in walk(big, {**exporting, "turnover": "unknown"})
    assert Profile.from_answers({**exporting, "turnover": "t1_10m"}).large_contracts is None
    # A company taking its first steps abroad has no export contract yet: implied "no".
    assert "large_contracts" not in walk(big, {**BASE, "turnover": "t1_10m"})
    assert Profile.from_answers({**BASE, "turnover": "t1_10m"}).large_contracts is False


def test_the_territory_is_asked_right_after_an_overseas_home_region(big: Dialog) -> None:
    asked = walk(big, {**BASE, "home_region": "outre-mer"})
    assert asked[asked.index("home_region") + 1] == "territory"


def test_company_age_is_asked_only_when_an_open_scheme_depends_on_it(
        big: Dialog, renderer: Renderer, tmp_path: Path) -> None:
    assert "company_age" in walk(big, BASE)  # the international growth loan: over 3 years
    ageless = load_directory(with_large_contracts(tmp_path, without_age=True))
    assert "company_age" not in walk(Dialog(ageless, renderer.labels), BASE)
    # Only an overseas scheme depends on it: asked overseas, not in Île-de-France.
    overseas_only = load_directory(with_large_contracts(tmp_path / "o", without_age=True,
                                                        keep_age="martinique-dev-international"))
    dialog = Dialog(overseas_only, renderer.labels)
    assert "company_age" not in walk(dialog, BASE)
    assert "company_age" in walk(dialog, {**BASE, "home_region": "outre-mer"})


def test_progress_counts_the_questions_this_profile_is_asked(big: Dialog) -> None:
    state = big.new("d1", {k: BASE[k] for k in ("sector", "target_region", "target_country",
                                                "target_city", "headcount", "turnover")})
    assert state.step == "home_region"
    assert (big.question(state).number, big.question(state).total) == (5, 8)
    state = big.choose(state, "d1", "home_region", "outre-mer").state
    assert state.step == "territory"
    assert (big.question(state).number, big.question(state).total) == (6, 9)
    back = big.back(state).state
    state = big.choose(back, "d1", "home_region", "bretagne").state
    assert state.step == "stage" and "territory" not in state.answers
    assert (big.question(state).number, big.question(state).total) == (6, 8)


def test_editing_the_region_to_overseas_asks_the_territory_then_the_recap(
        big: Dialog) -> None:
    state = big.new("d1", {**BASE, "company_age": "a3"})
    assert state.step == RECAP
    state = big.edit(state, "d1", "home_region").state
    state = big.choose(state, "d1", "home_region", "outre-mer").state
    assert state.step == "territory" and state.editing
    state = big.type(state, "974").state
    assert state.step == RECAP and state.answers["territory"] == "reunion"
    assert "territory" in big.recap_questions(state.answers)


def at(dialog: Dialog, step: str, **answers: str) -> DialogState:
    return DialogState("d1", dialog.kb.version, step=step, history=("sector",),
                       answers={**BASE, **answers})


@pytest.mark.parametrize(
    ("step", "typed", "option"),
    [("territory", "La Réunion", "reunion"), ("territory", "la reunion", "reunion"),
     ("territory", "Réunion", "reunion"), ("territory", "974", "reunion"),
     ("territory", "Martinique", "martinique"), ("territory", "Tahiti", "collectivite"),
     ("territory", "Nouvelle-Calédonie", "collectivite"), ("territory", "guyane", "guyane"),
     ("territory", "je ne sais pas", "unknown"),
     ("company_age", "3 ans", "a3"), ("company_age", "2 ans", "a1_3"),
     ("company_age", "18 mois", "a1_3"), ("company_age", "six mois", "a0_1"),
     ("company_age", "créée en 2019", "a3"), ("company_age", "moins d'un an", "a0_1"),
     ("company_age", "5 years", "a3"), ("company_age", "je ne sais pas", "unknown"),
     ("large_contracts", "oui", "yes"), ("large_contracts", "non", "no"),
     ("large_contracts", "yes", "yes"), ("large_contracts", "je ne sais pas", "unknown"),
     ("headcount", "cinq salariés", "h0_9"), ("headcount", "douze", "h10_49"),
     ("headcount", "12 salariés", "h10_49"), ("headcount", "twelve employees", "h10_49"),
     ("turnover", "2 M€", "t1_10m"), ("budget", "cinquante mille euros", "b50_150k"),
     ("vie", "Peut-être", "maybe"), ("vie", "non", "none"), ("vie_count", "trois", "3")],
)
def test_typed_answers_to_each_question(big: Dialog, step: str, typed: str,
                                        option: str) -> None:
    state = at(big, step, home_region="outre-mer", turnover="t1_10m", vie="yes")
    outcome = big.type(state, typed)
    assert outcome.status == "ok", outcome
    assert outcome.state.answers[step] == option


def test_a_year_of_creation_on_the_edge_of_a_band_is_confirmed_first(big: Dialog) -> None:
    # Created in 2024, on 2 December 2026: from 1.9 to 2.9 years old, every age in 1 to 3.
    assert big.type(at(big, "company_age"), "créée en 2024").state.answers["company_age"] \
        == "a1_3"
    outcome = big.type(at(big, "company_age"), "depuis 2025")  # 0.9 to 1.9 years: unsure
    assert outcome.status == "confirm" and outcome.state.pending == {
        "step": "company_age", "option": "a1_3"}
    assert big.type(outcome.state, "oui").state.answers["company_age"] == "a1_3"


@pytest.mark.parametrize(("typed", "count"), [("oui, deux", "2"), ("deux VIE", "2"),
                                              ("2 VIE", "2"), ("trois", "3")])
def test_yes_and_how_many_volunteers_in_words(dialog: Dialog, typed: str, count: str) -> None:
    state = DialogState("d1", dialog.kb.version, step="vie", history=("stage",))
    outcome = dialog.type(state, typed)
    assert outcome.state.answers["vie"] == "yes" and outcome.state.answers["vie_count"] == count


@pytest.mark.parametrize(("typed", "amount"), [("30k", "30000"), ("45 000 €", "45000"),
                                               ("1,5 k€", "1500")])
def test_a_typed_budget_keeps_its_amount_beside_the_band(dialog: Dialog, typed: str,
                                                         amount: str) -> None:
    state = dialog.type(at(dialog, "budget"), typed).state
    assert state.answers["budget_amount"] == amount
    assert dialog.profile(state).budget_eur == float(amount)
    again = dialog.choose(replace(state, step="budget"), "d1", "budget", "b20_50k").state
    assert "budget_amount" not in again.answers and dialog.profile(again).budget_eur is None
    unknown = dialog.type(replace(state, step="budget"), "je ne sais pas").state
    assert "budget_amount" not in unknown.answers


def test_prefill_accepts_the_new_keys(big: Dialog) -> None:
    state = big.new("d1", {**BASE, "home_region": "outre-mer", "territory": "reunion",
                           "turnover": "t10_50m", "stage": "exporting", "large_contracts": "yes",
                           "company_age": "a1_3", "budget": "b20_50k",
                           "budget_amount": "30000"})
    assert state.step == RECAP
    assert state.answers["territory"] == "reunion" and state.answers["large_contracts"] == "yes"
    assert state.answers["company_age"] == "a1_3" and state.answers["budget_amount"] == "30000"
    # A territory without an overseas region, an amount outside its band: dropped.
    state = big.new("d1", {**BASE, "territory": "reunion", "budget": "b150k",
                           "budget_amount": "30000"})
    assert "territory" not in state.answers and "budget_amount" not in state.answers
    # An amount alone gives its band.
    assert big.valid_prefill({"budget_amount": "60000"}) == {"budget": "b50_150k",
                                                             "budget_amount": "60000"}
