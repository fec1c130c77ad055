"""Hot reload: make a new knowledge version live without a restart, whoever applied it.

An apply from Telegram publishes at once; an apply from the command line (another process) is
seen by polling meta.json's stamp. Listeners (the aid alerts) hear of each new version once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from bot.kb.admin import PENDING, KnowledgeAdmin
from bot.kb.loader import KnowledgeError
from bot.kb.snapshot import KnowledgeBase
from bot.kb.store import KnowledgeStore

log = logging.getLogger(__name__)
Listener = Callable[[KnowledgeBase, KnowledgeBase], Awaitable[None]]
POLL_SECONDS = 2.0


class Reloader:
    def __init__(self, store: KnowledgeStore, admin: KnowledgeAdmin,
                 interval: float = POLL_SECONDS) -> None:
        self.store = store
        self.admin = admin
        self.interval = interval
        self.listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self._stamp = self._read_stamp()
        self._task: asyncio.Task[None] | None = None

    async def publish(self, kb: KnowledgeBase, raw: dict[str, Any]) -> bool:
        """Make `kb` current (no-op if it already is); tell the listeners. True if published."""
        async with self._lock:
            old = self.store.current
            if kb.version == old.version:
                return False
            # On the loop, not in a thread: TinyDB is not thread-safe and pinned dialogs read
            # it. This blocks for one write of the versions file, once per apply.
            self.store.publish(kb, raw)
            log.info("knowledge base %s is live (was %s)", kb.version, old.version)
        for listener in self.listeners:
            try:
                await listener(old, kb)
            except Exception:
                log.exception("knowledge-base listener failed")
        return True

    def _read_stamp(self) -> tuple[int, int, bool]:
        try:
            st = os.stat(self.admin.knowledge_dir / "meta.json")
            stamp = (st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            stamp = (0, 0)
        return (*stamp, (self.admin.knowledge_dir / PENDING).exists())

    async def poll(self) -> bool:
        """Load the directory if it changed since the last look; True if a version went live."""
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp  # a change made while loading shows at the next look
        try:
            kb, raw = await asyncio.to_thread(self.admin.load)
        except (KnowledgeError, OSError) as exc:  # a hand edit in progress: keep what is live
            log.warning("knowledge directory changed but does not load: %s", exc)
            return False
        return await self.publish(kb, raw)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except Exception:
                log.exception("knowledge reload failed")

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="knowledge-reload")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
