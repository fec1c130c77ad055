"""A private redis-server on a free port of 127.0.0.1 (no persistence), for the tests and the
bench: never a shared or system one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis as SyncRedis

START_TIMEOUT = 10.0
MISSING = "redis-server is not installed (apt-get install -y redis-server)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_installed() -> bool:
    return shutil.which("redis-server") is not None


@contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """Start redis-server (logging to workdir/redis.log); yield its URL; stop it. RuntimeError
    when it is not installed or does not answer within START_TIMEOUT."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError(MISSING)
    port = free_port()
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
                    log = (workdir / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server did not start on port {port}: "
                                       f"{log}") from None
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
