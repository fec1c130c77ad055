"""The strict fake Bot API server on 127.0.0.1 around each test, and a plain Bot talking to it;
the storage tests' private redis-server (`redis_url`) for the replica tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from tests.e2e.fake_api import DEFAULT_TOKEN, FakeBotAPI
from tests.storage.conftest import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]  # fixtures, shared with tests/storage


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    client = Bot(DEFAULT_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield client
    await client.session.close()
