"""Duplicates, floods, blocked users, bounded locks, updates in flight at shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Message, Update

from bot.app import App
from bot.storage.isolation import BoundedEventIsolation
from tests.dialog.driver import ChatDriver


def sent_to(app: App, chat_id: int, mark: int = 0) -> list[SendMessage]:
    return [r for r in app.bot.session.requests[mark:]  # type: ignore[attr-defined]
            if isinstance(r, SendMessage) and r.chat_id == chat_id]


async def test_an_update_delivered_twice_has_no_second_effect(app: App) -> None:
    chat = ChatDriver(app, user_id=3101)
    message = Message(message_id=1, date=dt.datetime.now(dt.UTC), chat=chat.chat,
                      from_user=chat.user, text="/start")
    update = Update(update_id=987654, message=message)
    await app.dispatcher.feed_update(app.bot, update)
    first = len(sent_to(app, chat.chat.id))
    await app.dispatcher.feed_update(app.bot, update)
    assert first == 2 and len(sent_to(app, chat.chat.id)) == first


async def test_a_flood_gets_one_polite_reply_and_others_are_not_slowed(app: App) -> None:
    flooder = ChatDriver(app, user_id=3201)
    other = ChatDriver(app, user_id=3202)
    await flooder.send("/start")
    for _ in range(40):
        await flooder.send("spam")
    replies = [m.text for m in sent_to(app, flooder.chat.id)]
    assert sum("Doucement" in t for t in replies) == 1
    assert len(replies) < 30  # the rest of the flood was dropped, not answered one by one
    shown = await other.send("/start")
    assert "Bienvenue" in shown[0].text


async def test_dropped_button_presses_are_still_answered(app: App) -> None:
    chat = ChatDriver(app, user_id=3301)
    await chat.send("/start")
    mark = len(app.bot.session.requests)  # type: ignore[attr-defined]
    for _ in range(30):
        await chat.press_data("a:xx:s0:saas")
    answers = [r for r in app.bot.session.requests[mark:]  # type: ignore[attr-defined]
               if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 30


async def test_per_user_locks_do_not_accumulate(app: App) -> None:
    isolation = app.dispatcher.fsm.events_isolation
    assert isinstance(isolation, BoundedEventIsolation)
    for user_id in range(4000, 4050):
        await ChatDriver(app, user_id=user_id).send("/start")
    assert isolation.size == 0


async def test_shutdown_waits_for_updates_in_flight(app: App) -> None:
    in_flight = app.dispatcher["in_flight"]
    release = asyncio.Event()

    async def slow_handler(event: object, data: dict[str, object]) -> None:
        await release.wait()

    running = asyncio.create_task(in_flight(slow_handler, object(), {}))
    await asyncio.sleep(0)
    assert in_flight.count == 1
    assert await in_flight.drain(0.05) is False
    release.set()
    assert await in_flight.drain(1.0) is True
    await running
