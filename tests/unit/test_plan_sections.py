"""The four plan sections (🛬 landing, 🧑‍💼 VIE and cost, 💶 aid, 📚 sources), one layout for
both languages: in Telegram each is one message within Telegram's limit, as Telegram counts it,
and still names every option, scheme and source of the plan; `full` (the PDF) shows all."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.advice.engine import Advice, advise
from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.handlers.views import Views
from bot.kb.snapshot import KnowledgeBase
from bot.plan.build import build_plan
from bot.plan.model import SECTIONS, Plan
from bot.render.plan_text import PlanText
from bot.render.templates import Renderer, format_date
from tests.conftest import TODAY
from tests.e2e.fake_api import parse_html, utf16_len
from tests.plan_profiles import READING
from tests.unit.test_budget import formulas
from tests.unit.test_expert_cases import BASE, CASES

TELEGRAM_MAX = 4096
LOCALES = ("fr", "en")

PROFILES: dict[str, dict[str, str]] = {
    **{f"expert: {name}": {**BASE, **answers} for name, (answers, _) in CASES.items()},
    **{f"read: {name}": answers for name, answers in READING.items()},
}
HREF = re.compile(r'href="([^"]+)"')


def hrefs(html_text: str) -> set[str]:
    return {html.unescape(url) for url in HREF.findall(html_text)}


@dataclass(frozen=True)
class Shown:
    """One profile's plan, and its sections as Telegram HTML, brief and full."""

    advice: Advice
    plan: Plan
    brief: dict[str, str]
    full: dict[str, str]

    def text(self, key: str, full: bool = False) -> str:
        return parse_html((self.full if full else self.brief)[key]).text


def show(kb: KnowledgeBase, renderer: Renderer, locale: str, answers: dict[str, str]) -> Shown:
    dialog = Dialog(kb, renderer.labels)
    state = DialogState("d1", kb.version, step="done", answers=answers)
    advice = advise(dialog.profile(state), kb, TODAY)
    plan = build_plan(advice, kb, TODAY)
    names = Views(bot=None, renderer=renderer,  # type: ignore[arg-type]
                  clock=FixedClock.on(TODAY)).plan_names(dialog, locale, answers)
    text = PlanText(renderer)
    return Shown(advice, plan,
                 {k: text.section(plan, k, kb, locale, names) for k in SECTIONS},
                 {k: text.section(plan, k, kb, locale, names, full=True) for k in SECTIONS})


@pytest.fixture(scope="module")
def shown(kb: KnowledgeBase, renderer: Renderer) -> dict[tuple[str, str], Shown]:
    return {(name, locale): show(kb, renderer, locale, answers)
            for name, answers in PROFILES.items() for locale in LOCALES}


def every(shown: dict[tuple[str, str], Shown]) -> Iterator[tuple[str, str, Shown]]:
    for (name, locale), s in shown.items():
        yield name, locale, s


def test_every_section_is_one_telegram_message(shown: dict[tuple[str, str], Shown]) -> None:
    longest = 0
    for name, locale, s in every(shown):
        for key in SECTIONS:
            length = utf16_len(s.text(key))  # parse_html also refuses what Telegram refuses
            assert length <= TELEGRAM_MAX, (name, locale, key, length)
            longest = max(longest, length)
    assert longest > 2000  # the sections say something


def test_full_sections_show_more_than_telegram(shown: dict[tuple[str, str], Shown]) -> None:
    for name, locale, s in every(shown):
        for key in ("vie", "sources"):
            assert len(s.text(key, full=True)) > len(s.text(key)), (name, locale, key)


def test_every_landing_option_is_named(shown: dict[tuple[str, str], Shown]) -> None:
    options = 0
    for name, locale, s in every(shown):
        for la in s.advice.landing:
            for full in (False, True):
                assert la.record.name in s.text("landing", full), (name, locale, la.record.id)
            options += 1
    assert options > 50


def test_every_scheme_is_named_in_the_aid_section(shown: dict[tuple[str, str], Shown]) -> None:
    schemes = 0
    for name, locale, s in every(shown):
        a = s.advice
        for v in (*a.aid, *a.aid_not_eligible, *a.aid_other, *a.aid_unverified):
            for full in (False, True):
                assert v.aid.name.get(locale) in s.text("aid", full), (name, locale, v.aid.id)
            schemes += 1
    assert schemes > 200


def test_every_source_is_in_the_sources_section(shown: dict[tuple[str, str], Shown]) -> None:
    for name, locale, s in every(shown):
        urls = {r.url for r in s.plan.sources}
        assert urls, name
        assert urls <= hrefs(s.brief["sources"]), (name, locale)
        full_text = s.text("sources", full=True)
        assert all(url in full_text for url in urls), (name, locale)  # printed, not only linked


def test_in_telegram_each_fact_links_its_source_with_its_date(
        renderer: Renderer, shown: dict[tuple[str, str], Shown]) -> None:
    for name, locale, s in every(shown):
        landing, aid = s.brief["landing"], s.brief["aid"]
        for item in s.plan.section("landing").items:
            ref, rid = item.sources[0], item.value.record.id
            assert ref.url in hrefs(landing), (name, locale, rid)
            # the date as it means ("vérifié le …", "page de mai 2021"), with its flag if old
            shown_date = str(renderer.when(locale, ref, s.plan.horizon_months))
            assert shown_date in s.text("landing"), (name, locale, rid, shown_date)
        for v in s.advice.aid:
            assert str(v.aid.source.url) in hrefs(aid), (name, locale, v.aid.id)


def test_the_aid_section_keeps_the_advice_rules(kb: KnowledgeBase,
                                                shown: dict[tuple[str, str], Shown]) -> None:
    others = closed = fx = confirm = 0
    words = {"fr": ("Autres dispositifs, pas pour ce projet", "Fermés", "À confirmer d'abord",
                    "À demander à votre Région", "votre réponse"),
             "en": ("Other schemes, not for this project", "Closed", "To confirm first",
                    "Ask your region", "your answer")}
    for name, locale, s in every(shown):
        other, shut, first, ask, yours = words[locale]
        a, text, full = s.advice, s.text("aid"), s.text("aid", full=True)
        if a.aid_other:
            assert other in text and other in full, (name, locale)
            others += 1
        if a.aid_unverified:
            assert ask in text, (name, locale)
        section = s.plan.section("aid")
        if section.of_kind("aid_closed"):
            # one line, the last of the section
            last = text.rstrip().splitlines()[-1]
            assert last.startswith("🚫") and shut in last, (name, locale)
            assert all(v.aid.name.get(locale) in last
                       for v in section.of_kind("aid_closed")[0].value)
            closed += 1
        for v in a.aid_not_eligible:
            line = next(ln for ln in text.splitlines() if v.aid.name.get(locale) in ln)
            assert line.startswith("⛔") and yours in line, (name, locale, line)
        for v in a.aid:
            if v.to_confirm:
                condition = v.to_confirm[0].get(locale)
                assert condition in full, (name, locale, v.aid.id)
                if v.results and not any(r.criterion.field.value == "home_region"
                                         and r.answer is None for r in v.results):
                    assert f"{first}" in text and condition in text, (name, locale, v.aid.id)
                    confirm += 1
            if a.currency and v.aid.currencies:
                assert "💱" in full
                fx += 1
            if v.results:
                assert yours in full
    assert others and closed and fx and confirm


def test_the_budget_shown_is_recomputable(shown: dict[tuple[str, str], Shown]) -> None:
    """Each total is the sum of the parts shown; each gap is the total minus the budget."""
    checked = 0
    for name, locale, s in every(shown):
        for full in (False, True):
            for line, low, high, shown_low, shown_high in formulas(s.text("vie", full), locale):
                assert (low, high) == (shown_low, shown_high), (name, locale, line)
                checked += 1
    assert checked > 50


def test_the_vie_section_dates_the_allowance_and_names_its_place(
        kb: KnowledgeBase, shown: dict[tuple[str, str], Shown]) -> None:
    allowances = 0
    for name, locale, s in every(shown):
        m = s.advice.vie.monthly
        if m is None:
            continue
        text = s.text("vie")
        assert format_date(m.common_date, locale) in text, (name, locale)
        assert format_date(m.geographic_date, locale) in text, (name, locale)
        assert m.place.get(locale) in text, (name, locale)
        allowances += 1
    assert allowances > 10


def test_the_full_sections_show_every_rule_and_condition(
        shown: dict[tuple[str, str], Shown]) -> None:
    """What the PDF carries: every VIE rule, the country's notes, each scheme's summary and
    conditions, the closed schemes, each beside its source."""
    for name, locale, s in every(shown):
        a, vie, aid = s.advice, s.text("vie", True), s.text("aid", True)
        for rule in (*a.vie.general, *a.vie.hosting):
            assert rule.text.get(locale) in vie, (name, locale, rule.id)
            assert str(rule.source.url) in hrefs(s.full["vie"])
        if a.vie.country:
            assert all(n.get(locale) in vie for n in a.vie.country.notes), (name, locale)
        if a.vie.two_volunteers:
            assert a.vie.two_volunteers.text.get(locale) in vie
        for v in a.aid:
            assert v.aid.summary.get(locale) in aid, (name, locale, v.aid.id)
            assert all(c.get(locale) in aid for c in v.aid.conditions), (name, locale, v.aid.id)
            assert {str(src.url) for src in v.aid.sources} <= hrefs(s.full["aid"])
