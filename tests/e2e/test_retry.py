"""A 429 from the Bot API is waited out and retried, within bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from bot.app import create_bot
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
