"""What only Redis does: the key layout, claims shared by replicas, bounded claim memory."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.storage.redis import RedisKeyValue
from tests.storage.conftest import free_port


async def test_keys_and_values_are_readable_in_redis(redis_url: str) -> None:
    kv = RedisKeyValue.from_url(redis_url)
    raw = Redis.from_url(redis_url)
    try:
        await kv.put("users", "7", {"name": "Zoë", "cities": ["Montréal"]})
        stored = await raw.get("ea:users:7")
        assert stored is not None
        assert json.loads(stored) == {"name": "Zoë", "cities": ["Montréal"]}
        assert "Zoë".encode() in stored  # UTF-8, not \\u escapes
        other = RedisKeyValue(raw, prefix="staging")
        assert await other.get("users", "7") is None  # another prefix, another bot
    finally:
        await kv.close()
        await raw.aclose()


async def test_claims_are_shared_by_replicas_and_bounded(redis_url: str) -> None:
    replicas = [RedisKeyValue.from_url(redis_url) for _ in range(4)]
    raw = Redis.from_url(redis_url)
    try:
        # The same update delivered to every replica at once: exactly one handles it.
        for update_id in range(1000, 1050):
            won = await asyncio.gather(*(r.claim("updates", str(update_id), keep=20)
                                         for r in replicas for _ in range(3)))
            assert won.count(True) == 1, update_id
        assert await raw.zcard("ea:claims:updates") == 20
        assert await raw.zrange("ea:claims:updates", 0, 0) == [b"1030"]  # the oldest kept
    finally:
        for replica in replicas:
            await replica.close()
        await raw.aclose()


async def test_ping_reports_an_unreachable_redis() -> None:
    kv = RedisKeyValue.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(RedisConnectionError):
            await kv.ping()
    finally:
        await kv.close()
