"""Pacing sends under Telegram's limits: in one process (`Pacer`), or for every replica of the
bot together, through Redis (`RedisPacer`). Both reserve a send time and sleep until it, so a
caller simply does `await pacer.wait(chat_id)` before each message."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis

from bot.clock import Clock
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue

Sleep = Callable[[float], Awaitable[None]]


class Pacing(Protocol):
    async def wait(self, chat_id: int) -> None:
        """Return when a message may be sent to this chat (the send is then counted)."""
        ...


class Pacer:
    """At most `per_second` sends overall, and one per chat every `per_chat` seconds."""

    def __init__(self, per_second: float = 25.0, per_chat: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.gap = 1.0 / per_second
        self.per_chat = per_chat
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._chat_next: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        now = self._clock()
        at = max(now, self._next, self._chat_next.get(chat_id, 0.0))
        self._next = at + self.gap
        self._chat_next[chat_id] = at + self.per_chat
        if len(self._chat_next) > 10_000:  # forget chats whose pause is over
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        if at > now:
            await self._sleep(at - now)


# KEYS[1]: the next free time overall; KEYS[2]: the chat's. ARGV: now (µs, or '' for Redis's
# own clock), gap (µs), per chat (µs), how long a key outlives its use (ms). Returns the wait (µs).
# Times are integers of microseconds (exact in a Lua double), written with '%.0f' since Lua's
# tostring would round them to 14 digits.
_WAIT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local gap, per_chat, keep = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local at = math.max(now, tonumber(redis.call('GET', KEYS[1])) or 0)
if per_chat > 0 then at = math.max(at, tonumber(redis.call('GET', KEYS[2])) or 0) end
local function hold(key, until_)
  redis.call('SET', key, string.format('%.0f', until_), 'PX',
             string.format('%.0f', math.ceil((until_ - now) / 1000) + keep))
end
hold(KEYS[1], at + gap)
if per_chat > 0 then hold(KEYS[2], at + per_chat) end
return at - now
"""


class RedisPacer:
    """`Pacer` for all the replicas together: the next free send time, overall and per chat,
    lives in Redis (`{prefix}:pacing:next`, `{prefix}:pacing:chat:{id}`), and one Lua script
    reads and moves both, so two replicas never get the same time and all of them together stay
    under `per_second` (sends are at least 1/`per_second` apart, whoever makes them). Each key
    expires soon after its time has passed.

    Time: Redis's own clock by default, so replicas whose clocks disagree still space their sends
    right (a replica's clock ahead would otherwise hold the others back by as much); `clock`
    (its `now()`) replaces it in tests. Only the wait is slept locally, which no clock skews.
    A replica that reserves a time and dies leaves that time unused, never used twice."""

    KEEP_MS = 5_000

    def __init__(self, redis: Redis, prefix: str, per_second: float = 25.0,
                 per_chat: float = 1.0, clock: Clock | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.gap_us = math.ceil(1_000_000 / per_second)
        self.per_chat_us = math.ceil(per_chat * 1_000_000)
        self.prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self._script = redis.register_script(_WAIT)

    async def wait(self, chat_id: int) -> None:
        now = "" if self._clock is None else str(round(self._clock.now().timestamp() * 1e6))
        wait_us = int(await self._script(
            keys=[f"{self.prefix}:pacing:next", f"{self.prefix}:pacing:chat:{chat_id}"],
            args=[now, self.gap_us, self.per_chat_us, self.KEEP_MS]))
        if wait_us > 0:
            await self._sleep(wait_us / 1_000_000)


def pacer_for(kv: KeyValue, per_second: float = 25.0, per_chat: float = 1.0) -> Pacing:
    """One pacer for all replicas when the store is Redis, else this process's own."""
    if isinstance(kv, RedisKeyValue):
        return RedisPacer(kv.redis, kv.prefix, per_second, per_chat)
    return Pacer(per_second, per_chat)
