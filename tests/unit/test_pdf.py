"""The plan as a PDF: a valid document whose text (read back with pypdf) holds every landing
option, every scheme and every source URL of the plan, in both languages, for contrasting
profiles; the budget chart or why there is none; the file name. Content, not layout: the
sections' layouts change independently of the PDF."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import pytest
from pypdf import PdfReader

from bot.advice.engine import advise
from bot.clock import FixedClock
from bot.dialog.engine import Dialog, DialogState
from bot.handlers.views import Views
from bot.kb.snapshot import KnowledgeBase
from bot.plan.build import build_plan
from bot.plan.model import Plan
from bot.render.pdf import SYMBOLS, pdf_filename, plain, printable, render_pdf
from bot.render.plan_text import PlanText
from bot.render.templates import Renderer, format_eur
from tests.conftest import TODAY

PROFILES: dict[str, dict[str, str]] = {
    "singapore, 2 VIE, typed budget": dict(
        sector="cybersecurity", target_region="asia", target_country="sg",
        target_city="singapore", headcount="h10_49", turnover="t1_10m",
        home_region="auvergne-rhone-alpes", stage="exporting", vie="yes", vie_count="2",
        budget="b20_50k", budget_amount="30000", company_age="a3", large_contracts="no"),
    "reunion to montreal, VIE maybe": dict(
        sector="edtech", target_region="north_america", target_country="ca",
        target_city="montreal", headcount="h0_9", turnover="t0_1m", home_region="outre-mer",
        territory="reunion", stage="first_steps", vie="maybe", budget="b20_50k"),
    "martinique to casablanca, band only": dict(
        sector="agritech", target_region="africa", target_country="ma",
        target_city="casablanca", headcount="h10_49", turnover="t1_10m",
        home_region="outre-mer", territory="martinique", stage="exporting", vie="yes",
        vie_count="1", budget="b50_150k", company_age="a1_3", large_contracts="unknown"),
    "big company to london, no VIE": dict(
        sector="iot", target_region="europe", target_country="gb", target_city="london",
        headcount="h250", turnover="t50_500m", home_region="hauts-de-france",
        stage="established", vie="none", budget="b150k", large_contracts="yes",
        company_age="a3"),
    "tokyo, 4 VIE, 150 k and more": dict(
        sector="games", target_region="asia", target_country="jp", target_city="tokyo",
        headcount="h50_249", turnover="t10_50m", home_region="bretagne", stage="established",
        vie="yes", vie_count="4", budget="b150k", large_contracts="no"),
    "every answer unknown": dict(
        sector="unknown", target_region="asia", target_country="unknown", headcount="unknown",
        turnover="unknown", home_region="unknown", stage="unknown", vie="unknown",
        budget="unknown"),
    "saas to san francisco, no VIE, 15 k": dict(
        sector="saas", target_region="north_america", target_country="us",
        target_city="san-francisco", headcount="h0_9", turnover="t0_1m",
        home_region="ile-de-france", stage="first_steps", vie="none", budget="b0_20k",
        budget_amount="15000"),
}


def make(kb: KnowledgeBase, renderer: Renderer, answers: Mapping[str, str],
         locale: str) -> tuple[Plan, dict[str, str]]:
    dialog = Dialog(kb, renderer.labels)
    views = Views(bot=None, renderer=renderer, clock=FixedClock.on(TODAY))  # type: ignore[arg-type]
    state = DialogState("d1", kb.version, step="done", answers=dict(answers))
    plan = build_plan(advise(dialog.profile(state), kb, TODAY), kb, TODAY)
    return plan, views.plan_names(dialog, locale, answers)


FOOTER = re.compile(r"^.* · page \d+/\d+$", re.MULTILINE)


def read(data: bytes) -> tuple[PdfReader, str]:
    """The text of every page, without the running footers: pypdf reads a page's footer where
    it is drawn, which may fall inside a name wrapped at the page's foot."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, FOOTER.sub("", text)


def squeezed(text: str) -> str:
    """Without whitespace: a name or URL may be wrapped across lines."""
    return re.sub(r"\s+", "", text)


def schemes(plan: Plan) -> tuple[list[str], list[str]]:
    """Every scheme the plan names: for this project, excluded, for other projects, to ask
    about, and the closed ones of the aid section."""
    a = plan.advice
    verdicts = [*a.aid, *a.aid_not_eligible, *a.aid_other, *a.aid_unverified]
    for item in plan.section("aid").of_kind("aid_closed"):
        verdicts += item.value
    return [v.aid.name.get("fr") for v in verdicts], [v.aid.name.get("en") for v in verdicts]


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("profile", list(PROFILES))
def test_pdf_holds_every_option_scheme_and_source(kb: KnowledgeBase, renderer: Renderer,
                                                  profile: str, locale: str) -> None:
    plan, names = make(kb, renderer, PROFILES[profile], locale)
    data = render_pdf(plan, kb, locale, names, PlanText(renderer))
    assert data.startswith(b"%PDF-")
    reader, text = read(data)
    assert len(reader.pages) >= 5  # first page, three sections, the sources annex
    flat = squeezed(text)
    # the first page: profile, date, knowledge version
    for value in names.values():
        assert squeezed(printable(value)) in flat, value
    assert squeezed(plain(renderer.text(locale, "pdf.cover.version",
                                        version=plan.kb_version))) in flat
    for la in plan.advice.landing:
        assert squeezed(printable(la.record.name)) in flat, la.record.name
    fr_names, en_names = schemes(plan)
    assert fr_names, "every profile's plan names schemes"
    for name in fr_names if locale == "fr" else en_names:
        assert squeezed(printable(name)) in flat, name
    assert plan.sources
    for ref in plan.sources:
        assert squeezed(ref.url) in flat, ref.url
    # a drawn glyph for every character: nothing outside what the font has
    assert not any(ch in text for ch in "✅⛔🔎❔🛬💶📚🧑")


def test_accents_euro_and_symbols_survive(kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["singapore, 2 VIE, typed budget"], "fr")
    _, text = read(render_pdf(plan, kb, "fr", names, PlanText(renderer)))
    for ch in ("é", "è", "à", "€", "≤", "«"):
        assert ch in text, ch
    assert "✓" in text  # ✅ Team France Export, mapped to a glyph the font has
    assert "Cybersécurité" in text


def test_symbols_map_to_glyphs_and_others_are_dropped() -> None:
    assert printable("✅ ok ⛔ non 🔎 ? ⚠️ attention") == "✓ ok ✗ non ? ? ⚠ attention"
    assert printable("🛬 Où atterrir · 🧑‍💼 VIE") == " Où atterrir ·  VIE"
    assert printable("≤ 249 € é") == "≤ 249 € é"
    assert all(printable(glyph) == glyph for glyph in SYMBOLS.values())


def test_budget_chart_shows_the_plan_figures(kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["singapore, 2 VIE, typed budget"], "fr")
    _, text = read(render_pdf(plan, kb, "fr", names, PlanText(renderer)))
    flat = squeezed(text)
    budget = plan.advice.budget
    assert budget.vie is not None and plan.summary.budget.total is not None
    assert squeezed(plain(renderer.text("fr", "pdf.chart.vie", count=2,
                                        months=budget.vie.months))) in flat
    assert squeezed(format_eur(budget.vie.cost.low, "fr")) in flat
    assert squeezed(plain(renderer.text("fr", "pdf.chart.amount",
                                        amount=format_eur(30000, "fr")))) in flat
    for v in budget.offsets:  # the aid that could offset it, by name
        assert squeezed(v.aid.name.get("fr")) in flat
    assert squeezed(plain(renderer.text("fr", "pdf.chart.none.nothing_priced"))) not in flat


def test_band_only_budget_shows_the_band_edges(kb: KnowledgeBase, renderer: Renderer) -> None:
    answers = dict(PROFILES["singapore, 2 VIE, typed budget"])
    del answers["budget_amount"]  # the band 20 to 50 k€ tapped, no amount typed
    plan, names = make(kb, renderer, answers, "en")
    assert plan.summary.budget.user_amount is None and plan.summary.budget.total is not None
    _, text = read(render_pdf(plan, kb, "en", names, PlanText(renderer)))
    band = plain(renderer.text("en", "pdf.chart.band", low=format_eur(20000, "en"),
                               high=format_eur(50000, "en")))
    assert squeezed(band) in squeezed(text)


def test_open_band_shows_its_lower_edge(kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["tokyo, 4 VIE, 150 k and more"], "fr")
    assert plan.summary.budget.total is not None
    _, text = read(render_pdf(plan, kb, "fr", names, PlanText(renderer)))
    band = plain(renderer.text("fr", "pdf.chart.band_open", low=format_eur(150000, "fr")))
    assert squeezed(band) in squeezed(text)


def test_nothing_priced_says_so_instead_of_a_chart(kb: KnowledgeBase,
                                                   renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["big company to london, no VIE"], "fr")
    assert plan.summary.budget.kind == "none"
    assert plan.summary.budget.reason == "nothing_priced"
    _, text = read(render_pdf(plan, kb, "fr", names, PlanText(renderer)))
    flat = squeezed(text)
    assert squeezed(plain(renderer.text("fr", "pdf.chart.none.nothing_priced"))) in flat
    assert squeezed(plain(renderer.text("fr", "pdf.chart.cost"))) not in flat


def test_typical_plan_is_small(kb: KnowledgeBase, renderer: Renderer) -> None:
    """The font is embedded as a subset (the full DejaVu faces weigh 2 MB)."""
    plan, names = make(kb, renderer, PROFILES["singapore, 2 VIE, typed budget"], "fr")
    assert len(render_pdf(plan, kb, "fr", names, PlanText(renderer))) < 200_000


def test_pdf_metadata_and_deterministic(kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["reunion to montreal, VIE maybe"], "en")
    first = render_pdf(plan, kb, "en", names, PlanText(renderer))
    assert first == render_pdf(plan, kb, "en", names, PlanText(renderer))
    reader, _ = read(first)
    assert reader.metadata is not None
    assert reader.metadata.title == "Export plan: Montreal"


@pytest.mark.parametrize(("profile", "locale", "expected"), [
    ("singapore, 2 VIE, typed budget", "fr", "plan-export-singapour-2026-12-02.pdf"),
    ("singapore, 2 VIE, typed budget", "en", "export-plan-singapore-2026-12-02.pdf"),
    ("reunion to montreal, VIE maybe", "fr", "plan-export-montreal-2026-12-02.pdf"),
    ("saas to san francisco, no VIE, 15 k", "fr", "plan-export-san-francisco-2026-12-02.pdf"),
    ("every answer unknown", "en", "export-plan-asia-2026-12-02.pdf"),
])
def test_filename(kb: KnowledgeBase, renderer: Renderer, profile: str, locale: str,
                  expected: str) -> None:
    plan, names = make(kb, renderer, PROFILES[profile], locale)
    assert pdf_filename(plan, kb, locale, names) == expected


def test_filename_without_a_place(kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["every answer unknown"], "fr")
    assert pdf_filename(plan, kb, "fr", {**names, "target": "—"}) == "plan-export-2026-12-02.pdf"


def test_telegram_html_becomes_styled_runs() -> None:
    from bot.render.pdf import runs

    got = runs('✅ <b>Bold</b> and <i>it &amp; al</i>\n<a href="https://x.fr/a?b=1&amp;c=2">x.fr</a>'
               '<blockquote expandable>quoted <b>bit</b></blockquote><tg-spoiler>kept</tg-spoiler>')
    assert [(r.text, r.bold, r.italic, r.href, r.quote) for r in got] == [
        ("✓ ", False, False, None, 0), ("Bold", True, False, None, 0),
        (" and ", False, False, None, 0), ("it & al", False, True, None, 0),
        ("\n", False, False, None, 0), ("x.fr", False, False, "https://x.fr/a?b=1&c=2", 0),
        ("quoted ", False, False, None, 1), ("bit", True, False, None, 1),
        ("kept", False, False, None, 0)]


def test_every_source_is_a_link_to_its_full_url(kb: KnowledgeBase, renderer: Renderer) -> None:
    plan, names = make(kb, renderer, PROFILES["saas to san francisco, no VIE, 15 k"], "fr")
    reader, _ = read(render_pdf(plan, kb, "fr", names, PlanText(renderer)))
    uris = {annot.get_object()["/A"]["/URI"] for page in reader.pages
            for annot in page.get("/Annots", [])}
    assert {ref.url for ref in plan.sources} <= uris
