"""What a plan holds, independent of how it is shown: a summary that fits one phone screen, the
sections shown on demand, and every source with its date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.advice.budget import Span
from bot.advice.engine import Advice
from bot.dialog.questions import Band
from bot.kb.models import Source, Text, horizon_start, page_date_start

SECTIONS = ("landing", "vie", "aid", "sources")
"""The sections a plan opens on demand, in the order of their buttons and of the PDF."""

MAX_ACTIONS = 3
MAX_WARNINGS = 2


@dataclass(frozen=True)
class SourceRef:
    """One source as a plan shows it: a short link with the date that means what it says (the
    day a person checked the fact there, else the page's own date), and how far to trust it."""

    url: str
    confidence: str  # high, medium, low, unverified
    published: str | None = None  # the page's own date: "2021", "2021-05" or "2021-05-04"
    checked: dt.date | None = None  # the day a person compared the fact with the page
    old: bool = False  # dated before the verification horizon, or not dated at all

    @property
    def date_kind(self) -> str:
        """checked, published or none: what the date shown is."""
        return "checked" if self.checked else "published" if self.published else "none"

    @property
    def date(self) -> dt.date | None:
        """The date shown, as a day (a page date's first day), for sorting and grouping."""
        if self.checked:
            return self.checked
        return page_date_start(self.published) if self.published else None

    @property
    def date_key(self) -> tuple[int, str]:
        """What the date shown says, as a sort key: checked days, then page dates, then no
        date; two sources with the same key are worded the same."""
        if self.checked:
            return 0, self.checked.isoformat()
        return (1, self.published) if self.published else (2, "")

    @classmethod
    def of(cls, source: Source, horizon: dt.date | None = None) -> SourceRef:
        """`horizon`: the first day still fresh; a source dated before it is flagged old."""
        ref = cls(str(source.url), source.confidence.value, source.published, source.checked)
        if horizon is not None and (ref.date is None or ref.date < horizon):
            ref = replace(ref, old=True)
        return ref


def by_date(refs: Iterable[SourceRef]) -> tuple[tuple[SourceRef, tuple[SourceRef, ...]], ...]:
    """Sources grouped by the date they show, each group as (its first source, all of them):
    the days a person checked the fact, newest first; then the pages' own dates, newest first
    (at the precision the page gives: "2021" and "2021-05" are two groups); then the undated
    pages never checked."""
    groups: dict[tuple[int, str], list[SourceRef]] = {}
    for ref in refs:
        groups.setdefault(ref.date_key, []).append(ref)
    order = sorted(groups, key=lambda k: _newest_first(groups[k][0]))
    return tuple((groups[k][0], tuple(groups[k])) for k in order)


def _newest_first(ref: SourceRef) -> tuple[int, int, int]:
    """Kind of date, then a later day first; at the same first day ("2021" and "2021-01"),
    the more precise date first."""
    kind, value = ref.date_key
    day = ref.date
    return kind, -day.toordinal() if day else 0, -len(value)


@dataclass(frozen=True)
class Action:
    """One of the first things to do: who, why in a few words, and that organisation's own page.

    key: regional_tfe, national_tfe, landing, landing_via_tfe, financing, aid.
    why: a reason key the templates word (`plan.why.<why>`); why_value fills it."""

    key: str
    who: str
    url: str | None  # None: no page of the organisation's own is known (the name is shown)
    why: str
    why_value: str = ""
    source: SourceRef | None = None
    title: Text | None = None  # `who` in each language, when the base words it so (shown)


@dataclass(frozen=True)
class Warning:
    """What must be confirmed, and with whom (at most two on the first screen).

    key: confirm_aid, vie_two_alone, vie_unpriced, landing_unverified, no_landing."""

    key: str
    subject: str  # the scheme, place or option concerned
    who: str | None = None  # with whom to confirm it
    detail: Text | None = None  # the condition, as the source words it (shown in sections)


@dataclass(frozen=True)
class BudgetLine:
    """The budget as a yes or no: the first-year estimate beside the user's budget, or why there
    is none.

    kind: within, partly, above, below, unknown (no budget given), none (no estimate).
    reason (kind "none"): vie_unpriced, nothing_priced."""

    kind: str
    total: Span | None = None
    with_one_vie: bool = False  # VIE "maybe": the estimate is the scenario with one volunteer
    user_amount: int | None = None
    user_band: Band | None = None
    edge: int | None = None  # what the total is compared with (amount, or the band's edge)
    gap: int | None = None
    gap_high: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Summary:
    budget: BudgetLine
    actions: tuple[Action, ...]
    warnings: tuple[Warning, ...]
    aid_count: int  # schemes that fit this project (eligible, to confirm, on application)


@dataclass(frozen=True)
class Item:
    """One block of a section. kind picks how it is shown; value is the advice object
    (LandingAdvice, VieRule, VieAdvice, BudgetEstimate, AidVerdict...)."""

    kind: str
    value: Any
    sources: tuple[SourceRef, ...] = ()


@dataclass(frozen=True)
class Section:
    key: str  # one of SECTIONS
    items: tuple[Item, ...]

    @property
    def sources(self) -> tuple[SourceRef, ...]:
        return unique(s for item in self.items for s in item.sources)

    def of_kind(self, kind: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.kind == kind)


@dataclass(frozen=True)
class Plan:
    advice: Advice
    today: dt.date
    kb_version: str
    summary: Summary
    sections: tuple[Section, ...] = field(default=())
    horizon_months: int = 12  # meta.verification_horizon_months of the base it was built from

    @property
    def horizon(self) -> dt.date:
        """The first day still fresh: a source dated before it is flagged old."""
        return horizon_start(self.today, self.horizon_months)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def sources(self) -> tuple[SourceRef, ...]:
        """Every source of the plan, once, in the order of the sections."""
        return unique(s for section in self.sections for s in section.sources)


def unique(refs: Iterable[SourceRef]) -> tuple[SourceRef, ...]:
    """Sources in order, each URL once (the first date seen for it)."""
    seen: dict[str, SourceRef] = {}
    for ref in refs:
        seen.setdefault(ref.url, ref)
    return tuple(seen.values())
