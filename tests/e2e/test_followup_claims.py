"""Due follow-ups shared by several senders (replicas on Redis, or two runners on one store):
each is claimed with a compare-and-set and sent once; its buttons are answered once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram import Bot

from bot.clock import FixedClock
from bot.followup import FollowUpRunner, FollowUps
from bot.pacing import Pacer
from bot.render.templates import Renderer
from bot.storage.journal import JournalStore
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue
from bot.storage.users import UserRepository
from tests.conftest import TODAY
from tests.e2e.fake_api import FakeBotAPI

USERS = range(41, 51)


@pytest.mark.parametrize("backend", ["journal", "redis"])
async def test_three_senders_send_each_due_follow_up_once(
        backend: str, fake: FakeBotAPI, bot: Bot, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    kv: KeyValue = (RedisKeyValue.from_url(request.getfixturevalue("redis_url"))
                    if backend == "redis" else JournalStore(tmp_path / "state"))
    try:
        clock = FixedClock.on(TODAY)
        followups = FollowUps(kv, clock, delay=60)
        for user_id in USERS:
            fake.send_message(user_id, "/start")  # the chats exist
            await followups.schedule(user_id, plan="p", who="Team France Export", locale="en",
                                     home_region=None, code=None)
        assert not await followups.schedule(41, plan="p", who="x", locale="en",
                                            home_region=None, code=None)  # the same plan
        runners = [FollowUpRunner(bot, Renderer(), UserRepository(kv, clock), followups,
                                  Pacer(per_second=1000, per_chat=0), name=f"r{i}")
                   for i in range(3)]
        assert [await r.sweep() for r in runners] == [0, 0, 0]  # not due yet
        clock.advance(60)
        sent = await asyncio.gather(*(r.sweep() for r in runners))
        assert sum(sent) == len(USERS)
        assert [len(fake.messages(u)) for u in USERS] == [1] * len(USERS)
        assert "Did you contact Team France Export?" in fake.last_message(41).plain_text
        assert [await r.sweep() for r in runners] == [0, 0, 0]
        record = await followups.get(41)
        assert record is not None and record["status"] == "asked"

        # Two taps at once (two replicas): one answer wins.
        token = str(record["token"])
        won = await asyncio.gather(*(followups.answer(41, token) for _ in range(3)))
        assert len([w for w in won if w is not None]) == 1
        assert await followups.answer(42, "wrong") is None
    finally:
        await kv.close()
    assert fake.errors == [], fake.errors
