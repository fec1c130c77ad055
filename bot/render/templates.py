"""jinja2 environment for Telegram HTML: autoescape on, strict undefined, one folder per locale."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from bot.config import PROJECT_ROOT
from bot.kb.models import horizon_start
from bot.plan.model import Plan, SourceRef, by_date

LOCALES = ("fr", "en")
TEMPLATES_DIR = PROJECT_ROOT / "templates"
_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")


def pick_locale(code: str | None, default: str = "fr") -> str:
    """'fr-FR' -> 'fr'; anything we do not speak -> the default."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LOCALES else default


def format_eur(amount: float, locale: str) -> str:
    whole = f"{round(amount):,}"
    return whole.replace(",", "\u202f") + "\u00a0€" if locale == "fr" else "€" + whole


def format_date(day: dt.date, locale: str) -> str:
    if locale == "fr":
        return f"{day.day} {_MONTHS_FR[day.month - 1]} {day.year}"
    return day.strftime("%-d %B %Y")


PRECISION = {4: "year", 7: "month", 10: "day"}
"""A page date's precision by its length: 2021, 2021-05, 2021-05-04."""
VOWELS = frozenset("aeiouyAEIOUYàâéèêîôûÀÂÉÈÊÎÔÛ")
"""A month worded with one of these first takes an elided article in French (d'avril, d'août)."""


def format_page_date(value: str, locale: str) -> str:
    """A page's own date at its precision: "2021", "mai 2021", "4 mai 2021"."""
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 3:
        return format_date(dt.date(*parts), locale)
    if len(parts) == 2:
        month = (_MONTHS_FR[parts[1] - 1] if locale == "fr"
                 else dt.date(2000, parts[1], 1).strftime("%B"))
        return f"{month} {parts[0]}"
    return str(parts[0])


@lru_cache(maxsize=4096)
def _host(url: object) -> str:
    """The site a source link points to, as shown beside a fact (parsed once per URL)."""
    return urlsplit(str(url)).netloc.removeprefix("www.")


def load_texts(directory: Path) -> dict[str, str]:
    """A locale's words for the shared layouts: every `texts/*.json` of its folder, one key in
    one file only (a key defined twice is a mistake, refused at start)."""
    texts: dict[str, str] = {}
    for path in sorted((directory / "texts").glob("*.json")):
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            if key in texts:
                raise ValueError(f"{path}: text {key!r} is already defined in another file")
            texts[key] = value
    return texts


class Renderer:
    """Renders `templates/<locale>/<name>.html` and the button labels of `labels.json`; and the
    layouts shared by both languages, `templates/shared/<name>.html`, whose words come from the
    locale's `texts/*.json` through `t()`."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Templates change with a deploy, not while running: no stat() per message.
            auto_reload=False,
        )
        self.env.filters["eur"] = self._eur
        self.env.filters["day"] = self._day
        self.env.filters["loc"] = self._loc
        self.env.filters["host"] = _host
        self.env.filters["when"] = self._when
        self.env.filters["by_date"] = by_date
        self.env.globals["label"] = self._label
        self.env.globals["t"] = self._text
        self.labels: dict[str, dict[str, str]] = {
            loc: json.loads((directory / loc / "labels.json").read_text(encoding="utf-8"))
            for loc in LOCALES
        }
        self.texts: dict[str, dict[str, str]] = {loc: load_texts(directory / loc)
                                                 for loc in LOCALES}

    def render(self, locale: str, name: str, **context: Any) -> str:
        """Render one template; the result is Telegram HTML with surrounding blank lines trimmed."""
        template = self.env.get_template(f"{locale}/{name}.html")
        return template.render(locale=locale, **context).strip()

    def layout(self, locale: str, name: str, **context: Any) -> str:
        """Render a layout shared by both languages (`templates/shared/<name>.html`)."""
        template = self.env.get_template(f"shared/{name}.html")
        return template.render(locale=locale, **context).strip()

    def text(self, locale: str, key: str, **params: Any) -> Markup:
        """A phrase of the shared layouts, as HTML (our own files may hold <b>, <i>); the values
        filled in are escaped unless they are markup themselves. A missing key is an error."""
        raw = self.texts[locale].get(key)
        if raw is None:
            raw = self.texts["fr"][key]
        return Markup(raw).format(**params) if params else Markup(raw)

    def label(self, locale: str, key: str, **params: Any) -> str:
        """A plain-text label (buttons are not HTML-parsed by Telegram)."""
        text = self.labels[locale].get(key) or self.labels["fr"][key]
        return text.format(**params) if params else text

    @pass_context
    def _label(self, ctx: Context, key: str, **params: Any) -> str:
        return self.label(ctx["locale"], key, **params)

    @pass_context
    def _text(self, ctx: Context, key: str, **params: Any) -> Markup:
        return self.text(ctx["locale"], key, **params)

    @pass_context
    def _eur(self, ctx: Context, amount: float) -> str:
        return format_eur(amount, ctx["locale"])

    @pass_context
    def _day(self, ctx: Context, day: dt.date) -> str:
        return format_date(day, ctx["locale"])

    def when(self, locale: str, ref: Any, months: int | None = None,
             horizon: dt.date | None = None) -> Markup:
        """A source's date as the plan words it: "vérifié le 2 décembre 2026" (a person checked
        the fact there), "page de mai 2021" (the page's own date, at its precision), or "page
        non datée, non vérifiée"; then, for a source older than the verification horizon or
        not dated at all, a short flag ("⏳ plus de 12 mois", "⏳ à vérifier"). `ref` is a
        plan SourceRef (flagged by the plan: `old`) or a knowledge-base Source (flagged here
        when `horizon` is given); `months`: the horizon's length, as the flag says it."""
        if ref.checked:
            words = self.text(locale, "plan.date.checked", day=format_date(ref.checked, locale))
        elif not ref.published:
            words = self.text(locale, "plan.date.none")
        else:
            date = format_page_date(ref.published, locale)
            key = f"plan.date.published_{PRECISION[len(ref.published)]}"
            if date[0] in VOWELS:  # "page d'avril 2021", not "page de avril 2021"
                key += "_vowel"
            words = self.text(locale, key, date=date)
        flag = self.old_flag(locale, ref, months, horizon)
        return Markup("{} {}").format(words, flag) if flag else words

    def old_flag(self, locale: str, ref: Any, months: int | None = None,
                 horizon: dt.date | None = None) -> Markup | None:
        """The flag of a source due for re-verification, or None when it is fresh (or when
        nothing says how old is too old)."""
        if isinstance(ref, SourceRef):
            old = ref.old
        elif horizon is not None:
            old = ref.dated is None or ref.dated < horizon
        else:
            old = False
        if not old:
            return None
        if not ref.checked and not ref.published:
            return self.text(locale, "plan.date.old_none")
        if months is None:
            return self.text(locale, "plan.date.old")
        if months == 1:
            return self.text(locale, "plan.date.old_month")
        return self.text(locale, "plan.date.old_months", months=months)

    @pass_context
    def _when(self, ctx: Context, ref: Any, today: dt.date | None = None,
              kb: Any = None) -> Markup:
        """`|when`: the plan's horizon when rendering a plan (`p`), else the base's horizon
        counted from `today` (either may be passed, for macros imported without context)."""
        plan = ctx.get("p")
        if isinstance(plan, Plan):
            return self.when(ctx["locale"], ref, plan.horizon_months, plan.horizon)
        kb = kb if kb is not None else ctx.get("kb")
        today = today if today is not None else ctx.get("today")
        if kb is None or not isinstance(today, dt.date):
            return self.when(ctx["locale"], ref)
        months = kb.meta.verification_horizon_months
        return self.when(ctx["locale"], ref, months, horizon_start(today, months))

    @pass_context
    def _loc(self, ctx: Context, text: Any) -> str:
        """A knowledge-base Text (or {'fr','en'} mapping) in the reader's language."""
        if isinstance(text, Mapping):
            return str(text.get(ctx["locale"]) or text.get("fr"))
        return text.get(ctx["locale"]) if hasattr(text, "get") else str(text)


@cache
def default_renderer() -> Renderer:
    return Renderer()
