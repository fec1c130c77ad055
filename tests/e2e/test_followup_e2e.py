"""The follow-up at the plan, over HTTP through the fake Bot API, with the app in process: opting
in, the reminder once after a restart, each answer, a blocked user, /forget, the advisor's counts.

Time: a FixedClock moved by the test, and the due follow-ups swept by a direct call, except in
the restart test, where a real delay of seconds passes and the background task sends it."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.app import App, build_app
from bot.clock import Clock, FixedClock, ShiftedClock
from bot.dialog.matching import normalise
from bot.followup import FollowUpRunner, FollowUps
from bot.render.callbacks import optional_answer
from tests.conftest import TODAY, make_settings
from tests.e2e.fake_api import DEFAULT_TOKEN, BotMessage, FakeBotAPI
from tests.e2e.test_bot_e2e import User, text_of
from tests.e2e.test_referral_e2e import ADVISOR, CLIENT, make_link

DAY = 86400.0
BRETON = ("SaaS", "Amérique du Nord", "Canada", "Montréal", "10 à 49", "1 à 10 M€", "Bretagne",
          "Premiers pas", "Non", "20 à 50 k€")
REFERRED = ("10 à 49", "1 à 10 M€", "Occitanie", "Premiers pas", "Non", "20 à 50 k€")
ASKED = "Avez-vous contacté"


@asynccontextmanager
async def running(fake: FakeBotAPI, data_dir: Path, clock: Clock,
                  delay: float = DAY) -> AsyncIterator[App]:
    """The app on `data_dir`, polling the fake server in this process, as `python -m bot` does
    (its startup starts the follow-ups' task); stopped and closed on the way out."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    app = build_app(make_settings(data_dir, follow_up_after=delay), session=session,
                    token=DEFAULT_TOKEN, clock=clock)
    task = asyncio.create_task(app.dispatcher.start_polling(
        app.bot, handle_signals=False,
        allowed_updates=app.dispatcher.resolve_used_update_types()))
    try:
        # A getUpdates is recorded once answered, after its long poll: wait for it parked.
        await until(lambda: bool(fake._pollers), "the app does not poll")
        yield app
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(task, 15)
        await app.close()


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def asked(fake: FakeBotAPI, user_id: int) -> list[BotMessage]:
    return [m for m in fake.messages(user_id) if ASKED in m.plain_text]


def followups(app: App) -> FollowUps:
    found = app.dispatcher["followups"]
    assert isinstance(found, FollowUps)
    return found


def runner(app: App) -> FollowUpRunner:
    assert app.follow_ups is not None
    return app.follow_ups


def toast(fake: FakeBotAPI) -> str | None:
    last = max(fake.callbacks.values(), key=lambda q: q.created)
    return (last.answer or {}).get("text")


async def double_tap(user: User, message: BotMessage, label: str) -> list[BotMessage]:
    """Two taps on a button before its keyboard goes (a phone, a slow network): the first
    answers, the second must find the question answered."""
    (data,) = [d for text, d in FakeBotAPI.buttons(message) if d and label in text]
    count = len(user.fake.messages(user.id))
    first = user.fake.press_button(user.id, message.message_id, data)
    second = user.fake.press_button(user.id, message.message_id, data)
    assert first != second
    await user.fake.wait_idle(quiet=0.3, timeout=15)
    return user.fake.messages(user.id)[count:]


def toasts(fake: FakeBotAPI, count: int) -> list[str | None]:
    """The texts the last `count` button presses were answered with."""
    last = sorted(fake.callbacks.values(), key=lambda q: q.created)[-count:]
    return [(q.answer or {}).get("text") for q in last]


async def step(user: User, data: str | None = None, label: str = "") -> list[BotMessage]:
    """Press a dialog button (by data, else by label) and return once the next message is
    there: each answer is answered with one."""
    message = user.keyboard_message()
    if data is None:
        (data, *_) = [d for text, d in FakeBotAPI.buttons(message)
                      if d and normalise(label) in normalise(text)]
    count = len(user.fake.messages(user.id))
    user.fake.press_button(user.id, message.message_id, data)
    await until(lambda: len(user.fake.messages(user.id)) > count, f"no reply to {label}")
    await user.fake.wait_idle(quiet=0.05, timeout=15)
    return user.fake.messages(user.id)[count:]


async def a_plan(user: User, answers: tuple[str, ...], start: str = "/start") -> BotMessage:
    """The dialog walked to the plan; returns the plan's message."""
    await user.send(start)
    for label in answers:
        await step(user, label=label)
    while (data := optional_answer([d or "" for _, d in FakeBotAPI.buttons(
            user.keyboard_message())])) is not None:
        await step(user, data)
    plan = await user.press("Voir mon plan")
    return plan[0]


async def test_the_reminder_arrives_once_after_a_restart(fake: FakeBotAPI,
                                                        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    start = dt.datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=dt.UTC)
    first_clock = ShiftedClock(start)
    async with running(fake, data_dir, first_clock, delay=3.0):
        user = User(fake, 901, "fr")
        plan = await a_plan(user, BRETON)
        assert ("⏰ Me le rappeler dans une semaine", "pl:") in [
            (text, (data or "")[:3]) for text, data in FakeBotAPI.buttons(plan)]
        set_ = await user.press("Me le rappeler", plan)
        assert "Rappel noté" in text_of(set_) and "Bretagne Commerce International" in text_of(
            set_)
        assert toast(fake) == "Rappel noté."
        stopped_at = first_clock.now()
    assert asked(fake, 901) == []  # not due before the restart

    async with running(fake, data_dir, ShiftedClock(stopped_at), delay=3.0) as app:
        await until(lambda: len(asked(fake, 901)) == 1, "no reminder after the restart")
        (reminder,) = asked(fake, 901)
        assert "Bretagne Commerce International (BCI)" in reminder.plain_text
        assert [text for text, _ in FakeBotAPI.buttons(reminder)] == [
            "✅ C'est fait", "⏳ Pas encore", "🆘 J'ai besoin d'aide"]
        assert await runner(app).sweep() == 0  # sent once: claimed, then asked
        record = await followups(app).get(901)
        assert record is not None and record["status"] == "asked"
    assert len(asked(fake, 901)) == 1
    assert fake.errors == [], fake.errors


async def test_each_answer_leads_where_it_should(fake: FakeBotAPI, tmp_path: Path) -> None:
    clock = FixedClock.on(TODAY)
    async with running(fake, tmp_path / "data", clock) as app:
        user = User(fake, 902, "fr")
        plan = await a_plan(user, BRETON)
        await user.press("Me le rappeler", plan)
        await user.press("Me le rappeler", plan)  # twice: one follow-up
        assert toast(fake) == "Rappel déjà prévu pour ce plan."
        assert await runner(app).sweep() == 0  # not due yet
        clock.advance(DAY)
        assert await runner(app).sweep() == 1
        reminder = fake.last_message(902)
        assert "Avez-vous contacté Bretagne Commerce International (BCI) ?" in reminder.plain_text

        # ✅ done: thanks, and never again.
        done = await double_tap(user, reminder, "C'est fait")
        assert len(done) == 1 and "Bravo" in done[0].plain_text  # once
        assert toasts(fake, 2) == [None, "Ce bouton vient d'un ancien message."]
        assert await followups(app).get(902) is None
        clock.advance(30 * DAY)
        assert await runner(app).sweep() == 0

        # ⏳ not yet: one more reminder after the same delay, then never again.
        await user.press("Me le rappeler", plan)
        clock.advance(DAY)
        assert await runner(app).sweep() == 1
        first = fake.last_message(902)
        later = await double_tap(user, first, "Pas encore")
        assert len(later) == 1 and "une fois dans une semaine" in later[0].plain_text
        assert toasts(fake, 2) == [None, "Ce bouton vient d'un ancien message."]
        clock.advance(DAY - 60)
        assert await runner(app).sweep() == 0
        clock.advance(60)
        assert await runner(app).sweep() == 1
        second = fake.last_message(902)
        assert "Encore une fois" in second.plain_text and "dernier rappel" in second.plain_text
        last = await user.press("Pas encore", second)
        assert "Je ne vous le rappellerai plus" in text_of(last)
        clock.advance(30 * DAY)
        assert await runner(app).sweep() == 0 and await followups(app).get(902) is None

        # 🆘 I need help: the Team France Export contact of the home region.
        await user.press("Me le rappeler", plan)
        clock.advance(DAY)
        assert await runner(app).sweep() == 1
        help_ = await user.press("besoin d'aide", fake.last_message(902))
        text = text_of(help_)
        assert "Le contact Team France Export de Bretagne" in text
        assert "Bretagne Commerce International (BCI)" in text
        assert any(e.get("url") == "https://www.bretagnecommerceinternational.com/"
                   for m in help_ for e in m.entities)
        clock.advance(30 * DAY)
        assert await runner(app).sweep() == 0
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []


async def test_a_blocked_user_is_marked_inactive_and_forget_drops_the_follow_up(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    clock = FixedClock.on(TODAY)
    async with running(fake, tmp_path / "data", clock) as app:
        user = User(fake, 903, "fr")
        plan = await a_plan(user, BRETON)
        await user.press("Me le rappeler", plan)
        clock.advance(DAY)
        sends = len(fake.calls("sendMessage"))
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        assert await runner(app).sweep() == 0
        assert len(fake.calls("sendMessage")) == sends + 1  # the one refused
        record = await app.dispatcher["users"].get(903)
        assert record is not None and record["active"] is False
        assert await followups(app).get(903) is None
        clock.advance(30 * DAY)
        assert await runner(app).sweep() == 0
        assert len(fake.calls("sendMessage")) == sends + 1  # never retried
        assert asked(fake, 903) == []

        # Back (unblocked), they opt in again, then /forget before it is due: nothing is sent.
        await user.press("Me le rappeler", plan)
        mydata = text_of(await user.send("/mydata"))
        assert '"follow_up"' in mydata and '"status": "pending"' in mydata
        assert "Bretagne Commerce International (BCI)" in mydata
        await user.send("/forget")
        assert "effacées" in text_of(await user.press("Oui, tout effacer"))
        assert await followups(app).get(903) is None
        clock.advance(30 * DAY)
        assert await runner(app).sweep() == 0
        assert asked(fake, 903) == []
        privacy = text_of(await user.send("/privacy"))
        assert "rappel" in privacy
    assert fake.errors == [], fake.errors


async def test_a_referred_client_gets_the_hand_off_and_the_advisor_sees_numbers(
        fake: FakeBotAPI, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True)
    code = await make_link(data_dir)
    clock = FixedClock.on(TODAY)
    async with running(fake, data_dir, clock) as app:
        advisor, client = User(fake, ADVISOR, "fr"), User(fake, CLIENT, "fr")
        await advisor.send("/help")
        plan = await a_plan(client, REFERRED, f"/start a_{code}")
        await client.press("Non")  # no hand-off after the plan
        await client.press("Me le rappeler", plan)
        clock.advance(DAY)
        assert await runner(app).sweep() == 1
        before = len(fake.messages(ADVISOR))
        help_ = await client.press("besoin d'aide", fake.last_message(CLIENT))
        assert "Claire Martin" in text_of(help_) and "transmettre" in text_of(help_)
        assert fake.messages(ADVISOR)[before:] == []  # nothing without consent
        done = await client.press("Oui, transmettre", until="transmis à Claire Martin")
        assert "transmis à Claire Martin" in text_of(done)
        assert any("vous transmet son plan" in m.plain_text
                   for m in fake.messages(ADVISOR)[before:])

        # Help again, now that the advisor holds the plan: no second hand-off.
        await client.press("Me le rappeler", plan)  # the same plan, asked again
        clock.advance(DAY)
        assert await runner(app).sweep() == 1
        before = len(fake.messages(ADVISOR))
        again = await client.press("besoin d'aide", fake.last_message(CLIENT))
        assert "Claire Martin" in text_of(again) and "a déjà vos réponses" in text_of(again)
        assert fake.messages(ADVISOR)[before:] == []

        await client.press("Me le rappeler", plan)
        clock.advance(DAY)
        assert await runner(app).sweep() == 1
        await client.press("C'est fait", fake.last_message(CLIENT))
        stats = text_of(await advisor.send("/advisor stats"))
        assert "⏰ 3 · ✅ 1 · 🆘 2" in stats
        assert str(CLIENT) not in stats
    assert fake.errors == [], fake.errors
    assert fake.unanswered_callbacks() == []
