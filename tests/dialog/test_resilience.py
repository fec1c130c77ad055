"""Duplicates, floods, blocked users, bounded locks, updates in flight at shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Message, Update

from bot.app import App
from bot.clock import FixedClock
from bot.handlers.middlewares import ThrottlingMiddleware
from bot.storage.isolation import BoundedEventIsolation
from tests.dialog.driver import ChatDriver, limits_of


def toasts(chat: ChatDriver) -> list[str]:
    return [r.text or "" for r in chat.session.requests if isinstance(r, AnswerCallbackQuery)]


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


async def test_a_flood_gets_a_few_replies_and_one_polite_notice(app: App) -> None:
    clock = FixedClock()  # time stands still: sixty messages at once
    limits_of(app).clock = clock
    flooder, other = ChatDriver(app, user_id=3201), ChatDriver(app, user_id=3202)
    await flooder.send("/start")
    mark = len(app.bot.session.requests)  # type: ignore[attr-defined]
    for i in range(60):
        await flooder.send(f"spam {i}")
    replies = [m.text for m in sent_to(app, flooder.chat.id, mark)]
    assert len(replies) <= 10
    assert sum("Doucement" in t for t in replies) == 1
    assert sum("pas compris" in t for t in replies) == len(replies) - 1
    shown = await other.send("/start")  # someone else is not slowed
    assert "Bienvenue" in shown[0].text
    clock.advance(1.0)  # a second of calm, and the dialog goes on
    shown = await flooder.send("saas")
    assert "2/8" in shown[-1].text


async def test_repeated_junk_gets_one_reply(app: App) -> None:
    limits_of(app).clock = FixedClock()
    flooder = ChatDriver(app, user_id=3203)
    await flooder.send("/start")
    mark = len(app.bot.session.requests)  # type: ignore[attr-defined]
    for _ in range(60):
        await flooder.send("asdfgh")
    sticker = {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                           "width": 512, "height": 512, "is_animated": False,
                           "is_video": False}}
    [reply] = [m.text for m in sent_to(app, flooder.chat.id, mark)]
    assert "pas compris" in reply
    for _ in range(5):  # junk of another kind is answered, once
        await flooder.send_update(**sticker)
    assert len(sent_to(app, flooder.chat.id, mark)) == 2


async def test_a_command_sent_again_at_once_is_answered_once(app: App) -> None:
    clock = FixedClock()
    limits_of(app).clock = clock
    chat = ChatDriver(app, user_id=3206)
    for _ in range(60):
        await chat.send("/start")
    welcome, question = [m.text for m in sent_to(app, chat.chat.id)]
    assert "Bienvenue" in welcome and "1/8" in question
    clock.advance(3.0)  # later on, the same command is a new request
    assert "Bienvenue" in (await chat.send("/start"))[0].text


async def test_the_same_answer_again_is_still_an_answer(app: App) -> None:
    """Only junk is coalesced: an answer typed twice answers two questions."""
    limits_of(app).clock = FixedClock()
    chat = ChatDriver(app, user_id=3204)
    await chat.send("/start")
    await chat.send("saas")
    await chat.send("Singapour")
    await chat.send("je ne sais pas")  # head count
    shown = await chat.send("je ne sais pas")  # turnover
    assert "5/8" in shown[-1].text


async def test_a_burst_of_taps_is_never_cut(app: App) -> None:
    """Thirty presses in three seconds, back and forth, then the plan: every press on the
    current question's keyboard is handled. Presses on an old message have a budget: past it,
    only a toast."""
    clock = FixedClock()
    limits_of(app).clock = clock
    chat = ChatDriver(app, user_id=3205)
    await chat.send("/start")
    presses = 0
    for label in ("SaaS", "Amérique du Nord", "États-Unis", "San Francisco", "10 à 49",
                  "1 à 10 M€", "Auvergne-Rhône-Alpes", "Premiers pas", "Oui, 2"):
        # The VIE answer ("Oui, 2" is one tap) is changed twice: as many presses as before.
        for again in ((label,) if label == "SaaS" else (label, "Retour") * 2 + (label,)
                      if label == "Oui, 2" else (label, "Retour", label)):
            shown = await chat.press(again)
            assert "ancien message" not in shown[-1].text
            presses += 1
            clock.advance(0.1)
    assert presses == 27
    old = chat.last_keyboard_message()
    await chat.press("50 à 150 k€")
    mark = len(chat.session.requests)
    for _ in range(15):  # the old message's buttons, over and over
        await chat.press_data(chat.buttons(old)[0][1], old)
    stale = [m for m in chat._sent_since(mark) if "ancien message" in m.text]
    assert len(stale) == ThrottlingMiddleware.TAPS.burst
    assert toasts(chat).count(app.renderer.label("fr", "toast.flood")) == 15 - len(stale)
    await chat.skip_optional()
    parts = await chat.see_plan("Voir mon plan")  # and every section of it opens
    assert "San Francisco" in parts["summary"] and "San Francisco" in parts["landing"]


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
