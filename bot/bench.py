"""Benchmarks: `python -m bot.bench [--quick] [--json PATH]`. Prints a table, writes JSON.
`--e2e-replicas [--users N]`: only the end-to-end load on 1 and 3 webhook replicas
(bot/bench_replicas.py).

Measured in one run, beside a bare aiogram echo bot fed the same way, so figures hold on a noisy
machine. Not part of the test run (timings asserted in tests are flaky).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import itertools
import json
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.advice.engine import advise
from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import PROJECT_ROOT, Settings
from bot.console import LocalSession
from bot.dialog.profile import Profile
from bot.kb.loader import load_directory
from bot.kb.models import Aid, Text
from bot.kb.snapshot import KnowledgeBase
from bot.render.callbacks import optional_answer
from bot.storage.journal import JournalStore

TODAY = dt.date(2026, 11, 26)
# Then the optional questions (company age...) the dialog asks get "I don't know" (a tap each).
DIALOG_TEXTS = ["/start", "saas", "Singapour", "12 salariés", "2 M€", "Bretagne", "premiers pas",
                "non", "je ne sais pas"]
_ids = itertools.count(1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(samples, 0.5) * 1000, "p99_ms": pct(samples, 0.99) * 1000,
            "per_s": len(samples) / sum(samples) if sum(samples) else 0.0}


def message(user: User, text: str) -> Update:
    chat = Chat(id=user.id, type="private")
    return Update(update_id=next(_ids), message=Message(
        message_id=next(_ids), date=dt.datetime.now(dt.UTC), chat=chat, from_user=user,
        text=text))


def press(user: User, msg: Message, data: str) -> Update:
    return Update(update_id=next(_ids), callback_query=CallbackQuery(
        id=str(next(_ids)), from_user=user, chat_instance="bench", data=data, message=msg))


async def timed(dp: Dispatcher, bot: Bot, update: Update, samples: list[float]) -> None:
    start = time.perf_counter()
    await dp.feed_update(bot, update)
    samples.append(time.perf_counter() - start)


async def run_dialogs(app: App, users: int, first_id: int,
                      plan_presses: list[tuple[float, list[str]]] | None = None) -> list[float]:
    """Complete dialogs (typed answers, then the plan button) for `users` users; with
    `plan_presses`, each plan button's time and the Bot API methods it called."""
    samples: list[float] = []
    session: LocalSession = app.bot.session  # type: ignore[assignment]
    for n in range(users):
        user = User(id=first_id + n, is_bot=False, first_name="B", language_code="fr")
        for text in DIALOG_TEXTS:
            await timed(app.dispatcher, app.bot, message(user, text), samples)
        while (shown := session.keyboard_message) is not None and shown.reply_markup and (
                skip := optional_answer([b.callback_data or "" for row in
                                         shown.reply_markup.inline_keyboard for b in row])):
            await timed(app.dispatcher, app.bot, press(user, shown, skip), samples)
        recap = session.keyboard_message
        assert recap is not None and recap.reply_markup is not None
        plan = next(b.callback_data for row in recap.reply_markup.inline_keyboard for b in row
                    if b.callback_data and b.callback_data.startswith("n:") and ":plan" in
                    b.callback_data)
        mark = len(session.requests)
        await timed(app.dispatcher, app.bot, press(user, recap, plan), samples)
        if plan_presses is not None:
            plan_presses.append((samples[-1], [type(r).__name__ for r in
                                               session.requests[mark:]]))
        session.requests.clear()
        session.messages.clear()
    return samples


async def run_echo(updates: int) -> list[float]:
    """The baseline: a bare aiogram bot that echoes text, fed through the same session."""
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(msg: Message) -> None:
        await msg.answer(msg.text or "")

    bot = Bot("42:BENCH", session=LocalSession())
    user = User(id=1, is_bot=False, first_name="E")
    samples: list[float] = []
    for i in range(updates):
        await timed(dp, bot, message(user, f"hello {i}"), samples)
    await bot.session.close()
    return samples


def settings_for(data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir,  # type: ignore[call-arg]
                    knowledge_dir=PROJECT_ROOT / "knowledge", bot_token=None)


def populate(data_dir: Path, users: int) -> None:
    """Stored users with a dialog in progress each, as after real use."""
    store = JournalStore(data_dir / "state")
    for uid in range(10_000_000, 10_000_000 + users):
        store.put_sync("users", str(uid), {"id": uid, "locale": "fr", "active": True,
                                           "created": "2026-11-01T00:00:00+00:00"})
        store.put_sync("fsm", f"42:{uid}:{uid}:::default", {
            "state": "Questionnaire:active",
            "data": {"dialog": {"dialog_id": "abcd1234", "kb_version": "x", "step": "turnover",
                                "answers": {"sector": "saas", "target_region": "asia",
                                            "target_country": "sg", "target_city": "singapore",
                                            "headcount": "h10_49"},
                                "history": ["sector", "target_region", "headcount"],
                                "editing": False, "pending": None}}})
    store.compact_now()
    store.close_sync()


async def bench_dialogs(stored: list[int], dialogs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for count in stored:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp)
            populate(data_dir, count)
            app = build_app(settings_for(data_dir), session=LocalSession(), token="42:BENCH",
                            clock=FixedClock.on(TODAY))
            await run_dialogs(app, 3, 1)  # warm-up: templates compiled, caches filled
            gc.collect()
            samples = await run_dialogs(app, dialogs, 5_000_000)
            await app.close()
        results[str(count)] = summary(samples)
    return results


async def bench_plan(dialogs: int) -> dict[str, Any]:
    """Showing a plan: the plan button's update (p50/p99) and the Bot API calls it makes, beside
    the echo bot's calls per update; and the summary's render alone (the Plan built once)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(settings_for(Path(tmp)), session=LocalSession(), token="42:BENCH",
                        clock=FixedClock.on(TODAY))
        await run_dialogs(app, 3, 1)  # warm-up
        gc.collect()
        presses: list[tuple[float, list[str]]] = []
        await run_dialogs(app, dialogs, 6_000_000, presses)
        await app.close()
    calls = [methods for _, methods in presses]
    echo_bot = Bot("42:BENCH", session=LocalSession())
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(msg: Message) -> None:
        await msg.answer(msg.text or "")

    await dp.feed_update(echo_bot, message(User(id=1, is_bot=False, first_name="E"), "hello"))
    echo_calls = [type(r).__name__ for r in echo_bot.session.requests]  # type: ignore[attr-defined]
    await echo_bot.session.close()
    return {"plan_update": summary([t for t, _ in presses]),
            "api_calls_per_plan": statistics.mean(len(c) for c in calls),
            "messages_per_plan": statistics.mean(c.count("SendMessage") for c in calls),
            "api_methods_per_plan": sorted(set(m for c in calls for m in c)),
            "echo_api_calls_per_update": len(echo_calls),
            "summary_render": bench_summary(load_directory(PROJECT_ROOT / "knowledge"),
                                            dialogs * 10)}


def bench_summary(kb: KnowledgeBase, runs: int) -> dict[str, Any]:
    """PlanText.summary alone, over a few contrasting profiles, each Plan built once."""
    from bot.dialog.engine import DONE, Dialog, DialogState
    from bot.handlers.views import Views
    from bot.render.templates import Renderer

    renderer = Renderer()
    dialog = Dialog(kb, renderer.labels)
    views = Views(bot=None, renderer=renderer, clock=FixedClock.on(TODAY))  # type: ignore[arg-type]
    profiles = [
        {"sector": "saas", "target_region": "asia", "target_country": "sg",
         "target_city": "singapore", "headcount": "h10_49", "turnover": "t1_10m",
         "home_region": "bretagne", "stage": "first_steps", "vie": "yes", "vie_count": "2",
         "budget": "b20_50k"},
        {"sector": "games", "target_region": "north_america", "target_country": "us",
         "target_city": "boston", "headcount": "h0_9", "turnover": "t0_1m",
         "home_region": "normandie", "stage": "exporting", "vie": "none", "budget": "b0_20k"},
        {"sector": "unknown", "target_region": "asia", "target_country": "unknown",
         "headcount": "unknown", "turnover": "unknown", "home_region": "unknown",
         "stage": "unknown", "vie": "maybe", "budget": "unknown"},
    ]
    built = []
    for answers in profiles:
        state = DialogState("bench", kb.version, step=DONE, answers=answers)
        built.append((state, views.plan_of(dialog, state)))
    samples: list[float] = []
    for i in range(runs):
        state, plan = built[i % len(built)]
        start = time.perf_counter()
        views.summary("fr" if i % 2 else "en", dialog, state, plan)
        samples.append(time.perf_counter() - start)
    return summary(samples)


def synthetic(kb: KnowledgeBase, factor: int, distinct: bool = False) -> KnowledgeBase:
    """The shipped base with every landing and aid record copied `factor` times (new ids).
    Copies share their scheme's rules (judged once); with `distinct`, every copy's criteria
    carry another note, so every scheme is judged on its own (the worst case)."""
    landing = {f"{k}-{i}"[:40]: r.model_copy(update={"id": f"{k}-{i}"[:40]})
               for i in range(factor) for k, r in kb.landing.items()}

    def copy(aid: Aid, i: int) -> Aid:
        update: dict[str, Any] = {"id": f"{aid.id}-{i}"[:40]}
        if distinct:
            update["criteria"] = [c.model_copy(update={"note": Text(
                fr=f"({i})", en=f"({i})")}) for c in aid.criteria]
        return aid.model_copy(update=update)

    aid = {f"{k}-{i}"[:40]: copy(a, i) for i in range(factor) for k, a in kb.aid.items()}
    return replace(kb, landing=landing, aid=aid)


BENCH_PROFILE = {
    "sector": "saas", "target_region": "north_america", "target_country": "us",
    "target_city": "san-francisco", "headcount": "h10_49", "turnover": "t1_10m",
    "home_region": "bretagne", "stage": "first_steps", "vie": "yes", "vie_count": "2",
    "budget": "b50_150k"}


def bench_advice(kb: KnowledgeBase, runs: int) -> dict[str, Any]:
    profile = Profile.from_answers(BENCH_PROFILE)
    results: dict[str, Any] = {}
    for factor, distinct in ((1, False), (10, False), (100, False), (100, True)):
        base = kb if factor == 1 else synthetic(kb, factor, distinct)
        gc.collect()
        gc.freeze()  # long-lived knowledge objects out of the collector's way, as in the bot
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            advise(profile, base, TODAY)
            samples.append(time.perf_counter() - start)
        results[f"x{factor}" + ("_distinct" if distinct else "")] = {
            **summary(samples), "landing": len(base.landing), "aid": len(base.aid)}
    return results


def bench_pdf(kb: KnowledgeBase, runs: int) -> dict[str, Any]:
    """The plan as a PDF for a typical profile (the advice bench's: San Francisco, 2 VIE):
    the first rendering in a process (fonts cut, templates compiled), then render time
    p50/p99 and the document's size."""
    from bot.dialog.engine import Dialog, DialogState
    from bot.handlers.views import Views
    from bot.plan.build import build_plan
    from bot.render.pdf import render_pdf
    from bot.render.plan_text import PlanText
    from bot.render.templates import Renderer

    renderer = Renderer()
    dialog = Dialog(kb, renderer.labels)
    views = Views(bot=None, renderer=renderer, clock=FixedClock.on(TODAY))  # type: ignore[arg-type]
    state = DialogState("bench", kb.version, step="done", answers=dict(BENCH_PROFILE))
    plan = build_plan(advise(dialog.profile(state), kb, TODAY), kb, TODAY)
    names = views.plan_names(dialog, "fr", state.answers)
    text = PlanText(renderer)
    start = time.perf_counter()
    data = render_pdf(plan, kb, "fr", names, text)
    first = time.perf_counter() - start
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        data = render_pdf(plan, kb, "fr", names, text)
        samples.append(time.perf_counter() - start)
    return {**summary(samples), "first_ms": first * 1000, "size_kb": len(data) / 1024}


def bench_writes(stored: list[int], writes: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for count in stored:
        with tempfile.TemporaryDirectory() as tmp:
            populate(Path(tmp), count)
            store = JournalStore(Path(tmp) / "state")
            samples = []
            for i in range(writes):
                key = str(10_000_000 + (i * 7919) % max(count, 1))
                start = time.perf_counter()
                store.put_sync("users", key, {"id": key, "locale": "en", "n": i})
                samples.append(time.perf_counter() - start)
            store.close_sync()
        results[str(count)] = summary(samples)
    return results


def rss_mb() -> float:
    """Current resident size (Linux /proc); the peak from getrusage where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_memory(users: int) -> dict[str, float]:
    """Resident size added by loading `users` stored users (with a dialog each)."""
    with tempfile.TemporaryDirectory() as tmp:
        populate(Path(tmp), users)
        gc.collect()
        before = rss_mb()
        store = JournalStore(Path(tmp) / "state")
        gc.collect()
        after = rss_mb()
        store.close_sync()
    return {"users": users, "rss_before_mb": before, "rss_after_mb": after,
            "mb_per_10k_users": (after - before) * 10_000 / users}


async def bench_cold_start(runs: int) -> dict[str, Any]:
    """From `python -m bot` to its first getUpdates, against the tests' fake Bot API server
    (a checkout's tests/ folder; skipped when it is not there)."""
    try:
        from tests.e2e.fake_api import DEFAULT_TOKEN, FakeBotAPI
    except ImportError:
        return {"skipped": "tests/e2e/fake_api.py not found"}
    import os
    import sys

    samples = []
    for _ in range(runs):
        fake = FakeBotAPI()
        await fake.start()
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_API_URL": fake.base_url,
                   "DATA_DIR": tmp, "LOG_LEVEL": "WARNING"}
            start = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=PROJECT_ROOT,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            # A long poll is recorded by the fake only when it ends: watch for it being parked.
            while (not getattr(fake, "_pollers", None) and not fake.calls("getUpdates")
                   and time.perf_counter() - start < 60):
                await asyncio.sleep(0.01)
            samples.append(time.perf_counter() - start)
            process.terminate()
            await process.wait()
        await fake.stop()
    baseline = []
    for _ in range(runs):  # importing aiogram alone, the floor of any aiogram bot's start
        start = time.perf_counter()
        done = await asyncio.create_subprocess_exec(sys.executable, "-c", "import aiogram.types")
        await done.wait()
        baseline.append(time.perf_counter() - start)
    return {"runs": runs, "median_s": statistics.median(samples), "max_s": max(samples),
            "import_aiogram_median_s": statistics.median(baseline)}


# The end-to-end baseline: a bare aiogram bot that answers every message and button with one
# message carrying a button. ECHO_HANDLERS is that bot; ECHO_BOT polls it the same way as
# `python -m bot` (bot/bench_replicas.py serves the same handlers as a webhook).
ECHO_HANDLERS = """
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
    text="plan", callback_data="n:echo:plan")]])
dp = Dispatcher()

@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?", reply_markup=KEYBOARD)

@dp.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer()
    await query.message.answer("plan", reply_markup=KEYBOARD)

session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
"""
ECHO_BOT = ECHO_HANDLERS + """
asyncio.run(dp.start_polling(Bot(os.environ["BOT_TOKEN"], session=session)))
"""


class Load:
    """What `drive_users` measured: action-to-reply latencies, completed plans, failures."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.completed = 0
        self.failures: list[str] = []
        self.elapsed = 0.0

    def figures(self) -> dict[str, Any]:
        lat = self.latencies or [0.0]
        return {"completed": self.completed, "failures": len(self.failures),
                "p50_ms": pct(lat, 0.5) * 1000, "p95_ms": pct(lat, 0.95) * 1000,
                "p99_ms": pct(lat, 0.99) * 1000,
                "updates_per_s": len(self.latencies) / self.elapsed if self.elapsed else 0.0}


async def drive_users(fake: Any, users: int, think: tuple[float, float] = (0.0, 0.0),
                      spread: float = 0.0) -> Load:
    """`users` simulated users (ids from 900,000), each running a whole dialog through `fake`
    (the tests' FakeBotAPI, whoever serves it: a polling bot, replicas behind a webhook)."""
    import random

    from tests.e2e.fake_api import Call, FakeBotAPI

    rng = random.Random(7)
    load = Load()
    replies: dict[int, asyncio.Event] = {}

    def on_call(call: Call) -> None:
        """Wake the user a message was sent to (no polling: the harness stays light)."""
        if call.method in ("sendMessage", "editMessageReplyMarkup") and call.response.get("ok"):
            event = replies.get(int(call.params.get("chat_id", "0") or 0))
            if event is not None:
                event.set()

    def answered(user_id: int, before: int) -> bool:
        """Every step ends with a message carrying buttons (a question, the recap, the
        plan's last part): the reply is complete when such a message has arrived."""
        messages = fake.messages(user_id)
        return len(messages) > before and bool(FakeBotAPI.buttons(messages[-1]))

    async def reply_to(user_id: int, before: int, start: float, timeout: float = 120) -> bool:
        event = replies[user_id]
        while not answered(user_id, before):
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), timeout - (time.perf_counter() - start))
            except TimeoutError:
                return False
        load.latencies.append(time.perf_counter() - start)
        return True

    async def act(user_id: int) -> tuple[int, float]:
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))
        return len(fake.messages(user_id)), time.perf_counter()

    async def one_user(user_id: int) -> None:
        replies[user_id] = asyncio.Event()
        await asyncio.sleep(rng.uniform(0, spread))
        for index, text in enumerate(DIALOG_TEXTS):
            before, start = (len(fake.messages(user_id)), time.perf_counter()) \
                if index == 0 else await act(user_id)
            fake.send_message(user_id, text)
            if not await reply_to(user_id, before, start):
                load.failures.append(f"{user_id}: no reply to {text!r}")
                return
        recap = fake.messages(user_id)[-1]
        while skip := optional_answer([d or "" for _, d in FakeBotAPI.buttons(recap)]):
            before, start = await act(user_id)
            fake.press_button(user_id, recap.message_id, skip)
            if not await reply_to(user_id, before, start):
                load.failures.append(f"{user_id}: no reply to an optional question")
                return
            recap = fake.messages(user_id)[-1]
        plan = next((d for _, d in FakeBotAPI.buttons(recap) if d and ":plan" in d), None)
        if plan is None:
            load.failures.append(f"{user_id}: no plan button")
            return
        before, start = await act(user_id)
        fake.press_button(user_id, recap.message_id, plan)
        if await reply_to(user_id, before, start):
            load.completed += 1

    fake.listeners.append(on_call)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(one_user(900_000 + n) for n in range(users)))
        load.elapsed = time.perf_counter() - started
    finally:
        fake.listeners.remove(on_call)
    return load


async def bench_e2e(users: int, think: tuple[float, float] = (0.0, 0.0),
                    spread: float = 0.0, echo: bool = False) -> dict[str, Any]:
    """`users` simulated users, each running a whole dialog against `python -m bot` over HTTP
    (the tests' fake Bot API server): time from a user's action to the bot's reply.

    With the defaults every user starts at once and answers the moment the reply arrives (a
    closed loop: the bot's capacity). `think` (seconds, min and max) is a person reading and
    tapping between replies; `spread` spreads the first /start over that many seconds. With
    `echo`, the bot is the bare aiogram echo bot instead (the baseline under the same load)."""
    try:
        from tests.e2e.fake_api import DEFAULT_TOKEN, FakeBotAPI
    except ImportError:
        return {"skipped": "tests/e2e/fake_api.py not found"}
    import os
    import sys

    fake = FakeBotAPI()
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_API_URL": fake.base_url,
               "DATA_DIR": tmp, "LOG_LEVEL": "ERROR"}
        command = ["-c", ECHO_BOT] if echo else ["-m", "bot"]
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, env=env, cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        while not getattr(fake, "_pollers", None) and not fake.calls("getUpdates"):
            await asyncio.sleep(0.01)
        load = await drive_users(fake, users, think, spread)
        process.terminate()
        await process.wait()
    await fake.stop()
    return {"bot": "echo" if echo else "export-advisor", "users": users,
            "think_s": list(think), "spread_s": spread, **load.figures(),
            "rejected_requests": len(fake.errors)}


async def main_async(quick: bool) -> dict[str, Any]:
    stored = [0, 1_000, 10_000] if quick else [0, 1_000, 10_000, 100_000]
    dialogs = 20 if quick else 100
    kb = load_directory(PROJECT_ROOT / "knowledge")
    dialog = await bench_dialogs(stored, dialogs)
    echo = summary(await run_echo(dialogs * (len(DIALOG_TEXTS) + 1)))
    first = dialog[str(stored[1])]
    return {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "quick": quick,
        "dialog_updates_by_stored_users": dialog,
        "echo_baseline": echo,
        "ratio_p99_vs_echo": first["p99_ms"] / echo["p99_ms"] if echo["p99_ms"] else None,
        "growth_p99_1k_to_max": dialog[str(stored[-1])]["p99_ms"] / first["p99_ms"],
        "plan": await bench_plan(dialogs),
        "advice": bench_advice(kb, 50 if quick else 200),
        "pdf": bench_pdf(kb, 20 if quick else 100),
        "writes_by_stored_users": bench_writes(stored, 2_000 if quick else 10_000),
        "memory": bench_memory(10_000 if quick else 100_000),
        "cold_start": await bench_cold_start(2 if quick else 5),
        "end_to_end": await bench_e2e_variants(50 if quick else 500),
    }


HUMAN_THINK = (2.0, 6.0)  # seconds a person takes to read a reply and tap or type the next


async def bench_e2e_variants(users: int) -> dict[str, Any]:
    """The bot and the bare echo bot, each under the same two loads: everyone at once with no
    pause (capacity), and everyone at once with a person's pause between replies."""
    out: dict[str, Any] = {}
    for echo in (False, True):
        for think in ((0.0, 0.0), HUMAN_THINK):
            key = f"{'echo' if echo else 'bot'}_{'paced' if think[1] else 'closed'}"
            out[key] = await bench_e2e(users, think=think, echo=echo)
    return out


def _row(what: str, s: dict[str, float]) -> str:
    return f"{what:<38} {s['p50_ms']:7.3f}  {s['p99_ms']:7.3f}  {s['per_s']:7.0f}"


def table(results: dict[str, Any]) -> str:
    lines = ["what                                   p50 ms   p99 ms   per s"]
    for count, s in results["dialog_updates_by_stored_users"].items():
        lines.append(_row(f"dialog update, {count:>7} stored users", s))
    lines.append(_row("bare aiogram echo update", results["echo_baseline"]))
    plan = results["plan"]
    lines.append(_row("plan button update (one plan shown)", plan["plan_update"]))
    lines.append(_row("plan summary render (Plan built)", plan["summary_render"]))
    lines.append(f"Bot API calls to show a plan: {plan['api_calls_per_plan']:g} "
                 f"({', '.join(plan['api_methods_per_plan'])}; "
                 f"{plan['messages_per_plan']:g} message); "
                 f"echo bot: {plan['echo_api_calls_per_update']} per update")
    for name, s in results["advice"].items():
        lines.append(_row(f"advice, base {name:<13} ({s['aid']:>5} aid)", s))
    p = results["pdf"]
    lines.append(_row("PDF of a typical plan", p))
    lines.append(f"PDF: {p['size_kb']:.0f} KB; first in a process {p['first_ms']:.0f} ms")
    for count, s in results["writes_by_stored_users"].items():
        lines.append(_row(f"durable write, {count:>7} stored users", s))
    m = results["memory"]
    lines.append(f"memory: {m['mb_per_10k_users']:.1f} MB per 10k stored users "
                 f"(measured on {m['users']})")
    c = results["cold_start"]
    if "median_s" in c:
        lines.append(f"cold start to the first getUpdates: median {c['median_s']:.2f} s, "
                     f"max {c['max_s']:.2f} s ({c['runs']} runs); importing aiogram alone: "
                     f"{c['import_aiogram_median_s']:.2f} s")
    for e2e in results["end_to_end"].values():
        if "p95_ms" not in e2e:
            continue
        pause = ("no pause" if not e2e["think_s"][1]
                 else f"{e2e['think_s'][0]:g}-{e2e['think_s'][1]:g} s pauses")
        lines.append(f"end to end, {e2e['bot']}, {e2e['users']} users at once, {pause}: "
                     f"{e2e['completed']} plans, {e2e['failures']} failures, "
                     f"{e2e['rejected_requests']} rejected requests; action to reply p50 "
                     f"{e2e['p50_ms']:.0f} ms, p95 {e2e['p95_ms']:.0f} ms; "
                     f"{e2e['updates_per_s']:.0f} updates/s")
    lines.append(f"ratio dialog p99 / echo p99: {results['ratio_p99_vs_echo']:.2f}; "
                 f"growth of dialog p99 from 1k to the largest base: "
                 f"{results['growth_p99_1k_to_max']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--json", default="bench-results/latest.json", help="where to write")
    parser.add_argument("--e2e-replicas", action="store_true",
                        help="only the end-to-end load against 1 and 3 replicas in webhook mode "
                             "on a private redis-server, beside the echo bot (bot.bench_replicas)")
    parser.add_argument("--users", type=int, default=500,
                        help="simulated users at once for --e2e-replicas (default 500)")
    args = parser.parse_args(argv)
    if args.e2e_replicas:
        from bot.bench_replicas import bench_e2e_replicas, replicas_table

        results = {"end_to_end_replicas": asyncio.run(bench_e2e_replicas(args.users))}
        print(replicas_table(results["end_to_end_replicas"]))
    else:
        results = asyncio.run(main_async(args.quick))
        print(table(results))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
