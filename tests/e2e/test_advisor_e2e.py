"""Advisors end to end: `python -m bot` with ADMIN_IDS against the strict fake Bot API, and the
fake's sendPhoto (multipart uploads, captions) checked with a real aiogram Bot."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile

from bot.__main__ import BOT_IS_RUNNING
from bot.advisors.links import qr_png
from tests.conftest import BOT_COMMAND
from tests.e2e.fake_api import BOT_USERNAME, DEFAULT_TOKEN, FakeBotAPI
from tests.e2e.test_bot_e2e import User, start_bot, stop_bot

ADMIN = 7001
ADVISOR = 7002
USER = 100200300
LINK = re.compile(r"https://t\.me/(\w+)\?start=([ai])_([A-Za-z0-9]+)")


async def test_an_invited_advisor_gets_a_link_and_a_qr_code(fake: FakeBotAPI,
                                                            tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = await start_bot(fake, data_dir, {"ADMIN_IDS": str(ADMIN)})
    try:
        admin = User(fake, ADMIN, "fr")
        [invite] = await admin.send("/advisor invite CCI Lyon")
        [(bot_name, kind, code)] = LINK.findall(invite.plain_text)
        assert (bot_name, kind) == (BOT_USERNAME, "i")

        advisor = User(fake, ADVISOR, "en")
        [welcome] = await advisor.send(f"/start i_{code}")
        assert "/advisor" in welcome.plain_text
        replies = await advisor.send("/advisor")
        [home, photo] = replies
        [(_, kind, link_code)] = LINK.findall(home.plain_text)
        assert kind == "a"
        assert photo.photo is not None and photo.photo_data is not None
        assert photo.photo_data.startswith(b"\x89PNG")
        assert f"a_{link_code}" in photo.plain_text
        assert fake.photos(ADVISOR) == [photo]

        # A targeted link with the builder: buttons, edits, a second QR code.
        await advisor.press("targeted link")
        await advisor.press("SaaS")
        await advisor.press("Asia")
        await advisor.press("Singapore")
        await advisor.press("Any city")
        result = fake.messages(ADVISOR)[-2]
        assert "SaaS and software · Singapore" in result.plain_text and result.edited
        assert len(fake.photos(ADVISOR)) == 2

        # The store is the bot's: the command line says so while the bot runs.
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BOT_TOKEN")}
        env.update(DATA_DIR=str(data_dir), LOG_LEVEL="WARNING")
        cli = await asyncio.create_subprocess_exec(
            *BOT_COMMAND, "advisor", "list", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await cli.communicate()
        assert cli.returncode == 2 and err.decode().strip() == BOT_IS_RUNNING, (out, err)

        # Stats are numbers only; a stranger is refused.
        [stats] = await advisor.send("/advisor stats")
        assert "General link" in stats.plain_text
        [refused] = await User(fake, 7003, "fr").send("/advisor")
        assert "réservée aux conseillers" in refused.plain_text
        assert fake.unanswered_callbacks() == []
    finally:
        assert await stop_bot(process, signal.SIGINT) == 0
    assert fake.errors == []
    assert fake.violations == []


# --- the fake's sendPhoto ------------------------------------------------------------------


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = Bot(DEFAULT_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield bot
    await bot.session.close()


async def test_send_photo_uploads_with_attach_and_returns_photo_sizes(bot: Bot,
                                                                       fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    png = qr_png("https://t.me/x_bot?start=a_ABCDEFGHJK")
    sent = await bot.send_photo(USER, BufferedInputFile(png, "qr.png"),
                                caption="<b>QR</b> &amp; link")
    assert sent.photo and sent.caption == "QR & link"
    assert [(e.type, e.offset, e.length) for e in sent.caption_entities or []] == [("bold", 0, 2)]
    assert sent.photo[0].width <= 90 and sent.photo[-1].width == int.from_bytes(png[16:20], "big")
    assert fake.calls("sendPhoto")[-1].params["photo"].startswith("attach://")
    [stored] = fake.photos(USER)
    assert stored.photo_data == png and stored.plain_text == "QR & link"
    # Sent again by file_id; a photo has no text to edit.
    again = await bot.send_photo(USER, sent.photo[-1].file_id)
    assert again.photo and again.caption is None
    assert fake.errors == [] and fake.violations == []
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)


async def test_send_photo_rejects_what_telegram_rejects(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    png = qr_png("https://t.me/x")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(png, "qr.png"),
                             caption="<b>" + "é" * 1025 + "</b>")
    # 1024 characters after HTML parsing are fine, whatever the markup around them.
    await bot.send_photo(USER, BufferedInputFile(png, "qr.png"),
                         caption="<i>" + "a" * 1024 + "</i>")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_photo(USER, BufferedInputFile(png, "qr.png"), caption="<b>open")
    assert [e.description for e in fake.errors] == [
        "Bad Request: message caption is too long",
        "Bad Request: IMAGE_PROCESS_FAILED",
        "Bad Request: wrong file identifier/HTTP URL specified",
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    ]


async def test_send_photo_direct_file_part_and_missing_photo(fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    url = f"{fake.base_url}/bot{DEFAULT_TOKEN}/sendPhoto"
    png = qr_png("https://t.me/x")
    async with aiohttp.ClientSession() as http:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(USER))
        form.add_field("photo", png, filename="qr.png", content_type="image/png")
        async with http.post(url, data=form) as response:
            body = await response.json()
        assert body["ok"] and body["result"]["photo"][-1]["width"] > 90
        form = aiohttp.FormData()
        form.add_field("chat_id", str(USER))
        form.add_field("photo", "attach://missing")
        form.add_field("other", png, filename="qr.png")
        async with http.post(url, data=form) as response:
            body = await response.json()
        assert body == {"ok": False, "error_code": 400,
                        "description": "Bad Request: there is no photo in the request"}
        async with http.post(url, json={"chat_id": USER}) as response:
            body = await response.json()
        assert body["description"] == "Bad Request: there is no photo in the request"
    assert len(fake.photos(USER)) == 1
    # A file part nobody refers to: Telegram ignores it, the docs do not allow it.
    assert [v.split(" (")[0] for v in fake.violations] == ["sendPhoto: unknown parameter 'other'"]
