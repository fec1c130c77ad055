"""The plan as Telegram HTML: the summary (one phone screen) and each section on demand, from
the layouts shared by both languages. Rendering only: the advice is in the Plan already."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.kb.snapshot import KnowledgeBase
from bot.plan.compare import MAX_DIFFERING, Comparison
from bot.plan.model import SECTIONS, Plan
from bot.render.templates import Renderer

SUMMARY_MAX_CHARS = 1200
"""Visible characters of the first screen (a phone shows about this much without scrolling)."""


class PlanText:
    """Renders a Plan; `names` are the profile's answers as the user saw them (target, sector,
    headcount, home_region, stage, vie, budget), labels the dialog knows how to word."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def _context(self, plan: Plan, kb: KnowledgeBase, names: Mapping[str, str]) -> dict[str, Any]:
        return {"p": plan, "s": plan.summary, "a": plan.advice, "kb": kb, "names": names,
                "today": plan.today,
                # the per-locale templates still included by some sections read these two
                "target": names.get("target", ""), "sector": names.get("sector", "")}

    def summary(self, plan: Plan, kb: KnowledgeBase, locale: str,
                names: Mapping[str, str]) -> str:
        return self.renderer.layout(locale, "plan_summary", **self._context(plan, kb, names))

    def section(self, plan: Plan, key: str, kb: KnowledgeBase, locale: str,
                names: Mapping[str, str], full: bool = False) -> str:
        """One section as one Telegram message (at most 4096 characters); `full`: everything
        the section holds, every source beside its fact, for the PDF (no length limit)."""
        if key not in SECTIONS:
            raise KeyError(key)
        return self.renderer.layout(locale, f"plan_{key}", full=full,
                                    **self._context(plan, kb, names))

    def comparison(self, comparison: Comparison, kb: KnowledgeBase, locale: str,
                   where: tuple[str, str], full: bool = False) -> str:
        """Two destinations side by side as one Telegram message; `where`: their names as the
        user saw them; `full`: every source and scheme, for the PDF annex."""
        left = comparison.left.plan
        return self.renderer.layout(locale, "plan_compare", c=comparison,
                                    sides=comparison.sides, where=where, full=full, kb=kb,
                                    p=left, today=left.today, max_differing=MAX_DIFFERING)
