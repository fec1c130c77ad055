"""Bench: the end-to-end load (bot.bench.drive_users) against 1 and 3 `python -m bot` replicas
in webhook mode on one redis-server, behind the tests' webhook dispatcher
(tests/e2e/replicas.py), beside the bare aiogram echo bot in webhook mode under the same load.

`python -m bot.bench --e2e-replicas [--users N]`. Needs a checkout's tests/ folder and
redis-server on PATH (skipped otherwise). Everything runs on this machine: the replicas, Redis,
the fake Bot API and the simulated users share its cores.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bot.bench import ECHO_HANDLERS, HUMAN_THINK, drive_users

# The echo baseline as a webhook: bot.bench's echo handlers, served like bot/webhook.py
# (handled before the response), setWebhook after the server listens.
ECHO_WEBHOOK_BOT = ECHO_HANDLERS + """
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

async def main() -> None:
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False,
                         secret_token=os.environ["WEBHOOK_SECRET"]).register(app, path="/webhook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["WEBHOOK_PORT"])).start()
    await bot.set_webhook(os.environ["WEBHOOK_URL"], secret_token=os.environ["WEBHOOK_SECRET"])
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def bench_replicas(users: int, count: int, redis_url: str, echo: bool = False,
                         think: tuple[float, float] = (0.0, 0.0)) -> dict[str, Any]:
    """`users` simulated users at once against `count` replicas (round-robin delivery)."""
    from tests.e2e.fake_api import FakeBotAPI
    from tests.e2e.replicas import Replicas

    command = (sys.executable, "-c", ECHO_WEBHOOK_BOT) if echo else (sys.executable, "-m", "bot")
    async with FakeBotAPI() as fake:
        with tempfile.TemporaryDirectory() as tmp:
            group = Replicas(fake, redis_url, Path(tmp), count=count,
                             env={"LOG_LEVEL": "ERROR"}, command=command)
            try:
                await group.start()
                load = await drive_users(fake, users, think)
            finally:
                await group.stop()
        per_replica = [sum(1 for _, r in group.deliveries if r == i) for i in range(count)]
        rejected = Counter(f"{e.method}: {e.description}" for e in fake.errors)
        return {"bot": "echo" if echo else "export-advisor", "replicas": count, "users": users,
                "think_s": list(think), **load.figures(),
                "rejected_requests": len(fake.errors),
                "rejected_why": dict(rejected.most_common(5)),
                "failures_first": load.failures[:5], "missed_deliveries": len(group.missed),
                "updates_per_replica": per_replica}


async def bench_e2e_replicas(users: int, counts: tuple[int, ...] = (1, 3)) -> dict[str, Any]:
    """The bot and the echo bot, on 1 and on 3 replicas, everyone at once with no pause (the
    capacity) and with a person's pauses; {"skipped": why} without tests/ or redis-server."""
    try:
        from tests.redis_server import redis_installed, running_redis
    except ImportError:
        return {"skipped": "tests/ not found (tests/e2e/replicas.py, tests/redis_server.py)"}
    if not redis_installed():
        return {"skipped": "redis-server is not installed"}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for echo in (False, True):
            for count in counts:
                for think in ((0.0, 0.0), HUMAN_THINK):
                    # A fresh Redis each run: no run inherits another's users and claims.
                    with running_redis(Path(tmp)) as url:
                        key = (f"{'echo' if echo else 'bot'}_x{count}_"
                               f"{'paced' if think[1] else 'closed'}")
                        out[key] = await bench_replicas(users, count, url, echo, think)
    return out


def replicas_table(results: dict[str, Any]) -> str:
    if "skipped" in results:
        return f"end to end on replicas: skipped ({results['skipped']})"
    lines = []
    for r in results.values():
        pause = ("no pause" if not r["think_s"][1]
                 else f"{r['think_s'][0]:g}-{r['think_s'][1]:g} s pauses")
        lines.append(f"webhook, {r['bot']}, {r['replicas']} replica(s), {r['users']} users at "
                     f"once, {pause}: {r['completed']} plans, {r['failures']} failures, "
                     f"{r['rejected_requests']} rejected, {r['missed_deliveries']} missed "
                     f"deliveries; p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, "
                     f"p99 {r['p99_ms']:.0f} ms; {r['updates_per_s']:.0f} updates/s "
                     f"(per replica: {r['updates_per_replica']})")
    return "\n".join(lines)
