"""Shared fixtures: settings on a temp data dir, the shipped knowledge base, a local app."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.clock import Clock, FixedClock
from bot.config import PROJECT_ROOT, Settings
from bot.console import LocalSession
from bot.kb.loader import load_directory
from bot.kb.snapshot import KnowledgeBase
from bot.render.templates import Renderer
from bot.storage.keyvalue import KeyValue
from bot.storage.limits import Limits, limits_for

KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
TODAY = dt.date(2026, 12, 2)
# `python -m bot` with its clock starting on TODAY (the subprocesses' "today" is fixed too).
BOT_COMMAND = (sys.executable, str(Path(__file__).with_name("run_bot.py")))
# Tests that cannot run under libfaketime (the README's date-moved run leaves them out): they
# start redis-server, SIGKILL children or drive the bot as a subprocess, and fix the clock there.
REALTIME_DIRS = ("e2e", "storage")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).parent.name in REALTIME_DIRS:
            item.add_marker(pytest.mark.realtime)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": data_dir, "knowledge_dir": KNOWLEDGE_DIR,
                                 "bot_token": None, "admin_ids": "", "default_locale": "fr"}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class PacedClock(FixedClock):
    """A person's pace: each reading is a few seconds after the one before (more than the
    limits' repeat window, so a test may send the same message twice)."""

    def now(self) -> dt.datetime:
        self.advance(3.0)
        return self.at

    def monotonic(self) -> float:
        self.advance(3.0)
        return self.ticks


@pytest.fixture(autouse=True)
def paced_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, a test sends its updates as fast as Python runs: a flood, to the flood
    limits. A person sends the next one after reading the reply, so the apps built here give
    their limits a PacedClock; the flood tests set a FixedClock (time standing still)."""

    def paced(kv: KeyValue | None, clock: Clock | None = None) -> Limits:
        return limits_for(kv, PacedClock())

    monkeypatch.setattr("bot.app.limits_for", paced)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_directory(KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = build_app(settings, session=LocalSession(), token="42:TEST",
                            clock=FixedClock.on(TODAY))
    yield application
    await application.close()
