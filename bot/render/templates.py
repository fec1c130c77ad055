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

    def when(self, locale: str, ref: Any) -> Markup:
        """A source's date as the plan words it: "vérifié le 2 décembre 2026" (a person checked
        the fact there), "page de mai 2021" (the page's own date, at its precision), or "non
        daté"; `ref` is a plan SourceRef or a knowledge-base Source."""
        if ref.checked:
            return self.text(locale, "plan.date.checked", day=format_date(ref.checked, locale))
        if not ref.published:
            return self.text(locale, "plan.date.none")
        return self.text(locale, f"plan.date.published_{PRECISION[len(ref.published)]}",
                         date=format_page_date(ref.published, locale))

    @pass_context
    def _when(self, ctx: Context, ref: Any) -> Markup:
        return self.when(ctx["locale"], ref)

    @pass_context
    def _loc(self, ctx: Context, text: Any) -> str:
        """A knowledge-base Text (or {'fr','en'} mapping) in the reader's language."""
        if isinstance(text, Mapping):
            return str(text.get(ctx["locale"]) or text.get("fr"))
        return text.get(ctx["locale"]) if hasattr(text, "get") else str(text)


@cache
def default_renderer() -> Renderer:
    return Renderer()
