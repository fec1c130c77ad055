"""A private redis-server for the storage tests: started once per session on a free port of
127.0.0.1, with no persistence, and stopped at the end.

Without redis-server on PATH the Redis tests are skipped locally, and fail under CI (CI=true),
where .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis

from bot.storage.journal import JournalStore
from bot.storage.keyvalue import KeyValue
from bot.storage.redis import RedisKeyValue

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server of our own (never a shared or system one)."""
    executable = shutil.which("redis-server")
    if executable is None:
        message = ("redis-server is not installed (apt-get install -y redis-server); "
                   "the Redis storage tests need it")
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"],
        stdout=(workdir / "redis.log").open("wb"), stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = SyncRedis.from_url(url)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if client.ping():
                    break
            except Exception:  # not listening yet
                if process.poll() is not None or time.monotonic() > deadline:
                    log = Path(workdir / "redis.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"redis-server did not start on port {port}: {log}",
                                pytrace=False)
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
