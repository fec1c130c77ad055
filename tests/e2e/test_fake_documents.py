"""Self-test of the fake Bot API's files: user documents, getFile, downloads, sendDocument."""

from __future__ import annotations

import asyncio
import struct
import zlib
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramEntityTooLarge
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.e2e.fake_api import (
    DEFAULT_TOKEN,
    MAX_DOCUMENT_BYTES,
    MAX_DOWNLOAD_BYTES,
    FakeBotAPI,
)

USER = 100200302
DATA = b'{"aids": [1, 2, 3], "name": "\xc3\xa9t\xc3\xa9"}'


def png(width: int, height: int) -> bytes:
    """A valid grey PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_a_user_document_is_downloaded_with_aiogram(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_document(USER, DATA, file_name="aids.json", caption="import this")
    [update] = await bot.get_updates(timeout=0)
    message = update.message
    assert message is not None and message.caption == "import this"
    document = message.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "aids.json",
        "application/json",
        len(DATA),
    )
    assert fake.downloads == []

    file = await bot.get_file(document.file_id)
    assert (file.file_id, file.file_unique_id) == (document.file_id, document.file_unique_id)
    assert (file.file_path, file.file_size) == ("documents/file_0.json", len(DATA))
    assert fake.downloads == []  # getFile alone fetches nothing

    downloaded = await bot.download(document)  # getFile + GET /file/bot<token>/<path>
    assert downloaded is not None and downloaded.read() == DATA
    by_path = await bot.download_file("documents/file_0.json")
    assert by_path is not None and by_path.read() == DATA
    assert fake.downloads == ["documents/file_0.json", "documents/file_0.json"]
    assert [c.method for c in fake.requests] == ["getUpdates", "getFile", "getFile"]
    assert fake.errors == [] and fake.violations == []


async def test_documents_without_a_name_and_declared_sizes(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_document(USER, b"raw", file_name=None, mime_type=None)
    fake.send_document(USER, b"{}", declared_size=MAX_DOWNLOAD_BYTES, language_code="en")
    fake.send_document(USER, b"{}", declared_size=MAX_DOWNLOAD_BYTES + 1)
    bare, at_limit, too_big = await bot.get_updates(timeout=0)
    assert bare.message is not None and bare.message.document is not None
    assert bare.message.document.file_name is None and bare.message.document.mime_type is None
    assert (await bot.get_file(bare.message.document.file_id)).file_path == "documents/file_0"
    assert at_limit.message is not None and at_limit.message.document is not None
    assert at_limit.message.from_user is not None
    assert at_limit.message.from_user.language_code == "en"
    file = await bot.get_file(at_limit.message.document.file_id)
    assert file.file_size == 20 * 1024 * 1024 and file.file_path == "documents/file_1.json"
    assert too_big.message is not None and too_big.message.document is not None
    assert too_big.message.document.file_size == 20 * 1024 * 1024 + 1
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.get_file(too_big.message.document.file_id)
    assert caught.value.message == "Bad Request: file is too big"
    with pytest.raises(ValueError, match="declared_size"):
        fake.send_document(USER, b"", declared_size=-1)


async def test_get_file_rejects_unknown_ids(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_photo(USER)  # a user's photo: the fake holds no bytes for it
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.photo
    for file_id in ("BQACAgIAAxkBAAID999999", "not a file id", update.message.photo[-1].file_id):
        with pytest.raises(TelegramBadRequest) as caught:
            await bot.get_file(file_id)
        assert caught.value.message == "Bad Request: invalid file_id"
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.get_file("")  # aiogram drops the empty parameter
    assert caught.value.message == "Bad Request: file_id not specified"
    assert [e.description for e in fake.errors] == [
        "Bad Request: invalid file_id",
        "Bad Request: invalid file_id",
        "Bad Request: invalid file_id",
        "Bad Request: file_id not specified",
    ]
    assert fake.downloads == []


async def test_the_download_route_checks_token_and_path(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_document(USER, DATA)
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    path = (await bot.get_file(update.message.document.file_id)).file_path
    assert path == "documents/file_0.json"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.base_url}/file/bot1:WRONG/{path}") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        missing = f"{fake.base_url}/file/bot{DEFAULT_TOKEN}/documents/file_9.json"
        async with http.get(missing) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.get(f"{fake.base_url}/file/bot{DEFAULT_TOKEN}/{path}") as resp:
            assert resp.status == 200 and await resp.read() == DATA
    assert fake.downloads == [path]

    # aiogram with another token: the GET fails (raise_for_status) and nothing is served
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    stranger = Bot("999:OTHER", session=session)
    try:
        with pytest.raises(aiohttp.ClientResponseError) as caught:
            await stranger.download_file(path)
        assert caught.value.status == 401
    finally:
        await stranger.session.close()
    assert fake.downloads == [path]
    assert [(e.method, e.params, e.description) for e in fake.errors] == [
        ("download", {"file_path": path}, "Unauthorized"),
        ("download", {"file_path": "documents/file_9.json"}, "Not Found"),
        ("download", {"file_path": path}, "Unauthorized"),
    ]


async def test_send_document_uploads_and_resends(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    csv = b"aid;amount\nexport;1200\n"
    sent = await bot.send_document(
        USER, BufferedInputFile(csv, filename="plan.csv"), caption="<b>Plan</b> &amp; aids"
    )
    document = sent.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "plan.csv",
        "text/csv",
        len(csv),
    )
    assert sent.caption == "Plan & aids" and sent.text is None
    assert [(e.type, e.offset, e.length) for e in sent.caption_entities or []] == [("bold", 0, 4)]
    assert fake.calls("sendDocument")[0].params["document"].startswith("attach://")

    [stored] = fake.documents(USER)
    assert stored.document == document.model_dump(exclude_none=True)
    assert stored.document_data == csv
    assert (stored.text, stored.plain_text) == ("<b>Plan</b> &amp; aids", "Plan & aids")
    assert fake.photos(USER) == [] and stored.message_id == sent.message_id

    downloaded = await bot.download(document.file_id)
    assert downloaded is not None and downloaded.read() == csv
    assert fake.downloads == ["documents/file_0.csv"]

    again = await bot.send_document(USER, document.file_id, caption=None)
    assert again.document is not None
    assert again.document.file_unique_id == document.file_unique_id
    assert again.caption is None
    assert [m.document_data for m in fake.documents(USER)] == [csv, csv]
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=again.message_id)
    fake.errors.clear()
    assert fake.violations == []


async def test_send_document_resends_a_users_file_and_serves_bot_photos(
    bot: Bot, fake: FakeBotAPI
) -> None:
    fake.send_document(USER, DATA, file_name="in.json")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    echoed = await bot.send_document(USER, update.message.document.file_id)
    assert echoed.document is not None and echoed.document.file_name == "in.json"
    assert fake.documents(USER)[-1].document_data == DATA

    image = png(40, 30)
    photo = await bot.send_photo(USER, BufferedInputFile(image, filename="p.png"))
    assert photo.photo is not None
    file = await bot.get_file(photo.photo[-1].file_id)
    assert file.file_path == "photos/file_0.jpg" and file.file_size == len(image)
    downloaded = await bot.download(photo.photo[-1])
    assert downloaded is not None and downloaded.read() == image
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_document(USER, photo.photo[-1].file_id)
    assert caught.value.message == "Bad Request: type of file mismatch"
    assert len(fake.documents(USER)) == 1
    assert [e.description for e in fake.errors] == ["Bad Request: type of file mismatch"]


async def test_send_document_rejects_what_telegram_rejects(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    upload = BufferedInputFile(DATA, filename="data.json")
    row = [InlineKeyboardButton(text=str(i), callback_data=str(i)) for i in range(9)]
    wide = InlineKeyboardMarkup(inline_keyboard=[row])
    await bot.send_document(USER, upload, caption="<i>" + "x" * 1024 + "</i>")  # parsed length
    attempts: list[dict[str, Any]] = [
        {"caption": "<p>x</p>"},
        {"caption": "<b>open"},
        {"caption": "x" * 1025},
        {"caption": "ok", "reply_markup": wide},
        {"caption": "ok", "parse_mode": "XML"},
    ]
    for kwargs in attempts:
        with pytest.raises(TelegramBadRequest):
            await bot.send_document(USER, upload, **kwargs)
    with pytest.raises(TelegramBadRequest):
        await bot.send_document(USER, BufferedInputFile(b"", filename="empty.json"))
    with pytest.raises(TelegramBadRequest):
        await bot.send_document(USER, "BQACAgIAAxkDAAID424242")
    with pytest.raises(TelegramBadRequest):
        await bot.send_document(USER + 1, upload)
    assert [e.description for e in fake.errors] == [
        'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
        'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
        "Bad Request: message caption is too long",
        "Bad Request: reply markup is too long",
        "Bad Request: unsupported parse_mode",
        "Bad Request: file must be non-empty",
        "Bad Request: wrong file identifier/HTTP URL specified",
        "Bad Request: chat not found",
    ]
    assert len(fake.documents(USER)) == 1
    assert fake.documents(USER)[0].plain_text == "x" * 1024


async def test_send_document_without_the_file_part(fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    base = f"{fake.base_url}/bot{DEFAULT_TOKEN}"
    async with aiohttp.ClientSession() as http:
        direct = aiohttp.FormData({"chat_id": str(USER)})
        direct.add_field("document", b"a,b\n", filename="direct.csv")
        async with http.post(f"{base}/sendDocument", data=direct) as resp:
            assert resp.status == 200
            assert (await resp.json())["result"]["document"]["file_name"] == "direct.csv"
        for body in (
            {"chat_id": str(USER)},
            {"chat_id": str(USER), "document": "attach://nothing"},
            {"chat_id": str(USER), "document": "attach://"},
        ):
            async with http.post(f"{base}/sendDocument", data=body) as resp:
                assert resp.status == 400
    assert [e.description for e in fake.errors] == [
        "Bad Request: there is no document in the request",
        "Bad Request: there is no document in the request",
        "Bad Request: empty attachment name specified",
    ]
    assert [m.document_data for m in fake.documents(USER)] == [b"a,b\n"]


async def test_send_document_size_limit(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    big = BufferedInputFile(b"x" * (MAX_DOCUMENT_BYTES + 1), filename="big.bin")
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_document(USER, big)
    assert caught.value.message == "Bad Request: file is too big"
    huge = BufferedInputFile(b"x" * (MAX_DOCUMENT_BYTES + 2 * 1024 * 1024), filename="h.bin")
    with pytest.raises(TelegramEntityTooLarge):
        await bot.send_document(USER, huge)
    assert [e.description for e in fake.errors] == [
        "Bad Request: file is too big",
        "Request Entity Too Large",
    ]
    assert fake.documents(USER) == []


async def test_a_bot_reads_an_uploaded_file_and_answers_with_one(
    bot: Bot, fake: FakeBotAPI
) -> None:
    dp = Dispatcher()

    @dp.message(F.document)
    async def on_document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        content = await bot.download(message.document)
        assert content is not None
        data = content.read()
        await message.answer_document(
            BufferedInputFile(data.upper(), filename="upper.json"),
            caption=f"{len(data)} bytes",
        )

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        fake.send_document(USER, b'{"a": "b"}', file_name="in.json")
        await fake.wait_idle()
    finally:
        await dp.stop_polling()
        await polling
    [reply] = fake.documents(USER)
    assert reply.document_data == b'{"A": "B"}' and reply.plain_text == "10 bytes"
    assert reply.document is not None and reply.document["file_name"] == "upper.json"
    assert fake.downloads == ["documents/file_0.json"]
    assert fake.errors == [] and fake.violations == []
    assert [c.method for c in fake.requests if c.method != "getUpdates"] == [
        "getMe",
        "getFile",
        "sendDocument",
    ]
