"""The first screen of a plan: one message a phone shows whole, the budget as a yes or no that
adds up, the three first actions with the organisations' own links, at most two warnings."""

from __future__ import annotations

import re

import pytest

from bot.advice.engine import advise
from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.handlers.views import Views
from bot.kb.links import is_not_own_site
from bot.kb.snapshot import KnowledgeBase
from bot.plan.build import build_plan
from bot.plan.model import MAX_ACTIONS, MAX_WARNINGS, Plan
from bot.render.plan_text import SUMMARY_MAX_CHARS, PlanText
from bot.render.templates import LOCALES, Renderer, format_eur
from tests.conftest import TODAY
from tests.e2e.fake_api import parse_html, utf16_len
from tests.plan_profiles import PROFILES


def plan_of(kb: KnowledgeBase, renderer: Renderer, answers: dict[str, str],
            locale: str) -> tuple[Plan, str]:
    dialog = Dialog(kb, renderer.labels)
    state = DialogState("d1", kb.version, step="done", answers=answers)
    plan = build_plan(advise(dialog.profile(state), kb, TODAY), kb, TODAY)
    names = Views(bot=None, renderer=renderer,  # type: ignore[arg-type]
                  clock=FixedClock.on(TODAY)).plan_names(dialog, locale, answers)
    return plan, PlanText(renderer).summary(plan, kb, locale, names)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_summary_fits_one_screen_and_links_each_action(
        kb: KnowledgeBase, renderer: Renderer, profile: str, locale: str) -> None:
    plan, text = plan_of(kb, renderer, PROFILES[profile], locale)
    shown = parse_html(text)
    assert not shown.warnings, shown.warnings
    assert utf16_len(shown.text) <= SUMMARY_MAX_CHARS, shown.text
    headcount = plan.advice.profile.headcount
    if headcount is not None:  # the size said once, with its unit once
        profile_line = shown.text.splitlines()[1]
        assert str(renderer.text(locale, f"plan.profile.headcount.{headcount.id}")) in profile_line
        assert not re.search(r"\b(salariés|employees)\b.*\b\1\b", profile_line), profile_line
    summary = plan.summary
    assert 1 <= len(summary.actions) <= MAX_ACTIONS
    assert len(summary.warnings) <= MAX_WARNINGS
    links = {e["url"] for e in shown.entities if e["type"] == "text_link"}
    for number, action in enumerate(summary.actions, 1):
        assert re.search(rf"^{number}\. ", shown.text, re.M), shown.text
        assert action.who in shown.text
        if action.url is not None:
            assert action.url in links
            assert not is_not_own_site(kb.source_policy, action.url)


def test_three_actions_in_the_order_an_advisor_gives_them(kb: KnowledgeBase,
                                                          renderer: Renderer) -> None:
    """The export team of the region, then where to land, then the lead financing."""
    plan, text = plan_of(kb, renderer,
                         PROFILES["cybersecurity 30, AURA, Singapore, 2 VIE, 30 k€"], "fr")
    keys = [a.key for a in plan.summary.actions]
    assert keys == ["regional_tfe", "landing", "financing"]
    first, landing, financing = plan.summary.actions
    assert first.url and "auvergnerhonealpes" in first.url
    assert landing.who == plan.advice.landing[0].record.name
    assert financing.who == "Bpifrance" and financing.why_value == "assurance-prospection"
    assert text.index(first.who) < text.index(landing.who) < text.index("Assurance Prospection")


def test_with_no_landing_option_the_third_action_is_a_scheme_and_a_warning_says_so(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, text = plan_of(kb, renderer, PROFILES["everything unknown, Asia"], "fr")
    assert not plan.advice.landing
    assert [a.key for a in plan.summary.actions][-1] == "aid"
    assert "no_landing" in [w.key for w in plan.summary.warnings]
    assert "Aucune structure d'accueil sourcée" in text


@pytest.mark.parametrize("locale", LOCALES)
def test_budget_over_a_typed_amount_shows_figures_that_subtract(
        kb: KnowledgeBase, renderer: Renderer, locale: str) -> None:
    plan, text = plan_of(kb, renderer,
                         PROFILES["Normandie healthtech, Boston, 2 VIE, 60 k€"], locale)
    b = plan.summary.budget
    assert b.kind == "above" and b.total is not None and b.user_amount == 60_000
    assert (b.gap, b.gap_high) == (b.total.low - 60_000, b.total.high - 60_000)
    visible = parse_html(text).text
    for figure in (b.total.low, b.total.high, 60_000, b.gap, b.gap_high):
        assert format_eur(figure, locale) in visible


def test_budget_within_and_without_estimate(kb: KnowledgeBase, renderer: Renderer) -> None:
    within, text = plan_of(kb, renderer, PROFILES["Occitanie fintech, Berlin, 1 VIE, 200 k€"],
                           "fr")
    assert within.summary.budget.kind == "within" and "dans votre budget" in text
    unpriced, text = plan_of(kb, renderer, PROFILES["Martinique, Casablanca, 1 VIE"], "fr")
    assert (unpriced.summary.budget.kind, unpriced.summary.budget.reason) == (
        "none", "vie_unpriced")
    assert "pas d'estimation" in text
    maybe, text = plan_of(kb, renderer,
                          PROFILES["young saas, Nouvelle-Aquitaine, Munich, VIE maybe, 25 k€"],
                          "en")
    assert maybe.summary.budget.with_one_vie and "with one VIE" in text


def test_warnings_name_what_to_confirm_and_with_whom(kb: KnowledgeBase,
                                                     renderer: Renderer) -> None:
    plan, text = plan_of(kb, renderer, PROFILES["Normandie healthtech, Boston, 2 VIE, 60 k€"],
                         "fr")
    keys = [w.key for w in plan.summary.warnings]
    assert keys == ["confirm_aid", "vie_two_alone"]
    confirm = plan.summary.warnings[0]
    lead = next(v for v in plan.advice.aid if v.aid.id == confirm.subject)
    assert confirm.who == lead.aid.provider and confirm.detail == lead.to_confirm[0]
    assert f"à confirmer avec {lead.aid.provider} : {lead.to_confirm[0].fr}" in text
    assert "deux VIE sans autre salarié" in text and "Business France" in text
