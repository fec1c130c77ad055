"""Hot reload: make a new knowledge version live without a restart, whoever applied it.

An apply from Telegram publishes at once; an apply from the command line (another process) is
seen by polling meta.json's stamp. Listeners (the aid alerts) hear of each new version once.

With Redis (`shared`), the live version is Redis's, for every replica: an apply here is made
under Redis's knowledge lock on the live base and published there (compare-and-set on the live
pointer); each replica follows Redis's pointer every second and adopts a new version into its
own files; a replica that starts with an older knowledge/ than Redis's live version takes
Redis's and says so, and one whose knowledge/ is newer (a deploy) publishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from bot.kb.admin import PENDING, KnowledgeAdmin, version_key
from bot.kb.loader import KnowledgeError, build
from bot.kb.shared import SharedKnowledge
from bot.kb.snapshot import KnowledgeBase
from bot.kb.store import KnowledgeStore

log = logging.getLogger(__name__)
Listener = Callable[[KnowledgeBase, KnowledgeBase], Awaitable[None]]
POLL_SECONDS = 2.0
FOLLOW_SECONDS = 1.0  # with Redis: how often a replica looks at the live pointer


class Reloader:
    def __init__(self, store: KnowledgeStore, admin: KnowledgeAdmin,
                 interval: float | None = None, shared: SharedKnowledge | None = None) -> None:
        self.store = store
        self.admin = admin
        self.shared = shared
        self.interval = interval if interval is not None else (
            FOLLOW_SECONDS if shared is not None else POLL_SECONDS)
        self.listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self._following = asyncio.Lock()  # one adoption at a time, however many updates ask
        self._stamp = self._read_stamp()
        self._task: asyncio.Task[None] | None = None

    async def publish(self, kb: KnowledgeBase, raw: dict[str, Any]) -> bool:
        """Make `kb` current (no-op if it already is); tell the listeners. True if published.
        With Redis, only if Redis's live version is still the one `kb` was made from: else
        another replica moved the base on, and following Redis brings its version here."""
        async with self._lock:
            old = self.store.current
            if kb.version == old.version:
                return False
            if self.shared is not None and not await self.shared.publish(
                    kb.version, raw, old.version, self._entry(kb.version)):
                log.error("knowledge base %s not published: Redis's live version is no longer "
                          "%s (another replica applied a change); this replica follows Redis, "
                          "and %s stays in its backups", kb.version, old.version, old.version)
                return False
            self._make_current(old, kb, raw)
        await self._tell(old, kb)
        return True

    def _make_current(self, old: KnowledgeBase, kb: KnowledgeBase, raw: dict[str, Any]) -> None:
        # On the loop, not in a thread: TinyDB is not thread-safe and pinned dialogs read
        # it. This blocks for one write of the versions file, once per apply.
        self.store.publish(kb, raw)
        log.info("knowledge base %s is live (was %s)", kb.version, old.version)

    async def _tell(self, old: KnowledgeBase, kb: KnowledgeBase) -> None:
        for listener in self.listeners:
            try:
                await listener(old, kb)
            except Exception:
                log.exception("knowledge-base listener failed")

    def _entry(self, version: str) -> dict[str, Any] | None:
        """The audit entry of the apply that made `version` here, shared with the replicas."""
        latest = self.admin.history(1)
        return latest[0] if latest and latest[0].get("version") == version else None

    # --- Redis: one live version for every replica ---------------------------------------

    @contextlib.asynccontextmanager
    async def applying(self) -> AsyncIterator[None]:
        """Around an apply, rollback or re-check: with Redis, under its knowledge lock and on
        its live version (so a diff shown on a base another replica has since changed is a
        conflict, as on one process). Raises bot.kb.shared.LockTimeout."""
        if self.shared is None:
            yield
            return
        async with self.shared.lock():
            await self.follow()
            yield

    async def follow(self) -> bool:
        """Adopt Redis's live version if it is not this replica's; True if one was adopted."""
        if self.shared is None:
            return False
        live = await self.shared.live()
        if live is None or live == self.store.current.version:
            return False
        async with self._following:
            if live == self.store.current.version:  # adopted while this one waited
                return False
            return await self._adopt(live)

    async def _adopt(self, live: str) -> bool:
        assert self.shared is not None
        record = await self.shared.get(live)
        if record is None:
            log.warning("Redis names %s the live knowledge base but does not hold it", live)
            return False
        raw = record["raw"]
        kb, problems = build(raw)
        if kb is None:
            log.error("Redis's live knowledge base %s does not load here (%d problem(s), "
                      "first: %s): keeping %s", live, len(problems),
                      problems[0] if problems else "?", self.store.current.version)
            return False
        await asyncio.to_thread(self.admin.adopt, raw, record.get("audit"))
        self._stamp = self._read_stamp()  # our own write, not an edit to load
        await self._remember_all()
        async with self._lock:
            old = self.store.current
            if old.version == kb.version:
                return False
            self._make_current(old, kb, raw)
        await self._tell(old, kb)
        return True

    async def _remember_all(self) -> None:
        """Every version Redis holds, kept here too: a dialog pinned to one finds it."""
        assert self.shared is not None
        for version in await self.shared.versions():
            if not self.store.knows(version):
                record = await self.shared.get(version)
                if record is not None:
                    self.store.remember(record["raw"])

    async def join(self) -> None:
        """At start: take Redis's live version, or publish ours when Redis has none or ours
        is newer and unknown to it (a deploy of a new knowledge/); never silently older."""
        assert self.shared is not None
        local = self.store.current.version
        live = await self.shared.live()
        known = await self.shared.versions()
        if live == local:
            await self._remember_all()
            return
        if live is None or (local not in known and version_key(local) > version_key(live)):
            _, raw = await asyncio.to_thread(self.admin.load)
            if await self.shared.publish(local, raw, live, self._entry(local)):
                log.info("knowledge base %s (knowledge/) is now live for every replica%s",
                         local, f" (Redis had {live})" if live else "")
                await self._remember_all()
                return
        log.warning("knowledge/ holds %s but the live version in Redis is %s: using Redis's",
                    local, await self.shared.live())
        await self.follow()

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
                await self.follow()
            except RedisError as exc:  # Redis away for a while: catch up when it is back
                log.warning("knowledge: Redis unavailable (%s)", exc)
            except Exception:
                log.exception("knowledge reload failed")

    async def start(self) -> None:
        if self._task is None:
            if self.shared is not None:
                try:
                    await self.join()
                except RedisError as exc:
                    log.warning("knowledge: Redis unavailable at start (%s): following it "
                                "once it is back", exc)
            self._task = asyncio.create_task(self._run(), name="knowledge-reload")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
