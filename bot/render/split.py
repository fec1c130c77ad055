"""Pack rendered sections into Telegram messages of at most 4096 characters.

Telegram counts the text after entity parsing (tags removed, entities decoded), in code points:
https://core.telegram.org/bots/api#sendmessage ("1-4096 characters after entities parsing").
Sections are split between items (blank lines), then between lines, never inside an element.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")
# An HTML entity stands for one character. Replacing each by one non-space character measures
# like html.unescape without decoding (which was a third of the plan update's cost).
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_OPEN_OR_CLOSE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")


def _plain(text: str) -> str:
    """The text as Telegram measures it, every entity one placeholder character."""
    return _ENTITY.sub("&", _TAG.sub("", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it: without tags, entities decoded, ends trimmed."""
    return len(_plain(text).strip())


def _depth(text: str) -> int:
    """How many tags `text` leaves open (a blockquote may span several lines)."""
    depth = 0
    for closing, _ in _OPEN_OR_CLOSE.findall(text):
        depth += -1 if closing else 1
    return depth


def _units(text: str, sep: str) -> list[str]:
    """Split at `sep`, but never inside an element: parts are rejoined until balanced."""
    units: list[str] = []
    pending: list[str] = []
    depth = 0
    for part in text.split(sep):
        pending.append(part)
        depth += _depth(part)
        if depth <= 0:
            units.append(sep.join(pending))
            pending, depth = [], 0
    if pending:
        units.append(sep.join(pending))
    return units


def _cut_line(line: str, limit: int) -> list[str]:
    """Last resort for one over-long line: drop its markup and cut the plain text."""
    plain = html.unescape(_TAG.sub("", line))
    return [html.escape(plain[i:i + limit], quote=False) for i in range(0, len(plain), limit)]


def _plain_length(text: str) -> int:
    """Visible length before Telegram trims the ends: never less than what Telegram counts."""
    return len(_plain(text))


def _greedy(units: list[str], sep: str, limit: int) -> list[str]:
    """Join units with `sep` into as few chunks of at most `limit` as the order allows.

    Lengths add up (tags never span units), so each unit is measured once."""
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for unit in units:
        size = _plain_length(unit)
        if current and length + len(sep) + size <= limit:
            current.append(unit)
            length += len(sep) + size
            continue
        if current:
            chunks.append(sep.join(current))
        current, length = [unit], size
    if current:
        chunks.append(sep.join(current))
    return chunks


def _pieces(section: str, limit: int) -> list[str]:
    """A section cut at blank lines (between items), an item cut at line ends, a line as text."""
    if visible_length(section) <= limit:
        return [section]
    blocks: list[str] = []
    for block in _units(section, "\n\n"):
        if visible_length(block) <= limit:
            blocks.append(block)
            continue
        lines: list[str] = []
        for line in _units(block, "\n"):
            lines.extend([line] if visible_length(line) <= limit else _cut_line(line, limit))
        blocks.extend(_greedy(lines, "\n", limit))
    return _greedy(blocks, "\n\n", limit)


def pack(sections: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Whole sections per message while they fit; a section longer than a message is cut
    between its items first, and its pieces are packed like sections."""
    pieces = [piece for section in sections if section.strip()
              for piece in _pieces(section, limit)]
    return [m for m in _greedy(pieces, "\n\n", limit) if visible_length(m)]


def telegram_length(text: str) -> int:
    """Visible length in UTF-16 code units (an emoji outside the BMP counts two), the stricter
    of the ways Telegram is documented to count."""
    plain = html.unescape(_TAG.sub("", text)).strip()
    return len(plain.encode("utf-16-le", "surrogatepass")) // 2


def first_message(text: str, note: str, limit: int = LIMIT) -> str:
    """`text` if it fits one message; else its first part that fits, cut between items, then
    `note` (where the rest is)."""
    if telegram_length(text) <= limit:
        return text
    room = limit - telegram_length(note) - 2
    head = pack([text], room)[0]
    while telegram_length(head) > room:  # pack counts code points: emoji may count twice
        room -= telegram_length(head) - room
        head = pack([text], room)[0]
    return f"{head}\n\n{note}"
