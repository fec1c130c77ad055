"""The flood limits' contract, on both backends (in memory beside the journal store, Redis),
with a fixed clock: bursts, refill, a flood earning nothing back, repeats, replicas."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.clock import FixedClock
from bot.storage.limits import Budget, Limits, MemoryLimits, RedisLimits, limits_for
from tests.storage.conftest import MakeKV

BUDGET = Budget(burst=3, per_second=1.0, repeat_seconds=2.0)


def make(make_kv: MakeKV, clock: FixedClock) -> Limits:
    return limits_for(make_kv(), clock)


async def allowed(limits: Limits, count: int, key: str = "u", budget: Budget = BUDGET) -> int:
    return sum([(await limits.take(key, budget, f"m{i}")).allowed for i in range(count)])


async def test_the_store_decides_where_limits_live(make_kv: MakeKV, backend: str) -> None:
    limits = make(make_kv, FixedClock())
    assert isinstance(limits, RedisLimits if backend == "redis" else MemoryLimits)


async def test_a_burst_then_one_a_second(make_kv: MakeKV) -> None:
    clock = FixedClock()
    limits = make(make_kv, clock)
    assert await allowed(limits, 3) == 3  # the burst
    refused = await limits.take("u", BUDGET, "x")
    assert refused == (False, False, True)  # the first refusal warns
    assert (await limits.take("u", BUDGET, "y")).warn is False  # once per flood
    clock.advance(1.0)
    assert (await limits.take("u", BUDGET, "z")).allowed  # a token back after a second
    assert (await limits.take("other", BUDGET, "x")).allowed  # per key
    clock.advance(60)
    assert await allowed(limits, 5) == 3  # a long pause refills to the burst, not beyond


async def test_a_flood_earns_nothing_back_until_it_pauses(make_kv: MakeKV) -> None:
    clock = FixedClock()
    limits = make(make_kv, clock)
    through = 0
    for i in range(100):  # ten seconds of ten messages a second
        through += (await limits.take("u", BUDGET, f"m{i}")).allowed
        clock.advance(0.1)
    assert through == 3
    clock.advance(1.0)
    take = await limits.take("u", BUDGET, "after")
    assert take.allowed and not take.warn
    clock.advance(0.5)
    assert (await limits.take("u", BUDGET, "again")).warn  # a new flood is told again


async def test_the_same_update_again_soon_is_a_repeat(make_kv: MakeKV) -> None:
    clock = FixedClock()
    limits = make(make_kv, clock)
    assert (await limits.take("u", BUDGET, "junk")).repeat is False
    clock.advance(1.5)
    assert (await limits.take("u", BUDGET, "junk")).repeat is True
    clock.advance(1.5)  # within two seconds of the last one: still a repeat
    assert (await limits.take("u", BUDGET, "junk")).repeat is True
    assert (await limits.take("u", BUDGET, "other")).repeat is False
    assert (await limits.take("u", BUDGET, "junk")).repeat is False  # not the one before
    clock.advance(2.5)
    assert (await limits.take("u", BUDGET, "junk")).repeat is False
    assert (await limits.take("u", BUDGET, "")).repeat is False  # no fingerprint
    assert (await limits.take("u", BUDGET, "")).repeat is False


async def test_refused_repeats_do_not_warn(make_kv: MakeKV) -> None:
    limits = make(make_kv, FixedClock())
    takes = [await limits.take("u", BUDGET, "junk") for _ in range(10)]
    assert sum(t.allowed for t in takes) == 3 and not any(t.warn for t in takes)


async def test_replicas_share_one_limit(redis_url: str) -> None:
    clock = FixedClock()
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    replicas = [RedisLimits(client, "ea", clock) for client in clients]
    try:
        budget = Budget(burst=10, per_second=1.0, repeat_seconds=2.0)
        takes = await asyncio.gather(*(replicas[i % 3].take("u", budget, f"m{i}")
                                       for i in range(60)))
        assert sum(t.allowed for t in takes) == 10
        assert sum(t.warn for t in takes) == 1
        ttl = await clients[0].pttl("ea:limits:u")
        assert 0 < ttl <= budget.idle_ms  # forgotten once it would be full again
    finally:
        for client in clients:
            await client.aclose()
