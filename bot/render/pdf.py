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
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from typing import cast

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import TTFFont
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
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
"""The faces by fpdf2 style; bold italic is rare in a plan: bold stands in (_style)."""

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
    "⏳": "◷", "⌛": "◷",  # a source due for re-verification (the font has no hourglass)
}
"""The plan's symbols, as glyphs DejaVu Sans has. Other emoji (section icons) are dropped."""

KEPT = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x180),  # Latin-1, Latin Extended-A
     *range(0x2000, 0x2070), *range(0x20A0, 0x20C1),  # punctuation, currencies
     *map(ord, "ℹ№™←↑→↓⇄−±×÷≈≠≤≥∞√∆∑◦●○■□▪▫▲▶▼◀◷⚠✓✗✎⊘")])
"""The characters a PDF can show: what French and English plans use and the SYMBOLS' glyphs.
Anything else is dropped rather than drawn as a missing-glyph box."""

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
    """Code points every face the documents embed draws (KEPT, less what DejaVu lacks)."""
    faces = [set(TTFont(io.BytesIO(data), lazy=True)["cmap"].getBestCmap())
             for data in _fonts().values()]
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


@cache
def _fonts() -> dict[str, bytes]:
    """The vendored faces cut down, once per process, to the characters a plan may use
    (KEPT): each document then parses a small font instead of 6,000 glyphs, and embeds a
    subset of it."""
    from fontTools import subset

    options = subset.Options()
    options.layout_features = []  # no shaping: fpdf2 places glyphs one by one
    options.notdef_outline = True
    options.glyph_names = True
    options.name_IDs = ["*"]
    options.hinting = False
    options.drop_tables += ["FFTM"]
    out: dict[str, bytes] = {}
    for name in set(FONT_FILES.values()):
        font = TTFont(FONT_DIR / name, lazy=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=KEPT)
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
        out[name] = buffer.getvalue()
    return out


class _Doc(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        faces = _fonts()
        for style, name in FONT_FILES.items():
            # add_font() wants a file; the cut-down face is in memory (fpdf2 reads the path
            # only for text shaping, which the plan does not use)
            key = f"{FAMILY.lower()}{style}"
            self.fonts[key] = TTFFont(self, io.BytesIO(faces[name]), key, style)  # type: ignore[arg-type]
        self.face_widths = {style: cast(TTFFont, self.fonts[f"{FAMILY.lower()}{style}"]).cw
                   for style in FONT_FILES}
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.c_margin = 0
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
        if self.will_page_break(30):
            self.add_page()
        self.flow([Run(text, bold=True)], size, size * 0.5)
        y = self.get_y() + 1
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, y, self.l_margin + self.width, y)
        self.set_y(y + space)

    def widths(self, style: str) -> Mapping[int, float]:
        """Advance widths (thousandths of the font size) of a face, by code point."""
        return self.face_widths[style]

    def text_width(self, text: str, style: str, size: float) -> float:
        widths = self.widths(style)
        return sum(widths[ord(c)] for c in text) * size / 1000 / self.k

    def flow(self, items: list[Run], size: float = BODY_PT, line: float = LINE,
             indent: float = 0.0, colour: tuple[int, int, int] | None = None) -> None:
        """Write runs as Telegram shows them: a newline breaks the line, a blank line is a
        short gap, a blockquote is indented in grey. Lines are broken here (at spaces, inside a
        word only when it is wider than the line), then drawn one styled piece at a time."""
        for quote, pieces in _lines(items):
            if pieces is None:
                self.set_y(self.get_y() + line * 0.5)
                continue
            left = self.l_margin + indent + QUOTE_INDENT * quote
            self.lay_line(pieces, left, self.l_margin + self.width - left, size, line, colour)

    def lay_line(self, pieces: list[tuple[Run, str]], left: float, width: float, size: float,
                 line: float, colour: tuple[int, int, int] | None) -> None:
        """One hard line (no newline inside), wrapped to `width`."""
        words: list[tuple[Run, str, float, float]] = []  # run, word, width, its space's width
        for run, text in pieces:
            style, run_size = _style(run), size - (0.5 if run.quote else 0)
            space = self.text_width(" ", style, run_size)
            lead = len(text) - len(text.lstrip(" "))
            if lead and words:  # "<b>x</b> y": the space belongs after the previous word
                prev = words[-1]
                words[-1] = (prev[0], prev[1], prev[2], prev[3] + space * lead)
            for word in re.findall(r"[^ ]+ *", text):
                bare = word.rstrip(" ")
                w = self.text_width(bare, style, run_size)
                if w > width:  # a long URL: cut it where the line ends
                    words.extend(self._cut(run, bare, style, run_size, width))
                    continue
                words.append((run, bare, w, space * (len(word) - len(bare))))
        x, out = 0.0, cast(list[tuple[Run, str, float, float]], [])
        rows: list[list[tuple[Run, str, float, float]]] = []
        for word in words:
            if out and x + word[2] > width + 0.01:
                rows.append(out)
                out, x = [], 0.0
            out.append(word)
            x += word[2] + word[3]
        if out:
            rows.append(out)
        for row in rows:
            if self.will_page_break(line):
                self.add_page()
            y, cx = self.get_y(), left
            for run, text, w in _segments(row):
                # text() at the baseline, as cell() places it, at a fraction of cell()'s cost
                self._apply(run, size, colour)
                self.text(cx, y + 0.5 * line + 0.3 * self.font_size, text)
                if run.href:
                    self.link(cx, y, w, line, run.href)
                cx += w
            self.set_xy(self.l_margin, y + line)

    def _cut(self, run: Run, word: str, style: str, size: float,
             width: float) -> Iterator[tuple[Run, str, float, float]]:
        """A word wider than the line, in pieces that fill a line each (the space after a
        piece is the line's width: the next piece starts a new line)."""
        widths = self.widths(style)
        scale = size / 1000 / self.k
        piece, w = "", 0.0
        for c in word:
            cw = widths[ord(c)] * scale
            if piece and w + cw > width:
                yield run, piece, w, width
                piece, w = "", 0.0
            piece += c
            w += cw
        yield run, piece, w, 0.0

    def _apply(self, run: Run, size: float, colour: tuple[int, int, int] | None) -> None:
        self.set_font(FAMILY, _style(run), size - (0.5 if run.quote else 0))
        self.set_text_color(*(LINK if run.href else colour if colour is not None
                              else GREY if run.quote or run.italic else INK))


def _style(run: Run) -> str:
    return "B" if run.bold else "I" if run.italic else ""


def _lines(items: list[Run]) -> Iterator[tuple[int, list[tuple[Run, str]] | None]]:
    """Hard lines of runs (quote depth, pieces), None for a blank line between paragraphs.
    A change of blockquote starts a new line; the newline just inside or after a blockquote
    tag is the tag's own (Telegram shows no empty line there); leading spaces are dropped (an
    emoji that led the line is gone)."""
    pieces: list[tuple[Run, str]] = []
    quote, blank, swallow = 0, 0, False
    for run in items:
        if run.quote != quote:
            if pieces:
                yield quote, pieces
            pieces, quote, swallow, blank = [], run.quote, True, 0
        for i, text in enumerate(run.text.split("\n")):
            if i:
                if pieces:
                    yield quote, pieces
                    pieces, blank = [], 0
                elif swallow:
                    swallow = False
                else:
                    blank += 1
                    if blank == 1:
                        yield quote, None
            if not pieces:
                text = text.lstrip()
            if text:
                pieces.append((run, text))
                swallow = False
    if pieces:
        yield quote, pieces


def _segments(row: list[tuple[Run, str, float, float]]) -> Iterator[tuple[Run, str, float]]:
    """Consecutive words of one run drawn as one piece (the last one's space left out)."""
    current: Run | None = None
    text, width = "", 0.0
    for i, (run, word, w, space) in enumerate(row):
        last = i == len(row) - 1
        if current is not None and run is not current:
            yield current, text, width
            text, width = "", 0.0
        current = run
        text += word
        width += w
        if not last and space:
            if row[i + 1][0] is run:
                text += " "
            width += space  # between two runs: a gap, not a drawn space
    if current is not None:
        yield current, text, width


def render_pdf(plan: Plan, kb: KnowledgeBase, locale: str, names: Mapping[str, str],
               text: PlanText, annex: str | None = None) -> bytes:
    """The complete plan as PDF bytes (A4), every word from the locale's texts; `annex`: a
    comparison with another destination (Telegram HTML), on its own last page."""
    return _Writer(plan, kb, locale, names, text).render(annex)


def pdf_filename(plan: Plan, kb: KnowledgeBase, locale: str, names: Mapping[str, str]) -> str:
    """`plan-export-singapour-2026-12-02.pdf`: the destination as the reader saw it,
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

    def render(self, annex: str | None = None) -> bytes:
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
        if annex:
            doc.add_page()
            doc.heading(plain(t("cmp.annex")))
            self.section(annex)
        return bytes(doc.output())

    # --- first page -----------------------------------------------------------------------

    def para(self, markup: str, size: float = BODY_PT, line: float = LINE,
             indent: float = 0.0, colour: tuple[int, int, int] | None = None,
             bold: bool = False, italic: bool = False) -> None:
        """A paragraph of our own texts (which may hold <b>, <i>)."""
        items = [Run(r.text, r.bold or bold, r.italic or italic, r.href) for r in runs(markup)]
        self.doc.flow(items, size, line, indent, colour)

    def cover(self, target: str) -> None:
        doc, t = self.doc, self.t
        self.para(t("pdf.cover.kicker"), SMALL_PT, 5, colour=GREY)
        doc.ln(2)
        doc.heading(plain(t("pdf.cover.title", target=target)), H1_PT, space=4)
        self.para(t("pdf.cover.profile"), BODY_PT, LINE + 1, bold=True)
        label_w = 50.0
        for key, value in self.names.items():
            y = doc.get_y()
            self.para(t(f"pdf.profile.{key}"), colour=GREY)
            after_label = doc.get_y()
            doc.set_y(y)
            doc.flow([Run(printable(value))], indent=label_w)
            doc.set_y(max(after_label, doc.get_y()))
        doc.ln(2)
        self.para(t("pdf.cover.date", day=self.day(self.plan.today)))
        self.para(t("pdf.cover.version", version=self.plan.kb_version))
        doc.ln(1)
        self.para(t("pdf.cover.note"), SMALL_PT + 0.5, 4, colour=GREY, italic=True)
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
        self.para(t("pdf.sources.intro", months=self.plan.horizon_months), SMALL_PT + 0.5, 4,
                  colour=GREY, italic=True)
        doc.ln(2)
        size, line, number_w = SMALL_PT + 0.5, 4.2, 9.0
        for n, ref in enumerate(self.plan.sources, 1):
            if doc.will_page_break(3 * line + 1):  # a URL on two lines and its date
                doc.add_page()
            date = self.renderer.when(self.locale, ref, self.plan.horizon_months)
            confidence = t(f"pdf.confidence.{ref.confidence}")
            y = doc.get_y()
            doc.flow([Run(f"{n}.")], size, line)
            doc.set_y(y)
            doc.flow([Run(ref.url, href=ref.url)], size, line, indent=number_w)
            self.para(t("pdf.sources.line", date=date, confidence=confidence), size, line,
                      indent=number_w, colour=GREY)
            doc.ln(1)

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
        doc.set_y(top + 2)
        self.para(t("pdf.chart.cost"), SMALL_PT + 0.5, 5, bold=True)
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
        doc.set_y(btop + 2)
        self.para(t("pdf.chart.budget"), SMALL_PT + 0.5, 5, bold=True)
        low, high = self.budget_edges()
        if low is None and high is None:
            doc.set_y(btop + 2)
            self.para(t("pdf.chart.no_budget"), SMALL_PT, 5, indent=label_w, italic=True)
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
        if len(costs) > 1:
            legend.append((RANGE_COLOUR, plain(t("pdf.chart.legend", label=t("pdf.chart.total"),
                                                 value=self.span(line.total)))))
        budget_words = self.budget_words()
        if budget_words:
            legend.append((BUDGET_COLOUR, budget_words))
        for colour, words in legend:
            doc.set_fill_color(*colour)
            doc.rect(left, doc.get_y() + 1, 3.5, 3.5, style="F")
            doc.flow([Run(words)], SMALL_PT + 0.5, 5, indent=5)
        bottom = doc.get_y()
        # the aid that could offset it, beside the bars
        col = bar_w + 6
        doc.set_y(top - 1)
        self.para(t("pdf.chart.offsets"), SMALL_PT + 0.5, 4.5, indent=col, bold=True)
        if not budget.offsets:
            self.para(t("pdf.chart.no_offsets"), SMALL_PT, 4, indent=col, italic=True,
                      colour=GREY)
        for v in budget.offsets:
            doc.flow([Run("• " + printable(v.aid.name.get(self.locale)))], SMALL_PT + 0.5,
                     4.2, indent=col)
            self.para(t(f"pdf.verdict.{v.eligibility.value}"), SMALL_PT - 0.5, 3.6,
                      indent=col + 2.5, colour=GREY, italic=True)
            doc.ln(0.8)
        if budget.offsets:
            self.para(t("pdf.chart.offsets_more"), SMALL_PT - 0.5, 3.6, indent=col,
                      colour=GREY, italic=True)
        doc.set_y(max(bottom, doc.get_y()) + 2)
        self.para(t("pdf.chart.note"), SMALL_PT, 4, colour=GREY, italic=True)

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
