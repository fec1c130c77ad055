"""A 429 from the Bot API is waited out and retried, within bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Update

from bot.app import build_app, create_bot
from bot.config import Settings
from tests.e2e.fake_api import DEFAULT_TOKEN, FakeBotAPI


@pytest.fixture
async def bot(fake: FakeBotAPI, settings: Settings) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = create_bot(settings, session=session, token=DEFAULT_TOKEN)
    yield bot
    await bot.session.close()


async def test_a_throttled_message_is_sent_after_the_wait(fake: FakeBotAPI, bot: Bot) -> None:
    fake.send_message(77, "/start")  # the chat must exist for sendMessage
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await bot.send_message(77, "bonjour")
    assert [m.plain_text for m in fake.messages(77)] == ["bonjour"]
    assert len(fake.calls("sendMessage")) == 2


async def test_a_wait_longer_than_the_bound_is_not_retried(fake: FakeBotAPI, bot: Bot) -> None:
    fake.send_message(78, "/start")
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 120", retry_after=120)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(78, "bonjour")
    assert fake.messages(78) == []


async def test_a_blocked_user_is_marked_inactive_and_never_retried(fake: FakeBotAPI,
                                                                  settings: Settings) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    app = build_app(settings, session=session, token=DEFAULT_TOKEN)
    try:
        fake.send_message(79, "/start")  # the user exists for the fake server

        async def start(update_id: int) -> None:
            update = Update.model_validate({
                "update_id": update_id,
                "message": {"message_id": update_id, "date": 1767225600,
                            "chat": {"id": 79, "type": "private", "first_name": "U"},
                            "from": {"id": 79, "is_bot": False, "first_name": "U"},
                            "text": "/start"}})
            await app.dispatcher.feed_update(app.bot, update)

        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        await start(1)
        assert len(fake.calls("sendMessage")) == 1  # not retried, and no error reply tried
        record = await app.dispatcher["users"].get(79)
        assert record is not None and record["active"] is False
        await start(2)  # the user came back
        record = await app.dispatcher["users"].get(79)
        assert record is not None and record["active"] is True
    finally:
        await app.close()


async def test_network_errors_are_retried_with_backoff() -> None:
    from aiogram.exceptions import TelegramNetworkError
    from aiogram.methods import GetMe

    from bot.retry import RetryAfterMiddleware

    calls: list[int] = []

    async def flaky(bot: object, method: object) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TelegramNetworkError(method=GetMe(), message="connection reset")
        return "ok"

    middleware = RetryAfterMiddleware(network_pause=0.01)
    assert await middleware(flaky, None, GetMe()) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(TelegramNetworkError):
        await RetryAfterMiddleware(attempts=2, network_pause=0.01)(
            flaky, None, GetMe())  # type: ignore[arg-type]


async def test_a_button_answered_too_late_still_gets_its_reply(fake: FakeBotAPI,
                                                                settings: Settings) -> None:
    """Telegram refuses answerCallbackQuery about 15 s after the tap; the next question must
    come all the same (under load a tap's update can wait that long)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    app = build_app(settings, session=session, token=DEFAULT_TOKEN)

    async def deliver() -> None:
        for raw in fake.take_updates():
            await app.dispatcher.feed_update(app.bot, Update.model_validate(raw))
            fake.delivered(raw["update_id"])

    try:
        fake.send_message(80, "/start")
        await deliver()
        question = fake.last_message(80)
        assert "1/8" in question.plain_text
        _, data = FakeBotAPI.buttons(question)[0]
        assert data is not None
        fake.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old and response "
                       "timeout expired or query ID is invalid")
        fake.press_button(80, question.message_id, data)
        await deliver()
        assert "2/8" in fake.last_message(80).plain_text
        assert fake.errors == []
    finally:
        await app.close()
