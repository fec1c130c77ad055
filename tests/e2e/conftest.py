"""The strict fake Bot API server on 127.0.0.1, started and stopped around each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.fake_api import FakeBotAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()
