"""Long plans are split into messages Telegram accepts, at section boundaries."""

from __future__ import annotations

import pytest

from bot.render.split import LIMIT, pack, visible_length
from tests.e2e.fake_api import parse_html


def test_visible_length_counts_like_telegram() -> None:
    text = "<b>a &amp; b</b>\n<a href=\"https://x.org\">lien</a>"
    assert visible_length(text) == len(parse_html(text).text.strip())


def test_sections_stay_whole_when_they_fit() -> None:
    sections = ["<b>one</b>\n" + "a" * 3000, "<b>two</b>\n" + "b" * 3000, "<i>three</i>"]
    messages = pack(sections)
    assert len(messages) == 2
    assert messages[0].startswith("<b>one</b>") and messages[1].startswith("<b>two</b>")
    assert messages[1].endswith("<i>three</i>")


def test_a_long_section_is_cut_between_lines_with_tags_kept_balanced() -> None:
    section = "\n".join(f"<b>line {i}</b> " + "x" * 90 for i in range(200))
    messages = pack([section])
    assert len(messages) > 1
    for message in messages:
        assert visible_length(message) <= LIMIT
        parse_html(message)  # raises on broken tags
    joined = "\n".join(messages)
    assert joined.count("<b>line") == 200


def test_a_single_overlong_line_is_cut_as_plain_text() -> None:
    messages = pack(["<b>" + "&lt;" * 5000 + "</b>"])
    assert all(0 < visible_length(m) <= LIMIT for m in messages)
    assert sum(visible_length(m) for m in messages) == 5000
    for m in messages:
        parse_html(m)


def test_empty_sections_are_dropped() -> None:
    assert pack(["", "  \n ", "<b>x</b>"]) == ["<b>x</b>"]


def test_an_overlong_section_is_cut_between_items_first() -> None:
    items = [f"<b>item {i}</b>\n" + "y" * 300 + "\nsource" for i in range(40)]
    messages = pack(["<b>head</b>", "\n\n".join(items)])
    assert len(messages) > 2
    for message in messages[1:]:
        assert message.startswith("<b>item") and message.endswith("source")


def test_a_blockquote_is_never_cut_open() -> None:
    quote = "<blockquote expandable>" + "\n".join("z" * 80 for _ in range(30)) + "</blockquote>"
    items = [f"<b>item {i}</b>\n{quote}" for i in range(6)]
    messages = pack(["\n\n".join(items)])
    assert len(messages) > 1
    for message in messages:
        parse_html(message)
        assert message.count("<blockquote") == message.count("</blockquote>")


@pytest.mark.parametrize("text", [
    "<b>a &amp; b</b> &lt;c&gt; &#39;d&#39; &#x27;e&#x27; &quot;f&quot;",
    "  <i>x</i>  ",
    "caf\u00e9 &eacute; <a href=\"https://e.x/?a=1&amp;b=2\">lien</a>",
    "no markup at all",
])
def test_visible_length_counts_each_entity_as_one_character(text: str) -> None:
    import html
    import re

    expected = len(html.unescape(re.sub(r"<[^>]+>", "", text)).strip())
    assert visible_length(text) == expected
