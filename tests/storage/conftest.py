"""A private redis-server for the storage tests: started once per session on a free port of
127.0.0.1, with no persistence, and stopped at the end.

Without redis-server on PATH the Redis tests are skipped locally, and fail under CI (CI=true),
where .ci/run installs it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis

from bot.storage.journal import JournalStore
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue
from tests.redis_server import MISSING, free_port, redis_installed, running_redis

__all__ = ["free_port"]  # the storage tests import it from here


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server of our own (never a shared or system one)."""
    if not redis_installed():
        message = f"{MISSING}; the Redis tests need it"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        with running_redis(tmp_path_factory.mktemp("redis")) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The server's URL, emptied after each test (sync: usable from async fixtures)."""
    yield redis_server
    with SyncRedis.from_url(redis_server) as client:
        client.flushdb()


@pytest.fixture(params=["journal", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


MakeKV = Callable[[], KeyValue]


@pytest.fixture
async def make_kv(backend: str, request: pytest.FixtureRequest,
                  tmp_path: Path) -> AsyncIterator[MakeKV]:
    """A factory of KeyValue stores on the same data: closing one and making another is a
    restart. Whatever is left open is closed at the end."""
    opened: list[KeyValue] = []
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""

    def make() -> KeyValue:
        kv: KeyValue = (RedisKeyValue.from_url(url) if backend == "redis"
                        else JournalStore(tmp_path / "state"))
        opened.append(kv)
        return kv

    yield make
    for kv in opened:
        await kv.close()  # closing twice is harmless on both backends
