"""Two plans compared: each side's figures are that plan's own (and add up as shown), only the
schemes that differ are kept, the screen fits one message in both languages with "not known"
where the base has nothing, the chart is a PNG of the same figures, the PDF holds the annex."""

from __future__ import annotations

import io
from collections.abc import Mapping

import pytest
from pypdf import PdfReader

from bot.advice.budget import Span
from bot.advice.engine import advise
from bot.dialog.engine import DONE, UNKNOWN_PLACE, Dialog, DialogState
from bot.handlers.compare import TARGET_STEPS, chosen, compared_answers, start_state, target_of
from bot.kb.snapshot import KnowledgeBase
from bot.plan.build import build_plan
from bot.plan.compare import compare, cost_items, differing
from bot.plan.model import Plan
from bot.render import keyboards
from bot.render.callbacks import COMPARE_MARK, CompareCb, plan_token
from bot.render.compare_chart import chart_rows, comparison_png
from bot.render.pdf import render_pdf
from bot.render.plan_text import PlanText
from bot.render.split import telegram_length
from bot.render.templates import LOCALES, Renderer, format_date, format_eur
from tests.conftest import TODAY
from tests.unit.test_expert_cases import BASE

PAIRS = (("singapore", "tokyo"), ("montreal", "london"), ("london", "berlin"),
         ("boston", "toronto"))


def answers_at(kb: KnowledgeBase, city: str, **extra: str) -> dict[str, str]:
    country = kb.countries[kb.cities[city].country]
    return {**BASE, **extra, "target_region": country.world_region,
            "target_country": country.id, "target_city": city}


def plan_for(kb: KnowledgeBase, answers: Mapping[str, str]) -> Plan:
    state = DialogState("x", kb.version, step=DONE, answers=dict(answers))
    return build_plan(advise(Dialog(kb, {}).profile(state), kb, TODAY), kb, TODAY)


def plan_at(kb: KnowledgeBase, city: str, **extra: str) -> Plan:
    return plan_for(kb, answers_at(kb, city, **extra))


@pytest.mark.parametrize(("left", "right"), PAIRS)
def test_each_side_shows_its_own_plans_figures(kb: KnowledgeBase, left: str,
                                               right: str) -> None:
    plans = plan_at(kb, left), plan_at(kb, right)
    comparison = compare(*plans, kb)
    for side, plan in zip(comparison.sides, plans, strict=True):
        assert side.plan is plan
        assert side.monthly == plan.advice.vie.monthly
        assert side.total == plan.summary.budget.total
        # the items shown add up to the total shown
        if side.total is not None:
            total = Span(0, 0)
            for item in side.costs:
                total = total + item.span
            assert total == side.total
        else:
            assert side.costs == ()
        country = plan.advice.vie.country
        assert side.visa == (country.visa if country else None)
        assert side.landing == (plan.advice.landing[0] if plan.advice.landing else None)
        assert side.landing_count >= len(plan.advice.landing)
        assert side.first_call == plan.summary.actions[0]
        assert side.allowance_sources == plan.section("vie").of_kind("vie_country")[0].sources


def test_where_the_base_has_no_allowance_the_side_has_no_figure(kb: KnowledgeBase) -> None:
    comparison = compare(plan_at(kb, "montreal"), plan_at(kb, "berlin"), kb)
    assert comparison.left.monthly is None and comparison.left.total is None
    assert comparison.right.monthly is not None and comparison.right.total is not None
    assert comparison.cost_keys == ("vie",)
    assert chart_rows(comparison) == [("vie", (None, comparison.right.cost("vie").span)),
                                      ("total", (None, comparison.right.total))]


def test_only_the_schemes_that_differ_are_kept(kb: KnowledgeBase) -> None:
    """Exporting already, to a country outside the euro: the exchange-risk insurance serves
    Boston and not Berlin; everything else is the same."""
    boston, berlin = plan_at(kb, "boston", stage="exporting"), plan_at(kb, "berlin",
                                                                        stage="exporting")
    comparison = compare(boston, berlin, kb)
    assert [v.aid.id for v in comparison.left.differing] == ["assurance-change"]
    assert comparison.right.differing == ()
    assert differing(boston, boston) == ()
    # a scheme is kept when the other plan lacks it or judges it otherwise, never else
    theirs = {v.aid.id: v.eligibility for v in berlin.advice.aid}
    assert all(theirs.get(v.aid.id) is not v.eligibility for v in comparison.left.differing)
    kept = {v.aid.id for v in comparison.left.differing}
    assert all(theirs.get(v.aid.id) is v.eligibility for v in boston.advice.aid
               if v.aid.id not in kept)


def test_cost_items_are_the_estimates_parts(kb: KnowledgeBase) -> None:
    plan = plan_at(kb, "singapore")
    budget = plan.advice.budget
    assert budget.vie is not None and budget.total is not None
    assert [(i.key, i.span, i.count, i.months) for i in cost_items(plan)][0] == (
        "vie", budget.vie.cost, budget.vie.count, budget.vie.months)
    assert tuple(i.span for i in cost_items(plan)) == budget.total.parts


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("left", "right"), PAIRS)
def test_the_screen_is_one_message_naming_and_sourcing_both_sides(
        kb: KnowledgeBase, renderer: Renderer, locale: str, left: str, right: str) -> None:
    plans = plan_at(kb, left), plan_at(kb, right)
    comparison = compare(*plans, kb)
    where = (kb.cities[left].name.get(locale), kb.cities[right].name.get(locale))
    text = PlanText(renderer).comparison(comparison, kb, locale, where)
    assert telegram_length(text) <= 4096
    for name in where:
        # a labelled line per item (the schemes: one line when none differs)
        assert text.count(f"<b>{name}</b>") >= 5, (name, text)
    unknown = renderer.text(locale, "cmp.unknown")
    for side in comparison.sides:
        monthly = side.monthly
        if monthly is None:
            assert unknown in text
        else:
            assert format_eur(monthly.total, locale) in text
            assert format_date(monthly.common_date, locale) in text
            assert format_date(monthly.geographic_date, locale) in text
        if side.total is not None:
            assert format_eur(side.total.low, locale) in text
    assert text.count(renderer.text(locale, "sec.source", refs="").split("{")[0].strip()) >= 6


def test_a_differing_scheme_is_named_on_its_side(kb: KnowledgeBase, renderer: Renderer) -> None:
    comparison = compare(plan_at(kb, "boston", stage="exporting"),
                         plan_at(kb, "berlin", stage="exporting"), kb)
    text = PlanText(renderer).comparison(comparison, kb, "en", ("Boston", "Berlin"))
    assert kb.aid["assurance-change"].name.en in text
    assert "none of its own" in text


def test_the_chart_is_a_png(kb: KnowledgeBase, renderer: Renderer) -> None:
    for left, right in (("singapore", "tokyo"), ("montreal", "london")):
        png = comparison_png(renderer, "fr", compare(plan_at(kb, left), plan_at(kb, right), kb),
                             (left, right))
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_the_pdf_holds_the_comparison_as_an_annex(kb: KnowledgeBase,
                                                  renderer: Renderer) -> None:
    plan, other = plan_at(kb, "singapore"), plan_at(kb, "tokyo")
    text = PlanText(renderer)
    annex = text.comparison(compare(plan, other, kb), kb, "en", ("Singapore", "Tokyo"),
                            full=True)
    names = {"target": "Singapore"}

    def words(data: bytes) -> str:
        return " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
                        .split())

    without = words(render_pdf(plan, kb, "en", names, text))
    with_annex = words(render_pdf(plan, kb, "en", names, text, annex))
    assert "Annex: two destinations compared" not in without
    tail = with_annex[with_annex.index("Annex: two destinations compared"):]
    assert "Singapore or Tokyo?" in tail and "Tokyo:" in tail
    assert format_eur(other.summary.budget.total.low, "en") in tail  # type: ignore[union-attr]


def test_the_destination_question_is_the_dialogs_own(kb: KnowledgeBase,
                                                     renderer: Renderer) -> None:
    dialog = Dialog(kb, renderer.labels)
    current = DialogState("abcdefgh", kb.version, step=DONE, answers=answers_at(kb, "boston"))
    sub = start_state(current)
    assert sub.dialog_id.startswith(COMPARE_MARK) and sub.step == TARGET_STEPS[0]
    assert {k: v for k, v in sub.answers.items()} == {
        k: v for k, v in current.answers.items() if k not in TARGET_STEPS}
    junk = dialog.type(sub, "zzqx atlantide")
    assert junk.status == "not_understood" and junk.detail == UNKNOWN_PLACE
    typed = dialog.type(sub, "Tokyo").state
    assert chosen(typed) and target_of(typed.answers)["target_city"] == "tokyo"
    # the other answers untouched: the plan compared differs only by its destination
    assert {k: v for k, v in typed.answers.items() if k not in TARGET_STEPS} == {
        k: v for k, v in current.answers.items() if k not in TARGET_STEPS}
    # by buttons: region, then country, then city
    step = dialog.choose(sub, sub.dialog_id, "target_region", "europe").state
    assert not chosen(step) and step.step == "target_country"
    token = plan_token(kb.version, current.answers)
    data = {"compared": {"target": target_of(typed.answers), "of": token}}
    assert compared_answers(current, token, data) == typed.answers
    assert compared_answers(current, "older", data) is None


def test_the_plan_has_one_compare_button(renderer: Renderer) -> None:
    markup = keyboards.plan_keyboard(renderer, "fr", "abcdefgh", "0123abcd", 3)
    found = [b for row in markup.inline_keyboard for b in row
             if b.callback_data and b.callback_data.startswith("cp:")]
    assert len(found) == 1 and found[0].text == renderer.label("fr", "btn.compare")
    assert CompareCb.unpack(found[0].callback_data or "") == CompareCb(d="abcdefgh",
                                                                       t="0123abcd")


def test_a_landing_cost_is_an_item_of_its_side(kb: KnowledgeBase, renderer: Renderer) -> None:
    """No VIE: Lisbon's first year is its landing structure's cost; Berlin prices nothing."""
    lisbon, berlin = plan_at(kb, "lisbon", vie="none"), plan_at(kb, "berlin", vie="none")
    comparison = compare(lisbon, berlin, kb)
    year = lisbon.advice.budget.landing_year
    assert year is not None and comparison.left.total == Span(year, year)
    assert comparison.right.total is None and comparison.cost_keys == ("landing",)
    assert chart_rows(comparison) == [("landing", (Span(year, year), None)),
                                      ("total", (Span(year, year), None))]
    text = PlanText(renderer).comparison(comparison, kb, "fr", ("Lisbonne", "Berlin"))
    assert lisbon.advice.budget.landing.name in text  # type: ignore[union-attr]
    assert format_eur(year, "fr") in text and "non connu" in text
