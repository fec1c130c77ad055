"""The whole plan as a PDF to keep, print and forward: a first page with the profile, the date
and the knowledge version, the summary, the budget drawn as a chart, every section in full and
an annex with every source URL. Made with fpdf2 and the vendored DejaVu Sans (subset-embedded).

Pure and synchronous (no aiogram, no event loop): the handler runs it in a thread. The sections
are the Telegram HTML of PlanText (`full=True`), converted here: <b>, <i>, <a href>, <blockquote>
and newlines; other tags keep their text. Emoji are not in the font: SYMBOLS maps the plan's
symbols to glyphs it has, and any other character the font lacks is dropped.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser

from fontTools.ttLib import TTFont
from fpdf import FPDF
from markupsafe import Markup

from bot.advice.budget import Span
from bot.advice.vie import whole_eur
from bot.config import PROJECT_ROOT
from bot.kb.snapshot import KnowledgeBase
from bot.plan.model import Plan
from bot.render.plan_text import PlanText
from bot.render.templates import default_renderer, format_date, format_eur

FONT_DIR = PROJECT_ROOT / "assets" / "fonts"
FAMILY = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
              "BI": "DejaVuSans-Bold.ttf"}  # bold italic is rare in a plan: bold stands in

SYMBOLS: dict[str, str] = {
    "✅": "✓", "☑": "✓", "✔": "✓",
    "⛔": "✗", "❌": "✗", "✖": "✗",
    "🚫": "⊘",  # closed scheme
    "🔎": "?", "🔍": "?", "❔": "?", "❓": "?",
    "⚠": "⚠",  # the font has it (the emoji form is ⚠ + VS16, dropped below)
    "❗": "!", "❕": "!",
    "📝": "✎",  # on application
    "💭": "…",  # a proposal
    "💱": "⇄",  # currency cover
    "💶": "€", "💰": "€",
    "➡": "→", "⬅": "←",
}
"""The plan's symbols, as glyphs DejaVu Sans has. Other emoji (section icons) are dropped."""

INVISIBLE = frozenset("\ufe0e\ufe0f\u200d\u20e3")
"""Emoji joiners and variation selectors: nothing to draw once the emoji is gone."""

# Layout, in millimetres and points (A4, readable when printed).
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20.0, 18.0, 18.0
BODY_PT, SMALL_PT, H1_PT, H2_PT = 10.0, 8.0, 18.0, 13.5
LINE = 5.0  # line height of body text
QUOTE_INDENT = 5.0
INK, GREY, LINK, RULE = (20, 20, 20), (95, 95, 95), (20, 70, 160), (190, 190, 190)
COST_COLOURS = ((38, 110, 170), (240, 150, 40), (120, 170, 90))
RANGE_COLOUR, BUDGET_COLOUR, BAND_COLOUR = (190, 210, 230), (70, 150, 90), (185, 220, 190)


# --- characters -----------------------------------------------------------------------------


@cache
def _covered() -> frozenset[int]:
    """Code points every one of the vendored faces draws."""
    faces = [set(TTFont(FONT_DIR / name, lazy=True)["cmap"].getBestCmap())
             for name in set(FONT_FILES.values())]
    return frozenset(set.intersection(*faces))


@cache
def _glyph(ch: str) -> str:
    if ch in INVISIBLE:
        return ""
    if ch in SYMBOLS:
        return SYMBOLS[ch]
    if ch in "\n\t":
        return ch
    return ch if ord(ch) in _covered() else ""


def printable(text: str) -> str:
    """`text` with the plan's symbols mapped and every character the font lacks dropped."""
    return "".join(_glyph(ch) for ch in text)


def plain(markup: str) -> str:
    """Visible text of a bit of our HTML (titles, metadata, the footer)."""
    return printable(html.unescape(re.sub(r"<[^>]+>", "", str(markup)))).strip()


# --- Telegram HTML -> runs ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Text in one style; `text` may hold newlines (Telegram's line breaks)."""

    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None
    quote: int = 0  # blockquote depth


class _Runs(HTMLParser):
    _BOLD = frozenset({"b", "strong"})
    _ITALIC = frozenset({"i", "em"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[Run] = []
        self.bold = self.italic = self.quote = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BOLD:
            self.bold += 1
        elif tag in self._ITALIC:
            self.italic += 1
        elif tag == "blockquote":
            self.quote += 1
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "br":
            self.handle_data("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BOLD:
            self.bold = max(0, self.bold - 1)
        elif tag in self._ITALIC:
            self.italic = max(0, self.italic - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "a" and self.links:
            self.links.pop()

    def handle_data(self, data: str) -> None:
        text = printable(data)
        if text:
            href = next((h for h in reversed(self.links) if h), None)
            self.runs.append(Run(text, self.bold > 0, self.italic > 0, href, self.quote))


def runs(markup: str) -> list[Run]:
    """Telegram HTML as styled runs of printable text."""
    parser = _Runs()
    parser.feed(str(markup))
    parser.close()
    return parser.runs


# --- the document ---------------------------------------------------------------------------


class _Doc(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        for style, name in FONT_FILES.items():
            self.add_font(FAMILY, style, FONT_DIR / name)
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.set_text_color(*INK)

    @property
    def width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", SMALL_PT - 0.5)
        self.set_text_color(*GREY)
        self.cell(0, 4, self.footer_text.replace("{page}", str(self.page_no())), align="C")
        self.set_text_color(*INK)

    def heading(self, text: str, size: float = H2_PT, space: float = 3.0) -> None:
        if self.get_y() > self.h - MARGIN_BOTTOM - 30:
            self.add_page()
        self.set_font(FAMILY, "B", size)
        self.set_text_color(*INK)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        y = self.get_y() + 1
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, y, self.l_margin + self.width, y)
        self.set_y(y + space)

    def flow(self, items: list[Run], size: float = BODY_PT, line: float = LINE) -> None:
        """Write runs as Telegram shows them: a newline breaks the line, a blank line is a
        short gap, a blockquote is indented in grey."""
        at_start, breaks, quote = True, 0, 0
        for run in items:
            if run.quote != quote:
                if not at_start:
                    self.ln(line)
                quote = run.quote
                self.set_left_margin(MARGIN_X + QUOTE_INDENT * quote)
                self.set_x(self.l_margin)
                at_start, breaks = True, 1  # the tag already broke the line
            for i, piece in enumerate(run.text.split("\n")):
                if i:
                    breaks += 1
                    if breaks == 1:
                        self.ln(line)
                    elif breaks == 2:
                        self.ln(line * 0.5)
                    at_start = True
                if at_start:
                    piece = piece.lstrip()
                if not piece:
                    continue
                self._style(run, size)
                self.write(line, piece, link=run.href or "")
                at_start, breaks = False, 0
        if not at_start:
            self.ln(line)
        self.set_left_margin(MARGIN_X)
        self.set_x(MARGIN_X)
        self.set_text_color(*INK)

    def _style(self, run: Run, size: float) -> None:
        style = ("B" if run.bold else "") + ("I" if run.italic else "")
        self.set_font(FAMILY, style, size - (0.5 if run.quote else 0))
        self.set_text_color(*(LINK if run.href else GREY if run.quote or run.italic else INK))


def render_pdf(plan: Plan, kb: KnowledgeBase, locale: str, names: Mapping[str, str],
               text: PlanText) -> bytes:
    """The complete plan as PDF bytes (A4), every word from the locale's texts."""
    return _Writer(plan, kb, locale, names, text).render()


def pdf_filename(plan: Plan, kb: KnowledgeBase, locale: str, names: Mapping[str, str]) -> str:
    """`plan-export-singapour-2026-12-01.pdf`: the destination as the reader saw it,
    ASCII-folded, lower case, hyphens; the plan's date."""
    text = default_renderer().text
    place = slug(names.get("target", ""))
    date = plan.today.isoformat()
    name = (text(locale, "pdf.filename", place=place, date=date) if place
            else text(locale, "pdf.filename.no_place", date=date))
    return f"{slug(plain(name))}.pdf"


def slug(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


class _Writer:
    """One rendering: the plan, its texts and the document being written."""

    def __init__(self, plan: Plan, kb: KnowledgeBase, locale: str, names: Mapping[str, str],
                 text: PlanText) -> None:
        self.plan, self.kb, self.locale, self.names, self.text = plan, kb, locale, names, text
        self.renderer = text.renderer

    def t(self, key: str, **params: object) -> Markup:
        return self.renderer.text(self.locale, key, **params)

    def day(self, day: dt.date) -> str:
        return format_date(day, self.locale)

    def eur(self, amount: int) -> str:
        return format_eur(amount, self.locale)

    def render(self) -> bytes:
        plan, t = self.plan, self.t
        target = self.names.get("target", "")
        title = plain(t("pdf.doc_title", target=target))
        footer = plain(t("pdf.footer", title=title, day=self.day(plan.today),
                         version=plan.kb_version, page="{page}", pages="{nb}"))
        doc = _Doc(footer)
        self.doc = doc
        doc.set_title(title)
        doc.set_author(plain(t("pdf.author")))
        doc.set_creator(plain(t("pdf.author")))
        doc.set_lang(self.locale)
        doc.set_creation_date(dt.datetime.combine(plan.today, dt.time(), dt.UTC))
        doc.add_page()
        self.cover(target)
        self.summary()
        self.chart()
        for key in ("landing", "vie", "aid"):
            doc.add_page()
            self.section(self.text.section(plan, key, self.kb, self.locale, self.names,
                                           full=True))
        doc.add_page()
        self.sources()
        return bytes(doc.output())

    # --- first page -----------------------------------------------------------------------

    def cover(self, target: str) -> None:
        doc, t = self.doc, self.t
        doc.set_font(FAMILY, "", SMALL_PT)
        doc.set_text_color(*GREY)
        doc.cell(0, 5, plain(t("pdf.cover.kicker")), new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
        doc.heading(plain(t("pdf.cover.title", target=target)), H1_PT, space=4)
        doc.set_font(FAMILY, "B", BODY_PT)
        doc.cell(0, LINE + 1, plain(t("pdf.cover.profile")), new_x="LMARGIN", new_y="NEXT")
        label_w = 55.0
        for key, value in self.names.items():
            doc.set_font(FAMILY, "", BODY_PT)
            doc.set_text_color(*GREY)
            doc.cell(label_w, LINE, plain(t(f"pdf.profile.{key}")))
            doc.set_text_color(*INK)
            doc.multi_cell(0, LINE, printable(value), new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
        doc.set_font(FAMILY, "", BODY_PT)
        for line in (t("pdf.cover.date", day=self.day(self.plan.today)),
                     t("pdf.cover.version", version=self.plan.kb_version)):
            doc.cell(0, LINE, plain(line), new_x="LMARGIN", new_y="NEXT")
        doc.ln(1)
        doc.set_font(FAMILY, "I", SMALL_PT + 0.5)
        doc.set_text_color(*GREY)
        doc.multi_cell(0, 4, plain(t("pdf.cover.note")), new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(*INK)
        doc.ln(5)

    def summary(self) -> None:
        markup = self.text.summary(self.plan, self.kb, self.locale, self.names)
        self.doc.heading(plain(self.t("pdf.summary.title")))
        self.doc.flow(runs(_without_footer(markup, self.telegram_footer())))

    def telegram_footer(self) -> str:
        """The summary's last line points at Telegram buttons: not a thing a PDF has."""
        try:
            return str(self.t("plan.footer", version=self.plan.kb_version,
                              day=self.day(self.plan.today)))
        except KeyError:
            return ""

    # --- sections -------------------------------------------------------------------------

    def section(self, markup: str) -> None:
        """A section: its first line (the title) as a heading, the rest as the body."""
        head, _, body = markup.strip().partition("\n")
        self.doc.heading(plain(head))
        self.doc.flow(runs(body))

    def sources(self) -> None:
        doc, t = self.doc, self.t
        doc.heading(plain(t("pdf.sources.title")))
        doc.set_font(FAMILY, "I", SMALL_PT + 0.5)
        doc.set_text_color(*GREY)
        doc.multi_cell(0, 4, plain(t("pdf.sources.intro")), new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
        for n, ref in enumerate(self.plan.sources, 1):
            date = t(f"plan.date.{ref.date_kind}", day=self.day(ref.date))
            confidence = t(f"pdf.confidence.{ref.confidence}")
            doc.set_font(FAMILY, "", SMALL_PT + 0.5)
            doc.set_text_color(*INK)
            doc.cell(8, 4.2, f"{n}.")
            doc.set_text_color(*LINK)
            doc.multi_cell(0, 4.2, ref.url, link=ref.url, new_x="LMARGIN", new_y="NEXT")
            doc.set_x(doc.l_margin + 8)
            doc.set_text_color(*GREY)
            doc.multi_cell(0, 4.2, plain(t("pdf.sources.line", date=date,
                                           confidence=confidence)),
                           new_x="LMARGIN", new_y="NEXT")
            doc.ln(1)
        doc.set_text_color(*INK)

    # --- the budget chart -----------------------------------------------------------------

    def chart(self) -> None:
        doc, t = self.doc, self.t
        line = self.plan.summary.budget
        budget = self.plan.advice.budget
        if doc.get_y() > doc.h - MARGIN_BOTTOM - 80:
            doc.add_page()
        doc.ln(3)
        doc.heading(plain(t("pdf.chart.title")))
        if line.kind == "none" or line.total is None:
            doc.flow(runs(t(f"pdf.chart.none.{line.reason or 'nothing_priced'}")))
            return
        costs = list(self.cost_items())
        scale_top = max(line.total.high, *(edge for edge in self.budget_edges() if edge))
        left, bar_w, bar_h = doc.l_margin, doc.width * 0.62, 9.0
        label_w = 30.0
        x0, span_w = left + label_w, bar_w - label_w

        def x(amount: int) -> float:
            return x0 + span_w * amount / scale_top

        top = doc.get_y() + 2
        # cost bar: each item's low figure stacked, then the range up to the total's high end
        doc.set_font(FAMILY, "B", SMALL_PT + 0.5)
        doc.set_xy(left, top + 2)
        doc.cell(label_w, 5, plain(t("pdf.chart.cost")))
        start = 0
        for (_, span), colour in zip(costs, COST_COLOURS, strict=False):
            doc.set_fill_color(*colour)
            doc.rect(x(start), top, x(start + span.low) - x(start), bar_h, style="F")
            start += span.low
        if line.total.high > line.total.low:
            doc.set_fill_color(*RANGE_COLOUR)
            doc.rect(x(line.total.low), top, x(line.total.high) - x(line.total.low), bar_h,
                     style="F")
        # budget bar
        btop = top + bar_h + 5
        doc.set_xy(left, btop + 2)
        doc.set_text_color(*INK)
        doc.cell(label_w, 5, plain(t("pdf.chart.budget")))
        low, high = self.budget_edges()
        if low is None and high is None:
            doc.set_xy(x0, btop + 2)
            doc.set_font(FAMILY, "I", SMALL_PT)
            doc.cell(span_w, 5, plain(t("pdf.chart.no_budget")))
        else:
            solid = low if line.user_amount is None else line.user_amount
            doc.set_fill_color(*BUDGET_COLOUR)
            if solid:
                doc.rect(x0, btop, x(solid) - x0, bar_h, style="F")
            if line.user_amount is None:
                end = high if high is not None else scale_top
                doc.set_fill_color(*BAND_COLOUR)
                doc.rect(x(solid or 0), btop, x(end) - x(solid or 0), bar_h, style="F")
        # axis
        doc.set_draw_color(*GREY)
        doc.set_line_width(0.2)
        doc.line(x0, top - 1, x0, btop + bar_h + 1)
        # legend under the bars
        doc.set_y(btop + bar_h + 4)
        legend: list[tuple[tuple[int, int, int], str]] = [
            (colour, plain(t("pdf.chart.legend", label=label, value=self.span(span))))
            for (label, span), colour in zip(costs, COST_COLOURS, strict=False)]
        if line.total.high > line.total.low:
            legend.append((RANGE_COLOUR, plain(t("pdf.chart.legend", label=t("pdf.chart.range"),
                                                 value=self.span(line.total)))))
        budget_words = self.budget_words()
        if budget_words:
            legend.append((BUDGET_COLOUR, budget_words))
        for colour, words in legend:
            doc.set_fill_color(*colour)
            y = doc.get_y()
            doc.rect(left, y + 1, 3.5, 3.5, style="F")
            doc.set_xy(left + 5, y)
            doc.set_font(FAMILY, "", SMALL_PT + 0.5)
            doc.set_text_color(*INK)
            doc.multi_cell(bar_w - 5, 5, words, new_x="LMARGIN", new_y="NEXT")
        bottom = doc.get_y()
        # the aid that could offset it, beside the bars
        col = left + bar_w + 6
        doc.set_xy(col, top - 1)
        doc.set_left_margin(col)
        doc.set_font(FAMILY, "B", SMALL_PT + 0.5)
        doc.multi_cell(0, 4.5, plain(t("pdf.chart.offsets")), new_x="LMARGIN", new_y="NEXT")
        if not budget.offsets:
            doc.set_font(FAMILY, "I", SMALL_PT)
            doc.multi_cell(0, 4, plain(t("pdf.chart.no_offsets")), new_x="LMARGIN",
                           new_y="NEXT")
        for v in budget.offsets:
            doc.set_font(FAMILY, "", SMALL_PT + 0.5)
            doc.multi_cell(0, 4.2, "• " + printable(v.aid.name.get(self.locale)),
                           new_x="LMARGIN", new_y="NEXT")
            doc.set_font(FAMILY, "I", SMALL_PT - 0.5)
            doc.set_text_color(*GREY)
            details = [plain(t(f"pdf.verdict.{v.eligibility.value}"))]
            if v.aid.amount is not None:
                details.append(plain(t("pdf.chart.offset_amount",
                                       amount=v.aid.amount.get(self.locale))))
            doc.multi_cell(0, 3.6, "\n".join(details), new_x="LMARGIN", new_y="NEXT")
            doc.set_text_color(*INK)
            doc.ln(0.8)
        doc.set_left_margin(MARGIN_X)
        doc.set_y(max(bottom, doc.get_y()) + 2)
        doc.set_font(FAMILY, "I", SMALL_PT)
        doc.set_text_color(*GREY)
        doc.multi_cell(0, 4, plain(t("pdf.chart.note")), new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(*INK)

    def cost_items(self) -> Iterator[tuple[Markup, Span]]:
        """The cost items the plan's estimate adds up (VIE, landing structure)."""
        line, budget = self.plan.summary.budget, self.plan.advice.budget
        vie = budget.scenario if line.with_one_vie else budget.vie
        if vie is not None:
            yield ((self.t("pdf.chart.vie_one", months=vie.months) if line.with_one_vie
                    else self.t("pdf.chart.vie", count=vie.count, months=vie.months)),
                   vie.cost)
        if budget.landing_year is not None and budget.landing is not None:
            yield (self.t("pdf.chart.landing", name=budget.landing.name),
                   Span(budget.landing_year, budget.landing_year))

    def budget_edges(self) -> tuple[int | None, int | None]:
        """The user's budget as the plan compares it: the amount, or the band's edges."""
        line = self.plan.summary.budget
        if line.user_amount is not None:
            return line.user_amount, line.user_amount
        band = line.user_band
        if band is None:
            return None, None
        high = None if band.high is None else whole_eur(band.high) + 1
        return whole_eur(band.low or 0), high

    def budget_words(self) -> str:
        line = self.plan.summary.budget
        low, high = self.budget_edges()
        if line.user_amount is not None:
            words = self.t("pdf.chart.amount", amount=self.eur(line.user_amount))
        elif low is None:
            return ""
        elif high is None:
            words = self.t("pdf.chart.band_open", low=self.eur(low))
        else:
            words = self.t("pdf.chart.band", low=self.eur(low), high=self.eur(high))
        return plain(self.t("pdf.chart.legend", label=self.t("pdf.chart.budget"), value=words))

    def span(self, span: Span) -> str:
        if span.single:
            return self.eur(span.low)
        return plain(self.t("plan.span", low=self.eur(span.low), high=self.eur(span.high)))


def _without_footer(markup: str, footer: str) -> str:
    if not footer:
        return markup
    for wrapped in (f"<i>{footer}</i>", footer):
        if wrapped in markup:
            return markup.replace(wrapped, "")
    return markup
