"""The words of the shared layouts: both languages say everything, a layout never names a text
that does not exist, a text is defined once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.render.templates import LOCALES, TEMPLATES_DIR, Renderer

LITERAL_KEY = re.compile(r"""\bt\(\s*["']([^"']+)["']\s*[,)]""")  # t("key") or t("key", ...)


def test_both_languages_have_the_same_texts(renderer: Renderer) -> None:
    fr, en = (set(renderer.texts[loc]) for loc in ("fr", "en"))
    assert fr == en, {"only fr": sorted(fr - en), "only en": sorted(en - fr)}
    assert fr, "no texts loaded"


def test_every_literal_text_key_of_the_shared_layouts_exists(renderer: Renderer) -> None:
    used = {key for path in (TEMPLATES_DIR / "shared").glob("*.html")
            for key in LITERAL_KEY.findall(path.read_text(encoding="utf-8"))}
    assert used
    for locale in LOCALES:
        missing = sorted(used - set(renderer.texts[locale]))
        assert not missing, (locale, missing)


def test_a_text_fills_in_escaped_values_and_keeps_its_own_markup(renderer: Renderer) -> None:
    html = renderer.text("fr", "plan.title", target="<Singapour & co>")
    assert html == "<b>Votre plan export : &lt;Singapour &amp; co&gt;</b>"


def test_a_missing_text_is_an_error_not_a_blank(renderer: Renderer) -> None:
    with pytest.raises(KeyError):
        renderer.text("en", "plan.no_such_text")


def test_a_text_defined_in_two_files_is_refused_at_start(tmp_path: Path) -> None:
    for loc in LOCALES:
        (tmp_path / loc / "texts").mkdir(parents=True)
        (tmp_path / loc / "labels.json").write_text("{}", encoding="utf-8")
        for name in ("a.json", "b.json"):
            (tmp_path / loc / "texts" / name).write_text(json.dumps({"x.same": "1"}),
                                                         encoding="utf-8")
    with pytest.raises(ValueError, match="x.same"):
        Renderer(tmp_path)
