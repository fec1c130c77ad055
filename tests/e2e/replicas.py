"""Several `python -m bot` replicas in webhook mode behind one fake Telegram.

The FakeBotAPI is the Bot API every replica calls (replies, edits, setWebhook). `Replicas` plays
Telegram's other half, the webhook delivery behind a load balancer: it takes the updates the
user side queued on the fake (``fake.send_message``, ``fake.press_button``..., exactly shaped
as Telegram's) and POSTs each to one replica's port, with the secret header, round-robin over
the live replicas or to the replica given by ``route``. An update is delivered once a replica
answered 2xx; a refused connection or another status is retried on the next replica, as
Telegram retries (and every miss is kept in ``missed``). So ``fake.wait_idle()`` and the
tests' `User` helpers work as they do against one polling bot.

Each replica has its own DATA_DIR and its own copy of knowledge/ (KNOWLEDGE_DIR); all share one
redis-server (REDIS_URL). Used by tests/e2e/test_replicas*.py and by `python -m bot.bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import PROJECT_ROOT
from tests.e2e.fake_api import FakeBotAPI
from tests.redis_server import free_port

PUBLIC_URL = "https://bot.example.test/webhook"  # what setWebhook receives; never resolved
SECRET = "replicas-test_Secret-42"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STARTUP_TIMEOUT = 60.0  # three cold starts at once on a busy 2-core machine
MAX_CONNECTIONS = 40  # Telegram's default: requests in flight to one bot's webhook at most
ATTEMPTS = 6  # deliveries of one update before giving up (Telegram tries for longer)
RETRY_PAUSE = 0.1
# tests.conftest.BOT_COMMAND (`python -m bot` with the clock fixed on the tests' day), not
# imported from there: bot/bench_replicas.py imports this module outside pytest.
BOT_COMMAND = (sys.executable, str(Path(__file__).parents[1] / "run_bot.py"))


class ReplicaError(RuntimeError):
    """A replica did not start, or an update could not be delivered to any replica."""


@dataclass
class Replica:
    """One `python -m bot` process and the files that are its own."""

    index: int
    root: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def knowledge_dir(self) -> Path:
        return self.root / "knowledge"

    @property
    def log(self) -> Path:
        return self.root / "bot.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


@dataclass
class Miss:
    """A delivery attempt a replica did not answer 2xx (status None: no connection)."""

    update_id: int
    replica: int
    status: int | None
    detail: str


class Replicas:
    """`count` replicas on one fake Bot API and one Redis; `await start()`, `await stop()`."""

    def __init__(self, fake: FakeBotAPI, redis_url: str, root: Path, count: int = 3,
                 env: dict[str, str] | None = None,
                 command: Sequence[str] | None = None) -> None:
        self.fake = fake
        self.redis_url = redis_url
        self.env = env or {}
        self.command = tuple(command or BOT_COMMAND)
        self.replicas = [Replica(i, root / f"replica-{i}") for i in range(count)]
        # The replica each update is first POSTed to, running or not (a load balancer that
        # has not noticed); None: the next live one in turn. Retries go to the next live one.
        self.route: int | None = None
        self.deliveries: list[tuple[int, int]] = []  # (update_id, replica) answered 2xx
        self.missed: list[Miss] = []
        self.answered_with_method: list[int] = []  # updates whose 2xx body held a method
        self._turn = 0
        self._http: aiohttp.ClientSession | None = None
        self._pump: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def __getitem__(self, index: int) -> Replica:
        return self.replicas[index]

    def __len__(self) -> int:
        return len(self.replicas)

    # ---- processes ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every replica (in parallel) and the delivery; return once all serve."""
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                                           timeout=aiohttp.ClientTimeout(total=90))
        self._pump = asyncio.create_task(self._deliver_forever())
        hooks = self._webhooks_set()
        await asyncio.gather(*(self._launch(r) for r in self.replicas))
        await asyncio.gather(*(self._wait_serving(r, hooks + len(self)) for r in self.replicas))

    async def start_replica(self, index: int) -> None:
        """Start one replica; return once its port is open and its setWebhook was seen."""
        replica = self.replicas[index]
        hooks = self._webhooks_set()
        await self._launch(replica)
        await self._wait_serving(replica, hooks + 1)

    async def _launch(self, replica: Replica) -> None:
        index = replica.index
        if replica.alive:
            raise ReplicaError(f"replica {index} is already running")
        replica.root.mkdir(parents=True, exist_ok=True)
        if not replica.knowledge_dir.exists():
            shutil.copytree(PROJECT_ROOT / "knowledge", replica.knowledge_dir,
                            ignore=shutil.ignore_patterns(".lock", ".pending"))
        env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_IDS", "DEFAULT_LOCALE")}
        env.update(BOT_TOKEN=self.fake.token, TELEGRAM_API_URL=self.fake.base_url,
                   DATA_DIR=str(replica.data_dir), KNOWLEDGE_DIR=str(replica.knowledge_dir),
                   REDIS_URL=self.redis_url, WEBHOOK_URL=PUBLIC_URL, WEBHOOK_SECRET=SECRET,
                   WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(replica.port),
                   LOG_LEVEL="WARNING")
        env.update(self.env)
        with replica.log.open("ab") as log:
            replica.process = await asyncio.create_subprocess_exec(
                *self.command, cwd=replica.root, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)

    async def kill(self, index: int) -> None:
        """SIGKILL one replica (no shutdown at all) and wait for it to be gone."""
        await self._signal(index, signal.SIGKILL)

    async def terminate(self, index: int) -> int:
        """SIGTERM one replica (a clean stop); its exit code."""
        return await self._signal(index, signal.SIGTERM)

    async def restart(self, index: int) -> None:
        """SIGKILL one replica if it runs, then start it again (same port, data, knowledge)."""
        await self.kill(index)
        await self.start_replica(index)

    async def stop(self) -> None:
        """Stop the delivery, then every replica (SIGTERM, SIGKILL after 15 s)."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        await asyncio.gather(*(self._signal(r.index, signal.SIGTERM) for r in self.replicas))
        if self._http is not None:
            await self._http.close()

    def reset(self) -> None:
        """Forget the deliveries and misses; the next update goes to replica 0; no route."""
        self.deliveries.clear()
        self.missed.clear()
        self.answered_with_method.clear()
        self.route = None
        self._turn = 0

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive]

    def logs(self) -> str:
        """Every replica's stderr (for a failing test's message)."""
        return "\n".join(f"--- replica {r.index}\n{r.log.read_text(errors='replace')[-3000:]}"
                         for r in self.replicas if r.log.exists())

    def _webhooks_set(self) -> int:
        return sum(1 for c in self.fake.calls("setWebhook") if c.response.get("ok"))

    async def _wait_serving(self, replica: Replica, hooks: int) -> None:
        """The webhook server listens before setWebhook is called (bot/__main__.py): wait for
        the port, and for `hooks` successful setWebhook calls in all."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        listening = False
        while not (listening and self._webhooks_set() >= hooks):
            process = replica.process
            if process is None or process.returncode is not None \
                    or time.monotonic() > deadline:
                raise ReplicaError(f"replica {replica.index} did not start: "
                                   f"{replica.log.read_text(errors='replace')[-2000:]}")
            if not listening:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", replica.port)
                    writer.close()
                    listening = True
            await asyncio.sleep(0.05)

    async def _signal(self, index: int, sig: int) -> int:
        process = self.replicas[index].process
        if process is None:
            return -1
        if process.returncode is None:
            process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        return process.returncode if process.returncode is not None else -1

    # ---- delivery -------------------------------------------------------------------------

    def _next(self, first: bool = True) -> Replica:
        """The replica for an attempt: `route` first if set, else (and for retries) the next
        live one in turn."""
        if first and self.route is not None:
            return self.replicas[self.route]
        live = self.live()
        if not live:
            raise ReplicaError("no replica is running")
        replica = live[self._turn % len(live)]
        self._turn += 1
        return replica

    async def deliver(self, update: dict[str, Any], replica: int | None = None) -> int:
        """POST one update as Telegram does; retried on the next replica until one answers
        2xx. Returns the replica that handled it."""
        assert self._http is not None, "start() first"
        target = self.replicas[replica] if replica is not None else self._next()
        for _ in range(ATTEMPTS):
            try:
                async with self._http.post(target.url, json=update,
                                           headers={SECRET_HEADER: SECRET}) as response:
                    body = await response.read()
                    if 200 <= response.status < 300:
                        if response.content_type.startswith("multipart/"):
                            self.answered_with_method.append(update["update_id"])
                        self.deliveries.append((update["update_id"], target.index))
                        self.fake.delivered(update["update_id"])
                        return target.index
                    miss = Miss(update["update_id"], target.index, response.status,
                                body[:200].decode(errors="replace"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                miss = Miss(update["update_id"], target.index, None, repr(exc))
            self.missed.append(miss)
            await asyncio.sleep(RETRY_PAUSE)
            target = self._next(first=False)
        raise ReplicaError(f"update {update['update_id']} not delivered: {self.missed[-3:]}")

    async def _deliver_forever(self) -> None:
        """Each update queued on the fake is POSTed as soon as it is queued (concurrently:
        Telegram keeps up to max_connections requests in flight)."""
        while True:
            await self.fake.wait_queued()
            for update in self.fake.take_updates():
                task = asyncio.create_task(self._deliver_logged(update))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _deliver_logged(self, update: dict[str, Any]) -> None:
        # Given up: in `missed`, and the update stays undelivered, so wait_idle reports it.
        with contextlib.suppress(ReplicaError):
            await self.deliver(update)

