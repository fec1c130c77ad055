"""The two first-year costs of a comparison, item by item, as a PNG (sent as a photo).

The PDF's budget chart is drawn with fpdf2's own shapes, which cannot make an image; this one is
drawn with matplotlib (its Agg canvas, no display and no pyplot state, so renderings may run in
threads at once). Words come from the caller (the locale's texts)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

from bot.advice.budget import Span
from bot.plan.compare import COST_ITEMS, Comparison
from bot.render.pdf import plain
from bot.render.templates import Renderer, format_eur

COLOURS = ("#1f5f99", "#d9822b")  # the user's plan, the other destination
RANGE_ALPHA = 0.35  # the part of a range above its low end
WIDTH_IN, DPI = 8.0, 120


def chart_rows(comparison: Comparison) -> list[tuple[str, tuple[Span | None, Span | None]]]:
    """Each cost item either side prices, then the total: (key, the two sides' figures; None
    when that side has no figure)."""
    rows: list[tuple[str, tuple[Span | None, Span | None]]] = []
    left, right = comparison.sides
    for key in comparison.cost_keys:
        items = (left.cost(key), right.cost(key))
        rows.append((key, (items[0].span if items[0] else None,
                           items[1].span if items[1] else None)))
    rows.append(("total", (left.total, right.total)))
    return rows


def render_chart(comparison: Comparison, words: Mapping[str, str], where: tuple[str, str],
                 amount: Callable[[Span], str]) -> bytes:
    """`words`: title, axis, thousands (a tick, "{n} k"), range, unknown and one per row key
    (vie, landing, total);
    `where`: the two destinations' names; `amount`: a figure as the reader writes it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    rows = chart_rows(comparison)
    fig = Figure(figsize=(WIDTH_IN, 1.6 + 1.1 * len(rows)), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    highs = [s.high for _, spans in rows for s in spans if s is not None]
    priced = bool(highs)
    top = max(highs or [1])
    height = 0.38
    for index, (_, spans) in enumerate(rows):
        for side, span in enumerate(spans):
            y = len(rows) - 1 - index + (height / 2 if side == 0 else -height / 2)
            colour = COLOURS[side]
            if span is None:
                ax.text(top * 0.01, y, words["unknown"], va="center", fontsize=9,
                        color=colour, style="italic")
                continue
            ax.barh(y, span.low, height=height * 0.95, color=colour)
            if span.high > span.low:
                ax.barh(y, span.high - span.low, left=span.low, height=height * 0.95,
                        color=colour, alpha=RANGE_ALPHA)
            ax.text(span.high + top * 0.01, y, amount(span), va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [words[key] for key, _ in reversed(rows)])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(0, top * 1.35)
    if priced:
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: words["thousands"].format(n=f"{v / 1000:g}")))
        ax.set_xlabel(words["axis"])
    else:
        ax.set_xticks([])
    ranged = any(s.high > s.low for _, spans in rows for s in spans if s is not None)
    handles = [Patch(color=COLOURS[0], label=where[0]), Patch(color=COLOURS[1], label=where[1])]
    if ranged:
        handles.append(Patch(color=COLOURS[0], alpha=RANGE_ALPHA, label=words["range"]))
    ax.set_title(words["title"], fontsize=11)
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()



def comparison_png(renderer: Renderer, locale: str, comparison: Comparison,
                   where: tuple[str, str]) -> bytes:
    """The chart in the reader's language (the words of `cmp.chart.*`)."""
    def t(key: str, **params: object) -> str:
        return plain(renderer.text(locale, key, **params))

    keys = ("axis", "thousands", "range", "unknown", "total", *COST_ITEMS)
    words = {"title": t("cmp.chart.title", left=where[0], right=where[1]),
             **{key: t(f"cmp.chart.{key}") for key in keys}}

    def amount(span: Span) -> str:
        if span.single:
            return format_eur(span.low, locale)
        return t("plan.span", low=format_eur(span.low, locale),
                 high=format_eur(span.high, locale))

    return render_chart(comparison, words, where, amount)
