"""Per-user rate limits: a token bucket per key, with a memory of the last update seen.

A bucket holds up to `burst` tokens and gains `per_second` tokens a second; each update takes
one. When it has none the update is refused, and the fraction of a token earned so far is
dropped: a flood earns nothing back until it pauses for 1 / `per_second` seconds, so however
long it lasts it gets `burst` updates through (and no more than a refill or so while those are
handled). An update whose fingerprint is that of the one before, within `repeat_seconds` of
it, is a repeat (the caller decides what a repeat deserves). `warn` is True for the first
refusal of a flood (refusals of repeats aside): the one time to say "slow down".

The state is not durable data: the embedded store keeps it in memory (one process), Redis
keeps it in Redis so every replica shares the same limit.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from redis.asyncio import Redis

from bot.clock import SYSTEM_CLOCK, Clock
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue


@dataclass(frozen=True)
class Budget:
    burst: int
    per_second: float
    repeat_seconds: float

    @property
    def idle_ms(self) -> int:
        """After this long untouched a bucket is full and no repeat can match: as if new."""
        return math.ceil((self.burst / self.per_second + self.repeat_seconds) * 1000)


class Take(NamedTuple):
    allowed: bool
    repeat: bool
    warn: bool


class Limits(Protocol):
    clock: Clock

    async def take(self, key: str, budget: Budget, fingerprint: str) -> Take:
        """Take a token from the bucket `key` for an update with this fingerprint."""
        ...


@dataclass
class _Bucket:
    tokens: float
    at: int  # milliseconds
    fingerprint: str = ""
    seen: int = 0
    warned: bool = False


def _take(bucket: _Bucket | None, now: int, budget: Budget, fingerprint: str
          ) -> tuple[_Bucket, Take]:
    """The algorithm, as the Lua script below does it (same arithmetic, same results)."""
    if bucket is None:
        bucket = _Bucket(float(budget.burst), now)
    repeat = (fingerprint != "" and fingerprint == bucket.fingerprint
              and now - bucket.seen <= budget.repeat_seconds * 1000)
    bucket.fingerprint, bucket.seen = fingerprint, now
    bucket.tokens = min(float(budget.burst),
                        bucket.tokens + max(0, now - bucket.at) * budget.per_second / 1000)
    bucket.at = now
    if bucket.tokens >= 1:
        bucket.tokens -= 1
        bucket.warned = False
        return bucket, Take(True, repeat, False)
    bucket.tokens = 0.0
    warn = not bucket.warned and not repeat
    bucket.warned = bucket.warned or warn
    return bucket, Take(False, repeat, warn)


class MemoryLimits:
    """One process: buckets in memory, the `max_keys` most recently used (older ones are full
    again by then, or nearly). Time: `clock.monotonic()`."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, max_keys: int = 20_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    async def take(self, key: str, budget: Budget, fingerprint: str) -> Take:
        now = round(self.clock.monotonic() * 1000)
        bucket, verdict = _take(self._buckets.pop(key, None), now, budget, fingerprint)
        self._buckets[key] = bucket  # most recent last
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return verdict


# KEYS[1]: the bucket (a hash). ARGV: now (ms), burst, per_second, repeat (ms), fingerprint,
# idle (ms). Returns {allowed, repeat, warn} as 0/1.
_TAKE = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 't', 'at', 'fp', 'seen', 'w')
local tokens = tonumber(s[1]) or burst
local at = tonumber(s[2]) or now
local repeat_ = 0
if ARGV[5] ~= '' and s[3] == ARGV[5] and now - (tonumber(s[4]) or 0) <= tonumber(ARGV[4]) then
  repeat_ = 1
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed, warn, warned = 0, 0, s[5] == '1'
if tokens >= 1 then
  tokens = tokens - 1
  allowed, warned = 1, false
else
  tokens = 0
  if not warned and repeat_ == 0 then warn, warned = 1, true end
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', now, 'fp', ARGV[5],
           'seen', now, 'w', warned and '1' or '0')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {allowed, repeat_, warn}
"""


class RedisLimits:
    """Buckets shared by every replica: one hash per key, `{prefix}:limits:{key}`, read and
    written by one Lua script. Redis runs a script alone, so two replicas taking from the same
    bucket at once never both get its last token; a bucket expires once idle long enough to be
    full again. (INCR + EXPIRE would give a fixed window, which is what let a flood through at
    each window's edge and cut a person's burst of taps; a bucket needs several fields updated
    together, hence the script.) Time: `clock.now()`, the wall clock, since monotonic clocks of
    different machines do not agree; a replica whose clock is behind only refills more slowly."""

    def __init__(self, redis: Redis, prefix: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.prefix = prefix
        self._script = redis.register_script(_TAKE)

    async def take(self, key: str, budget: Budget, fingerprint: str) -> Take:
        now = round(self.clock.now().timestamp() * 1000)
        allowed, repeat, warn = await self._script(
            keys=[f"{self.prefix}:limits:{key}"],
            args=[now, budget.burst, repr(budget.per_second), round(budget.repeat_seconds * 1000),
                  fingerprint, budget.idle_ms])
        return Take(bool(allowed), bool(repeat), bool(warn))


def limits_for(kv: KeyValue | None, clock: Clock = SYSTEM_CLOCK) -> Limits:
    """Redis limits when the bot's store is Redis (shared by replicas), else in memory."""
    if isinstance(kv, RedisKeyValue):
        return RedisLimits(kv.redis, kv.prefix, clock)
    return MemoryLimits(clock)
