"""Pack rendered sections into Telegram messages of at most 4096 characters.

Telegram counts the text after entity parsing (tags removed, entities decoded), in code points:
https://core.telegram.org/bots/api#sendmessage ("1-4096 characters after entities parsing").
Sections are split only between lines; every template line keeps its tags balanced.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """Length as Telegram counts it: without tags, entities decoded, ends trimmed."""
    return len(html.unescape(_TAG.sub("", text)).strip())


def _cut_line(line: str, limit: int) -> list[str]:
    """Last resort for one over-long line: drop its markup and cut the plain text."""
    plain = html.unescape(_TAG.sub("", line))
    return [html.escape(plain[i:i + limit], quote=False) for i in range(0, len(plain), limit)]


def _pieces(section: str, limit: int) -> list[str]:
    if visible_length(section) <= limit:
        return [section]
    out: list[str] = []
    current: list[str] = []
    for line in section.split("\n"):
        candidate = "\n".join([*current, line])
        if visible_length(candidate) <= limit:
            current.append(line)
            continue
        if current:
            out.append("\n".join(current))
        if visible_length(line) > limit:
            out.extend(_cut_line(line, limit))
            current = []
        else:
            current = [line]
    if current:
        out.append("\n".join(current))
    return out


def pack(sections: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Greedy packing: as many whole sections per message as fit, blank line between them."""
    messages: list[str] = []
    current = ""
    for section in sections:
        if not section.strip():
            continue
        for piece in _pieces(section, limit):
            candidate = f"{current}\n\n{piece}" if current else piece
            if visible_length(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return [m for m in messages if visible_length(m)]
