"""The shared pacer: replicas' pacers on one Redis stay together under the overall and
per-chat limits (on a virtual clock, and on Redis's own clock against real time)."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import time

import pytest

from bot.clock import FixedClock
from bot.pacing import Pacer, RedisPacer, pacer_for
from bot.storage.redis import RedisKeyValue
from tests.conftest import TODAY
from tests.storage.conftest import MakeKV


async def test_the_store_decides_which_pacer(make_kv: MakeKV, backend: str) -> None:
    assert isinstance(pacer_for(make_kv()), RedisPacer if backend == "redis" else Pacer)


class VirtualTime:
    """Sleep for tasks sharing a FixedClock, in whole microseconds: the clock moves only when
    every task is asleep, to the earliest wake-up. So a task reads one time from its clock
    read to its next sleep, and a send happens exactly at the time its pacer gave it."""

    def __init__(self, clock: FixedClock, tasks: int) -> None:
        self.clock = clock
        self.origin = clock.at
        self.now_us = 0
        self.awake = tasks
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now_us + round(seconds * 1e6), id(future), future))
        self.awake -= 1
        self._advance()
        await future

    def finished(self) -> None:
        self.awake -= 1
        self._advance()

    def _advance(self) -> None:
        if self.awake or not self._sleepers:
            return
        self.now_us = self._sleepers[0][0]
        self.clock.at = self.origin + dt.timedelta(microseconds=self.now_us)
        while self._sleepers and self._sleepers[0][0] <= self.now_us:
            self.awake += 1
            heapq.heappop(self._sleepers)[2].set_result(None)


def assert_within_limits(sends: list[tuple[float, int]], per_window: int, window: float,
                         chat_gap: float) -> None:
    """At most `per_window` sends in any `window` of time, and no chat twice within
    `chat_gap` (times in any one unit)."""
    times = sorted(t for t, _ in sends)
    assert all(b - a >= window
               for a, b in zip(times, times[per_window:], strict=False)), times
    by_chat: dict[int, list[float]] = {}
    for at, chat in sorted(sends):
        by_chat.setdefault(chat, []).append(at)
    for chat_times in by_chat.values():
        assert all(b - a >= chat_gap
                   for a, b in zip(chat_times, chat_times[1:], strict=False)), chat_times


@pytest.mark.parametrize("shared_chats", [False, True])
async def test_two_replicas_pacers_together_stay_under_the_limits(
        redis_url: str, shared_chats: bool) -> None:
    clock = FixedClock.on(TODAY)
    virtual = VirtualTime(clock, tasks=2)
    stores = [RedisKeyValue.from_url(redis_url) for _ in range(2)]
    pacers = [RedisPacer(kv.redis, kv.prefix, per_second=10, per_chat=1.0, clock=clock,
                         sleep=virtual.sleep) for kv in stores]
    sends: list[tuple[float, int]] = []  # (microseconds, chat)

    async def run(pacer: RedisPacer, replica: int) -> None:
        for i in range(30):
            # shared: the other replica writes to this chat one step later; else chats apart
            chat = (i + replica) % 13 if shared_chats else 100 * replica + i
            await pacer.wait(chat)
            sends.append((virtual.now_us, chat))
        virtual.finished()

    try:
        await asyncio.gather(run(pacers[0], 0), run(pacers[1], 1))
    finally:
        for kv in stores:
            await kv.close()
    assert len(sends) == 60
    assert_within_limits(sends, per_window=10, window=1e6, chat_gap=1e6)
    if not shared_chats:  # only the overall limit binds: one send every 0.1 s, no time lost
        assert sorted(t for t, _ in sends) == [100_000 * k for k in range(60)]


async def test_on_redis_time_two_pacers_stay_under_the_limits(redis_url: str) -> None:
    """Redis's own clock (production's), measured against real time: the assertion is about the
    limit, with a margin for the scheduling jitter of real sleeps, not about speed."""
    stores = [RedisKeyValue.from_url(redis_url) for _ in range(2)]
    pacers = [RedisPacer(kv.redis, kv.prefix, per_second=20, per_chat=0.5) for kv in stores]
    sends: list[tuple[float, int]] = []

    async def run(pacer: RedisPacer, offset: int) -> None:
        for i in range(14):
            chat = (i + 6 * offset) % 12
            await pacer.wait(chat)
            sends.append((time.monotonic(), chat))

    try:
        await asyncio.gather(run(pacers[0], 0), run(pacers[1], 1))
    finally:
        for kv in stores:
            await kv.close()
    assert len(sends) == 28
    # margins for the jitter of real sleeps: one send more per second, a window 50 ms short,
    # a chat's pause 200 ms short (the virtual-clock test above checks both limits exactly)
    assert_within_limits(sends, per_window=20 + 1, window=0.95, chat_gap=0.3)
