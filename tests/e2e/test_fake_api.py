"""Self-test of the fake Bot API, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, html
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
)
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.e2e.fake_api import (
    DEFAULT_TOKEN,
    FakeBotAPI,
    HtmlParseError,
    _load_methods,
    embedded_methods,
    parse_html,
)

USER = 100200300


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"b{i}", callback_data=d)] for i, d in enumerate(data)
        ]
    )


async def test_get_me(bot: Bot, fake: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot
    assert me.username == "export_advisor_test_bot"
    assert me.can_join_groups is not None and me.supports_inline_queries is not None
    assert fake.errors == [] and fake.violations == []


async def test_send_message_needs_a_known_chat(bot: Bot, fake: FakeBotAPI) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER, "<b>ok</b>")
    fake.errors.clear()
    fake.send_message(USER, "hi")
    sent = await bot.send_message(USER, "<b>ok</b> &amp; <i>done</i>")
    assert sent.text == "ok & done"
    assert sent.from_user is not None and sent.from_user.id == 123456
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 0, 2),
        ("italic", 5, 4),
    ]
    stored = fake.last_message(USER)
    assert stored.text == "<b>ok</b> &amp; <i>done</i>"
    assert stored.plain_text == "ok & done"
    assert stored.message_id == sent.message_id == 2  # message 1 is the user's
    assert fake.errors == [] and fake.violations == []
    assert fake.calls("sendMessage")[-1].params["parse_mode"] == "HTML"


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("é <br/>", 'Unsupported start tag "br/" at byte offset 3'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">🙂</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
async def test_html_errors(bot: Bot, fake: FakeBotAPI, text: str, description: str) -> None:
    fake.send_message(USER, "hi")
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(USER, text)
    assert caught.value.message == f"Bad Request: can't parse entities: {description}"
    assert fake.errors[-1].description == caught.value.message


def test_parse_html_rules() -> None:
    parsed = parse_html(
        '&lt;b&gt; &#x41;&#66; &quot;q&quot; <a href="https://e.x/?a=1&amp;b=2">l</a>'
    )
    assert parsed.text == '<b> AB "q" l'
    assert parsed.entities == [
        {"offset": 11, "length": 1, "type": "text_link", "url": "https://e.x/?a=1&b=2"}
    ]
    assert parse_html("a > b & c").warnings  # tolerated by Telegram, flagged here
    pre = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre.entities == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]
    quote = parse_html("<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>")
    assert [e["type"] for e in quote.entities] == ["expandable_blockquote", "spoiler"]
    assert parse_html("😀<b>x</b>").entities == [{"offset": 2, "length": 1, "type": "bold"}]
    with pytest.raises(HtmlParseError, match="byte offset 4"):
        parse_html("😀<x>")


async def test_text_length_limits(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    await bot.send_message(USER, "x" * 4096)
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>")  # counted after parsing
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="Bad Request: text must be non-empty"):
        await bot.send_message(USER, "<b> </b>")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(TelegramBadRequest, match="Bad Request: unsupported parse_mode"):
        await bot.send_message(USER, "x", parse_mode="XML")
    assert [e.description for e in fake.errors] == [
        "Bad Request: message is too long",
        "Bad Request: text must be non-empty",
        "Bad Request: message text is empty",
        "Bad Request: unsupported parse_mode",
    ]


async def test_inline_keyboard_rules(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    await bot.send_message(USER, "ok", reply_markup=keyboard("é" * 32))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "ok", reply_markup=keyboard("é" * 32 + "x"))
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(USER, "ok", reply_markup=keyboard(""))
    url = InlineKeyboardButton(text="u", url="ftp://example.com")
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_URL_INVALID"):
        await bot.send_message(
            USER, "ok", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[url]])
        )
    wide = [[InlineKeyboardButton(text=str(i), callback_data=str(i)) for i in range(9)]]
    with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
        await bot.send_message(USER, "ok", reply_markup=InlineKeyboardMarkup(inline_keyboard=wide))
    assert len(fake.messages(USER)) == 1
    assert fake.buttons(fake.last_message(USER)) == [("b0", "é" * 32)]


async def test_edit_message(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    sent = await bot.send_message(USER, "<b>Pick</b>", reply_markup=keyboard("a", "b"))
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is not modified: specified"):
        await bot.edit_message_text(
            "<strong>Pick</strong>",
            chat_id=USER,
            message_id=sent.message_id,
            reply_markup=keyboard("a", "b"),
        )
    edited = await bot.edit_message_text(
        "Picked", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("a")
    )
    assert isinstance(edited, Message) and edited.edit_date is not None
    stored = fake.last_message(USER)
    assert (stored.text, stored.edited, fake.buttons(stored)) == ("Picked", 1, [("b0", "a")])
    await bot.edit_message_text("Picked!", chat_id=USER, message_id=sent.message_id)
    assert fake.buttons(stored) == []  # editing without reply_markup drops the keyboard
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=1)  # the user's message
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("z")
    )
    assert fake.buttons(stored) == [("b0", "z")] and stored.edited == 3
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_callback_query_answered_once(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    sent = await bot.send_message(USER, "Pick", reply_markup=keyboard("v:1", "v:0"))
    with pytest.raises(ValueError, match="no button"):
        fake.press_button(USER, sent.message_id, "v:2")
    fake.press_button(USER, sent.message_id, "v:1")
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None and query.data == "v:1"
    assert isinstance(query.message, Message) and query.message.text == "Pick"
    markup = query.message.reply_markup
    assert markup is not None
    assert markup.model_dump(exclude_none=True) == keyboard("v:1", "v:0").model_dump(
        exclude_none=True
    )
    with pytest.raises(TelegramBadRequest, match="Bad Request: MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query.id, text="x" * 201)
    assert await bot.answer_callback_query(query.id, text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query.id, text="again")
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("123")
    assert fake.unanswered_callbacks() == []


async def test_user_updates_validate(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "/start ref_1", language_code="en", first_name="Alice")
    fake.send_sticker(USER)
    fake.send_photo(USER, caption="look")
    fake.push_update(
        {
            "my_chat_member": {
                "chat": {"id": USER, "type": "private", "first_name": "Alice"},
                "from": {"id": USER, "is_bot": False, "first_name": "Alice"},
                "date": int(time.time()),
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 123456, "is_bot": True, "first_name": "B"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "user": {"id": 123456, "is_bot": True, "first_name": "B"},
                    "until_date": 0,
                },
            }
        }
    )
    updates = await bot.get_updates(timeout=0)
    start, sticker, photo, member = updates
    assert start.message and start.message.text == "/start ref_1"
    assert start.message.entities and start.message.entities[0].type == "bot_command"
    assert start.message.from_user and start.message.from_user.language_code == "en"
    assert sticker.message and sticker.message.sticker and sticker.message.message_id == 2
    assert photo.message and photo.message.photo and photo.message.caption == "look"
    assert member.my_chat_member is not None
    assert await bot.get_updates(offset=member.update_id + 1, timeout=0) == []
    with pytest.raises(ValueError):
        fake.push_update({"message": {"text": "no chat"}})


async def test_long_polling_returns_when_an_update_arrives(bot: Bot, fake: FakeBotAPI) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        fake.send_message(USER, "hello")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=10)
    await task
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started < 2


async def test_commands(bot: Bot, fake: FakeBotAPI) -> None:
    commands = [
        BotCommand(command="start", description="Démarrer"),
        BotCommand(command="help", description="Aide"),
    ]
    assert await bot.set_my_commands(commands, language_code="fr")
    registered = await bot.get_my_commands(language_code="fr")
    assert [(c.command, c.description) for c in registered] == [
        ("start", "Démarrer"),
        ("help", "Aide"),
    ]
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="Bad Request: BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])
    with pytest.raises(TelegramBadRequest, match="command length must not exceed 32"):
        await bot.set_my_commands([BotCommand(command="x" * 33, description="x")])
    with pytest.raises(TelegramBadRequest, match="command description length must not exceed 256"):
        await bot.set_my_commands([BotCommand(command="x", description="d" * 257)])
    assert await bot.delete_my_commands(language_code="fr")
    assert fake.commands("fr") == []


async def test_chat_action_and_injected_failure(bot: Bot, fake: FakeBotAPI) -> None:
    fake.send_message(USER, "hi")
    assert await bot.send_chat_action(USER, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action in request"):
        await bot.send_chat_action(USER, "dancing")
    fake.errors.clear()
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")
    await bot.send_message(USER, "x")
    assert fake.errors == [] and fake.chat_actions == [(USER, "typing")]


async def test_http_protocol(fake: FakeBotAPI) -> None:
    base = f"{fake.base_url}/bot{DEFAULT_TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.base_url}/bot1:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{base}/fooBar") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"
        async with http.get(f"{base}/GETME") as resp:
            assert resp.status == 200 and (await resp.json())["result"]["id"] == 123456
        fake.send_message(USER, "hi")
        body = {"chat_id": USER, "text": "<i>j</i>", "parse_mode": "HTML", "foo": 1}
        async with http.post(f"{base}/sendmessage", json=body) as resp:
            assert (await resp.json())["result"]["entities"][0]["type"] == "italic"
        async with http.get(f"{base}/sendMessage", params={"chat_id": str(USER)}) as resp:
            assert resp.status == 400
            assert (await resp.json())["description"] == "Bad Request: message text is empty"
        form = aiohttp.FormData({"chat_id": str(USER), "text": "multi"})
        form.add_field("doc", b"{}", filename="a.json")
        async with http.post(f"{base}/sendMessage", data=form) as resp:
            assert resp.status == 200
    assert [v.split(" (")[0] for v in fake.violations] == [
        "sendMessage: unknown parameter 'foo'",
        "sendMessage: unknown parameter 'doc'",
    ]


async def test_wait_idle_times_out_without_a_poller(fake: FakeBotAPI) -> None:
    fake.send_message(USER, "nobody polls")
    with pytest.raises(TimeoutError, match="undelivered"):
        await fake.wait_idle(timeout=0.3)


async def test_set_webhook_is_checked_like_telegram(bot: Bot, fake: FakeBotAPI) -> None:
    refused = {
        "http://bot.example.test/hook": "An HTTPS URL must be provided for webhook",
        "https://bot.example.test:8080/hook": "Webhook can be set up only on ports 80, 88, 443",
    }
    for url, description in refused.items():
        with pytest.raises(TelegramBadRequest, match=description):
            await bot.set_webhook(url, secret_token="s3cret")
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("https://bot.example.test/hook", secret_token="not allowed")
    with pytest.raises(TelegramBadRequest, match="secret token is too long"):
        await bot.set_webhook("https://bot.example.test/hook", secret_token="x" * 257)
    assert fake.webhook is None
    await bot.get_updates(timeout=0)  # no webhook: polling works

    for port in ("", ":443", ":80", ":88", ":8443"):
        url = f"https://bot.example.test{port}/hook"
        assert await bot.set_webhook(url, secret_token="A-z_09" * 40,
                                     allowed_updates=["message"]) is True
        assert fake.webhook is not None and fake.webhook["url"] == url
    fake.send_message(USER, "to the webhook")
    fake.send_sticker(USER)
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook "
                                                    "is active; use deleteWebhook"):
        await bot.get_updates(timeout=0)
    (update,) = fake.take_updates(limit=1)  # oldest first
    assert update["message"]["text"] == "to the webhook"
    with pytest.raises(TimeoutError, match="undelivered"):  # until the webhook answered
        await fake.wait_idle(timeout=0.3)
    fake.delivered(update["update_id"])
    (sticker,) = fake.take_updates()
    fake.delivered(sticker["update_id"])
    await fake.wait_idle(timeout=2)

    assert await bot.delete_webhook() is True
    assert fake.webhook is None
    fake.send_message(USER, "polled again")
    assert [u.message.text for u in await bot.get_updates(timeout=0) if u.message] == [
        "polled again"
    ]
    assert [c.method for c in fake.calls("setWebhook") if c.response["ok"]] == ["setWebhook"] * 5


async def test_dispatcher_polling_round_trip(bot: Bot, fake: FakeBotAPI) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(
            f"echo: {html.quote(message.text or '')}", reply_markup=keyboard("again")
        )

    @dp.callback_query(F.data == "again")
    async def again(query: CallbackQuery) -> None:
        await query.answer("ok")
        if isinstance(query.message, Message):
            await query.message.edit_text("done")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        fake.send_message(USER, "hello <world> & co")
        await fake.wait_idle()
        reply = fake.last_message(USER)
        assert reply.plain_text == "echo: hello <world> & co"
        assert reply.text == "echo: hello &lt;world&gt; &amp; co"
        fake.press_button(USER, reply.message_id, "again")
        await fake.wait_idle()
        assert fake.last_message(USER).plain_text == "done"
        assert fake.unanswered_callbacks() == []
    finally:
        await dp.stop_polling()
        await polling
    assert fake.errors == [] and fake.violations == []
    assert [c.method for c in fake.requests if c.method != "getUpdates"] == [
        "getMe",
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
    ]


def test_embedded_table_matches_the_spec() -> None:
    methods, _, loaded = _load_methods()
    if not loaded:
        pytest.skip("api.json not available")
    embedded = embedded_methods()
    for key, method in embedded.items():
        spec = methods[key]
        assert spec.name == method.name
        assert {k: p.required for k, p in spec.params.items()} == {
            k: p.required for k, p in method.params.items()
        }, method.name
