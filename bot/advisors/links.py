"""Deep links to the bot (t.me/<bot>?start=<kind>_<code>) and their QR codes."""

from __future__ import annotations

import io

import segno

QR_SCALE = 6  # pixels per module: a version-3 code is about 220 px wide, sharp on phones
LINK_PREFIX = "a"
INVITE_PREFIX = "i"


def deep_link(bot_username: str, prefix: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={prefix}_{code}"


def qr_png(url: str) -> bytes:
    """The URL as a QR code, PNG (never a Micro QR: phone cameras do not read those)."""
    buffer = io.BytesIO()
    segno.make(url, micro=False).save(buffer, kind="png", scale=QR_SCALE)
    return buffer.getvalue()
