"""The bot in groups and channels, through the real Dispatcher: it keeps nothing about their
members, and a button pressed there gets a toast pointing to the private chat, nothing else."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Router
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.console import LocalSession
from bot.render.callbacks import STEP_CODES, AnswerCb, NavCb
from tests.conftest import TODAY, make_settings
from tests.dialog.driver import ChatDriver

ADMIN = 5500
GROUP = Chat(id=-100_555, type="supergroup", title="Export club")
_ids = itertools.count(900_000)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = make_settings(tmp_path / "data", admin_ids=str(ADMIN))
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()


def chat_key(app: App, user_id: int) -> StorageKey:
    return StorageKey(bot_id=app.bot.id, chat_id=user_id, user_id=user_id)


def requests(app: App) -> list[TelegramMethod[object]]:
    return app.bot.session.requests  # type: ignore[attr-defined, no-any-return]


def group_message(chat: Chat = GROUP) -> Message:
    """A message of the bot's in a group, with buttons on it as far as a client can tell."""
    return Message(message_id=next(_ids), date=dt.datetime.now(dt.UTC), chat=chat,
                   text="📋 Votre plan export")


async def press(app: App, user: User, data: str, message: Message | None) -> None:
    extra = {} if message is not None else {"inline_message_id": "AAE-inline"}
    query = CallbackQuery(id=str(next(_ids)), from_user=user, chat_instance="group",
                          data=data, message=message, **extra)
    await app.dispatcher.feed_update(app.bot, Update(update_id=next(_ids), callback_query=query))


async def test_group_members_leave_no_record(app: App) -> None:
    member = User(id=5501, is_bot=False, first_name="Marc", language_code="fr")
    for chat in (GROUP, Chat(id=-555, type="group"), Chat(id=-100_556, type="channel")):
        for text in ("/start@ExportAdvisorBot", "/start", "bonjour", "/forget"):
            message = Message(message_id=next(_ids), date=dt.datetime.now(dt.UTC), chat=chat,
                              from_user=member, text=text)
            await app.dispatcher.feed_update(app.bot, Update(update_id=next(_ids),
                                                             message=message))
    assert await app.kv.get("users", "5501") is None
    assert [k async for k in app.kv.keys("users")] == []
    assert requests(app) == []  # and nothing said in the group


async def test_buttons_on_a_group_message_only_point_to_the_private_chat(app: App) -> None:
    # A user of the bot, mid-dialog and with a plan: what a press in a group could leak.
    chat = ChatDriver(app, user_id=5502, language="en")
    await chat.send("/start")
    await chat.send("saas")
    await chat.send("Singapore")
    await app.dispatcher["users"].update(5502, last_plan={"answers": {"sector": "saas"},
                                                          "kb_version": ""})
    dialog_id = (await app.dispatcher.storage.get_data(
        key=chat_key(app, 5502)))["dialog"]["dialog_id"]
    before = await app.kv.get("users", "5502")
    stranger = User(id=5503, is_bot=False, first_name="Zoé", language_code="fr")
    admin = User(id=ADMIN, is_bot=False, first_name="Admin", language_code="fr")
    presses = [
        (chat.user, AnswerCb(d=dialog_id, s=STEP_CODES["headcount"], o="h10_49").pack()),
        (chat.user, NavCb(d=dialog_id, a="back").pack()),
        (chat.user, "n:x:restart"), (chat.user, "al:plan"), (chat.user, "al:on"),
        (chat.user, "al:off"), (chat.user, "l:en"), (chat.user, "f:yes:t"),
        (chat.user, "h:yes:t"), (chat.user, "v:b"), (chat.user, "p:own"),
        (stranger, "n:x:restart"), (stranger, "al:plan"), (stranger, "a:x:s0:saas"),
        (admin, "k:export"), (admin, "k:versions"),
    ]
    mark = len(requests(app))
    for user, data in presses:
        await press(app, user, data, group_message())
    await press(app, chat.user, "al:plan", None)  # a message sent inline, in any chat
    sent = requests(app)[mark:]
    assert all(isinstance(r, AnswerCallbackQuery) for r in sent), sent
    toasts = [r.text for r in sent if isinstance(r, AnswerCallbackQuery)]
    assert len(toasts) == len(presses) + 1
    assert set(toasts) == {app.renderer.label("en", "toast.private_only"),
                           app.renderer.label("fr", "toast.private_only")}
    assert toasts[0] == "Open me in a private chat to use this button."
    # Nothing changed: no record for the stranger or the admin, the dialog where it was.
    assert await app.kv.get("users", "5503") is None
    assert await app.kv.get("users", str(ADMIN)) is None
    assert await app.kv.get("users", "5502") == before
    data = await app.dispatcher.storage.get_data(key=chat_key(app, 5502))
    assert data["dialog"]["dialog_id"] == dialog_id and data["dialog"]["step"] == "headcount"




async def test_no_handler_would_post_to_a_group_even_without_the_toast(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every router that has buttons keeps to private chats by itself: with the groups router
    taken out, the same presses send nothing anywhere."""
    monkeypatch.setattr("bot.handlers.groups.build_router", lambda: Router(name="none"))
    settings = make_settings(tmp_path / "data", admin_ids=str(ADMIN))
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    try:
        chat = ChatDriver(application, user_id=5504)
        await chat.send("/start")
        await application.dispatcher["users"].update(5504, last_plan={
            "answers": {"sector": "saas"}, "kb_version": ""})
        admin = User(id=ADMIN, is_bot=False, first_name="Admin")
        mark = len(requests(application))
        for user, data in [(chat.user, d) for d in ("n:x:restart", "al:plan", "al:on", "al:off",
                                                     "l:en", "f:yes:t", "h:yes:t", "v:b",
                                                     "p:own", "a:x:s0:saas")] + [
                (admin, "k:export"), (admin, "k:versions")]:
            await press(application, user, data, group_message())
        assert [r for r in requests(application)[mark:]
                if not isinstance(r, AnswerCallbackQuery)] == []
    finally:
        await application.close()


async def test_an_error_on_a_group_update_is_not_reported_in_the_group(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("store down")

    monkeypatch.setattr(app.dispatcher["users"], "get", broken)
    member = User(id=5505, is_bot=False, first_name="Marc")
    message = Message(message_id=next(_ids), date=dt.datetime.now(dt.UTC), chat=GROUP,
                      from_user=member, text="/start")
    await app.dispatcher.feed_update(app.bot, Update(update_id=next(_ids), message=message))
    await press(app, member, "n:x:restart", group_message())
    assert [r for r in requests(app) if not isinstance(r, AnswerCallbackQuery)] == []
