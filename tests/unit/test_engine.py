"""The dialog engine, without aiogram: typed targets, skips, back, recap edits, stale buttons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.dialog.engine import DONE, RECAP, Dialog, DialogState
from bot.kb.snapshot import KnowledgeBase
from bot.render.templates import Renderer


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
                         ("budget", "b20_50k")):
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
                         ("vie", "none"), ("budget", "b20_50k")):
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
