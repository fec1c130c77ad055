"""A source's date as the plan words it, and the flag of a source due for re-verification: the
day a person checked the fact ("vérifié le …"), else the page's own date at the precision the
page gives ("page de mai 2021"), else "page non datée, non vérifiée"; then "⏳ plus de 12 mois"
for a source dated before the horizon (meta.verification_horizon_months before today), "⏳"
after an undated page never checked. In Telegram, in the 📚 list and in the PDF annex."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader

from bot.advice.engine import advise
from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.handlers.views import Views
from bot.kb.models import Confidence, Source, horizon_start
from bot.kb.snapshot import KnowledgeBase
from bot.plan.build import build_plan
from bot.plan.model import Plan, SourceRef, by_date
from bot.render.pdf import SYMBOLS, printable, render_pdf
from bot.render.plan_text import PlanText
from bot.render.templates import Renderer
from tests.conftest import TODAY
from tests.e2e.fake_api import parse_html
from tests.plan_profiles import PROFILES

URL = "https://example.org/page"
SINGAPORE = PROFILES["cybersecurity 30, AURA, Singapore, 2 VIE, 30 k€"]


def source(published: str | None = None, checked: dt.date | None = None) -> Source:
    confidence = Confidence.medium if published or checked else Confidence.unverified
    return Source(url=URL, published=published, checked=checked,  # type: ignore[arg-type]
                  confidence=confidence)


@pytest.mark.parametrize(("published", "checked", "fr", "en"), [
    (None, dt.date(2026, 11, 26), "vérifié le 26 novembre 2026", "checked on 26 November 2026"),
    ("2021", None, "page de 2021", "page dated 2021"),
    ("2021-05", None, "page de mai 2021", "page dated May 2021"),
    ("2021-04", None, "page d'avril 2021", "page dated April 2021"),
    ("2018-08", None, "page d'août 2018", "page dated August 2018"),
    ("2021-05-04", None, "page du 4 mai 2021", "page dated 4 May 2021"),
    (None, None, "page non datée, non vérifiée", "undated page, not checked"),
    # a person's check says more than the page's date: it is the one shown
    ("2019-03", dt.date(2026, 10, 2), "vérifié le 2 octobre 2026", "checked on 2 October 2026"),
])
def test_each_kind_of_date_is_worded_as_what_it_means(
        renderer: Renderer, published: str | None, checked: dt.date | None,
        fr: str, en: str) -> None:
    src = source(published, checked)
    for ref in (src, SourceRef.of(src)):  # a knowledge-base Source or a plan SourceRef
        assert str(renderer.when("fr", ref)) == fr
        assert str(renderer.when("en", ref)) == en


def test_a_source_before_the_horizon_is_flagged_and_one_after_is_not(
        renderer: Renderer) -> None:
    clock = FixedClock.on(dt.date(2026, 12, 1))  # horizon 1 December 2025
    horizon = horizon_start(clock.today(), 12)
    assert horizon == dt.date(2025, 12, 1)
    cases = {
        source(published="2025-11"): True,  # November 2025 starts before the horizon
        source(published="2025-12"): False,
        source(published="2025"): True,  # a year means its first day: the cautious reading
        source(checked=dt.date(2025, 11, 30)): True,
        source(checked=dt.date(2025, 12, 1)): False,
        source(published="2015-06", checked=dt.date(2026, 3, 1)): False,  # checked since
        source(): True,  # never dated nor checked
    }
    for src, old in cases.items():
        ref = SourceRef.of(src, horizon)
        assert ref.old is old, src
        fr, en = (str(renderer.when(loc, ref, 12)) for loc in ("fr", "en"))
        assert ("⏳" in fr, "⏳" in en) == (old, old), (src, fr, en)
    dated = SourceRef.of(source(published="2025-11"), horizon)
    assert str(renderer.when("fr", dated, 12)) == "page de novembre 2025 ⏳ plus de 12 mois"
    assert str(renderer.when("en", dated, 12)) == "page dated November 2025 ⏳ over 12 months"
    undated = SourceRef.of(source(), horizon)
    assert str(renderer.when("fr", undated, 12)) == "page non datée, non vérifiée ⏳"
    assert str(renderer.when("en", undated, 12)) == "undated page, not checked ⏳"
    # time passes: what was fresh is due for re-verification
    fresh = source(checked=dt.date(2025, 12, 1))
    clock.advance(31 * 86400)  # 1 January 2027
    assert SourceRef.of(fresh, horizon_start(clock.today(), 12)).old
    assert not SourceRef.of(fresh).old  # no horizon given: nothing to judge by


def test_a_knowledge_base_source_is_flagged_where_a_template_knows_today(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    """`|when` on a Source: against the plan's horizon, or the base's counted from `today`
    (the macros of alerts and admin views); with neither, the date alone."""
    template = renderer.env.from_string("{{ s|when }}")
    old = source(published="2021-05")
    assert template.render(locale="fr", s=old, kb=kb, today=TODAY) == (
        "page de mai 2021 ⏳ plus de 12 mois")
    assert template.render(locale="en", s=old, kb=kb, today=TODAY) == (
        "page dated May 2021 ⏳ over 12 months")
    assert template.render(locale="fr", s=old) == "page de mai 2021"
    longer = replace(kb, meta=kb.meta.model_copy(update={"verification_horizon_months": 120}))
    assert template.render(locale="fr", s=old, kb=longer, today=TODAY) == "page de mai 2021"


def test_the_sources_list_groups_by_the_date_shown() -> None:
    refs = [SourceRef.of(s, dt.date(2025, 12, 1)) for s in (
        source(published="2021"), source(), source(published="2021-01"),
        source(checked=dt.date(2026, 3, 2)), source(published="2023-05-04"),
        source(checked=dt.date(2026, 11, 2)), source(), source(published="2021-01"))]
    groups = by_date(refs)
    assert [(first.date_kind, first.checked or first.published, len(all_))
            for first, all_ in groups] == [
        ("checked", dt.date(2026, 11, 2), 1), ("checked", dt.date(2026, 3, 2), 1),
        ("published", "2023-05-04", 1), ("published", "2021-01", 2),
        ("published", "2021", 1), ("none", None, 2)]


def plan_on(kb: KnowledgeBase, renderer: Renderer, today: dt.date, answers: dict[str, str],
            locale: str = "fr") -> tuple[Plan, dict[str, str]]:
    dialog = Dialog(kb, renderer.labels)
    state = DialogState("d1", kb.version, step="done", answers=answers)
    plan = build_plan(advise(dialog.profile(state), kb, today), kb, today)
    names = Views(bot=None, renderer=renderer,  # type: ignore[arg-type]
                  clock=FixedClock.on(today)).plan_names(dialog, locale, answers)
    return plan, names


def test_the_plan_flags_its_sources_against_the_base_horizon(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = plan_on(kb, renderer, TODAY, SINGAPORE)
    assert plan.horizon_months == kb.meta.verification_horizon_months
    assert plan.horizon == horizon_start(TODAY, plan.horizon_months)
    every = [*plan.sources, *(a.source for a in plan.summary.actions if a.source)]
    assert every
    for ref in every:
        assert ref.old == (ref.date is None or ref.date < plan.horizon), ref
    # the flag beside each fact in Telegram, and in the 📚 list for each old date group
    text = PlanText(renderer)
    landing = parse_html(text.section(plan, "landing", kb, "fr", names)).text
    for item in plan.section("landing").items:
        ref = item.sources[0]
        assert (f"{renderer.when('fr', ref, 12)}" in landing) and (
            ("⏳" in str(renderer.when("fr", ref, 12))) == ref.old)
    listing = parse_html(text.section(plan, "sources", kb, "fr", names)).text
    assert "⏳ : plus de 12 mois ou jamais vérifiée" in listing
    for ref in plan.sources:  # each date group's line: its date, its flag when old
        assert f"• {renderer.when('fr', ref, 12)} : " in listing, ref


def test_a_checked_source_becomes_old_once_past_the_horizon(
        kb: KnowledgeBase, renderer: Renderer) -> None:
    """The same plan a month after a person checked a source, then thirteen months after."""
    answers, ref = next((answers, r) for answers in PROFILES.values()
                        for r in plan_on(kb, renderer, TODAY, answers)[0].sources if r.checked)
    assert ref.checked is not None
    for days, old in ((30, False), (400, True)):
        later, names = plan_on(kb, renderer, ref.checked + dt.timedelta(days=days), answers)
        again = next(r for r in later.sources if r.url == ref.url)
        assert again.old is old, (days, again)
        vie_aid_landing = " ".join(PlanText(renderer).section(later, key, kb, "fr", names,
                                                              full=True)
                                   for key in ("landing", "vie", "aid"))
        assert str(renderer.when("fr", again, 12)) in parse_html(vie_aid_landing).text


@pytest.mark.parametrize(("locale", "flag"), [("fr", "plus de 12 mois"),
                                              ("en", "over 12 months")])
def test_the_pdf_annex_shows_the_flag_with_a_glyph_the_font_has(
        kb: KnowledgeBase, renderer: Renderer, locale: str, flag: str) -> None:
    assert printable("⏳") == SYMBOLS["⏳"] != ""  # drawn, not dropped
    plan, names = plan_on(kb, renderer, TODAY, SINGAPORE, locale)
    reader = PdfReader(io.BytesIO(render_pdf(plan, kb, locale, names, PlanText(renderer))))
    annex = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages[_annex(reader):]))
    glyph = SYMBOLS["⏳"]
    old_dated = [r for r in plan.sources if r.old and r.date is not None]
    assert old_dated
    assert annex.count(f"{glyph} {flag}") >= len(old_dated), annex[:500]
    for ref in plan.sources:
        words = re.sub(r"\s+", " ", printable(str(renderer.when(locale, ref, 12))))
        assert words in annex, words
        assert (glyph in words) is ref.old


def _annex(reader: PdfReader) -> int:
    """The first page of the sources annex."""
    titles = ("Annexe : toutes les sources", "Annex: every source")
    return next(i for i, page in enumerate(reader.pages)
                if any(t in page.extract_text() for t in titles))
