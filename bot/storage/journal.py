"""The embedded durable store: records in memory, an append-only journal on disk, compaction.

Why not TinyDB's file for per-user state: TinyDB rewrites the whole file on every write, so a write
costs time in proportion to all users (about 80 ms at 10k users, blocking the event loop), and its
in-place rewrite can be torn by a crash. Here a write appends one JSON line to the journal and
flushes it to the operating system: its cost does not depend on the number of users, and a killed
process loses nothing that was acknowledged (the OS still holds the bytes). An fsync runs at most
every `fsync_interval` seconds in a background thread, so a power cut loses at most that much.

When the journal grows past `compact_factor` times the number of records, the records are
written to a new snapshot (temporary file, fsync, atomic rename, fsync of the directory) and the
old journals are deleted. Compaction runs in a thread and starts a new journal first, so writes
never wait for it.
On start: the snapshot, then every journal in order; a torn last line (a write cut by a kill) is
skipped. Replaying a journal twice is harmless: puts and deletes are idempotent.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
LOCK_FILE = ".lock"


class StoreBusyError(OSError):
    """Another process has the store open."""
JOURNAL_GLOB = "journal.*.jsonl"


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalStore:
    """A crash-safe key-value store in one directory; see the module docstring."""

    def __init__(self, directory: Path, *, fsync_interval: float = 1.0,
                 compact_factor: int = 4, min_compact: int = 1000) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        # One process at a time: a second writer would interleave journals.
        self._lockfile = (directory / LOCK_FILE).open("a")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            raise StoreBusyError(f"{directory} is in use by another process "
                                 "(is the bot running?)") from None
        self._fsync_interval = fsync_interval
        self._compact_factor = compact_factor
        self._min_compact = min_compact
        self._data: dict[str, dict[str, str]] = {}  # values kept serialised: snapshots copy cheaply
        self._claims: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._compacting: threading.Thread | None = None
        self._lines = 0
        self._load()
        self._number = self._next_journal_number()
        self._journal: TextIO = self._open_journal(self._number)
        self._syncer = threading.Thread(target=self._sync_loop, name="journal-fsync", daemon=True)
        self._syncer.start()

    # --- loading -------------------------------------------------------------------------------

    def _journals(self) -> list[Path]:
        return sorted(self.directory.glob(JOURNAL_GLOB), key=lambda p: int(p.suffixes[0][1:]))

    def _next_journal_number(self) -> int:
        journals = self._journals()
        return int(journals[-1].suffixes[0][1:]) + 1 if journals else 1

    def _load(self) -> None:
        snapshot = self.directory / SNAPSHOT
        if snapshot.exists():
            self._data = json.loads(snapshot.read_text(encoding="utf-8"))
        for journal in self._journals():
            with journal.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        log.warning("skipping a torn line in %s", journal.name)
                        continue
                    self._apply(entry)
                    self._lines += 1
        for namespace, values in self._data.items():
            if namespace.startswith("claims:"):
                self._claims[namespace] = sorted(int(k) for k in values)

    def _apply(self, entry: dict[str, Any]) -> None:
        table = self._data.setdefault(entry["n"], {})
        if entry.get("d"):
            table.pop(entry["k"], None)
        else:
            table[entry["k"]] = entry["v"]

    def _open_journal(self, number: int) -> TextIO:
        return (self.directory / f"journal.{number}.jsonl").open("a", encoding="utf-8")

    # --- writing -------------------------------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the store is closed")
            self._journal.write(line + "\n")
            self._journal.flush()  # in the OS now: a killed process does not lose it
            self._apply(entry)
            self._lines += 1
            self._dirty.set()
            if self._lines > max(self._min_compact,
                                 self._compact_factor * self._size()) and not self._compacting:
                self._start_compaction()

    def _size(self) -> int:
        return sum(len(t) for t in self._data.values())

    def put_sync(self, namespace: str, key: str, value: Any) -> None:
        self._append({"n": namespace, "k": key, "v": json.dumps(value, ensure_ascii=False)})

    def delete_sync(self, namespace: str, key: str) -> None:
        if key in self._data.get(namespace, {}):
            self._append({"n": namespace, "k": key, "d": 1})

    def get_sync(self, namespace: str, key: str) -> Any | None:
        raw = self._data.get(namespace, {}).get(key)
        return None if raw is None else json.loads(raw)

    # --- KeyValue (async) ----------------------------------------------------------------------

    async def get(self, namespace: str, key: str) -> Any | None:
        return self.get_sync(namespace, key)

    async def put(self, namespace: str, key: str, value: Any) -> None:
        self.put_sync(namespace, key, value)

    async def delete(self, namespace: str, key: str) -> None:
        self.delete_sync(namespace, key)

    async def seen(self, namespace: str, key: str) -> bool:
        return key in self._data.get(f"claims:{namespace}", {})

    async def claim(self, namespace: str, key: str, keep: int) -> bool:
        table = f"claims:{namespace}"
        if key in self._data.get(table, {}):
            return False
        self._append({"n": table, "k": key, "v": "1"})
        claims = self._claims.setdefault(table, [])
        claims.append(int(key))
        if len(claims) > keep * 2:  # forget the oldest in batches
            claims.sort()
            for old in claims[: len(claims) - keep]:
                self._append({"n": table, "k": str(old), "d": 1})
            del claims[: len(claims) - keep]
        return True

    async def keys(self, namespace: str) -> AsyncIterator[str]:
        for key in list(self._data.get(namespace, {})):
            yield key

    async def purge(self) -> bool:
        """Deleted records still sit in the journal until compaction: compact now."""
        await asyncio.to_thread(self.compact_now)
        return True

    async def close(self) -> None:
        self.close_sync()

    # --- durability ----------------------------------------------------------------------------

    def _sync_loop(self) -> None:
        while not self._closed.is_set():
            self._dirty.wait(timeout=self._fsync_interval)
            if self._closed.wait(timeout=self._fsync_interval):
                break
            if self._dirty.is_set():
                self._dirty.clear()
                self.fsync()

    def fsync(self) -> None:
        with self._lock:
            if not self._journal.closed:
                os.fsync(self._journal.fileno())

    def _start_compaction(self) -> None:
        """Called under the lock: switch to a new journal, then write the snapshot in a thread."""
        old_journal, upto = self._journal, self._number
        os.fsync(old_journal.fileno())
        old_journal.close()
        self._number += 1
        self._journal = self._open_journal(self._number)
        self._lines = 0
        frozen = {name: dict(table) for name, table in self._data.items()}
        self._compacting = threading.Thread(target=self._compact, args=(frozen, upto),
                                            name="journal-compact", daemon=True)
        self._compacting.start()

    def _compact(self, frozen: dict[str, dict[str, str]], upto: int) -> None:
        target = self.directory / SNAPSHOT
        tmp = self.directory / f".{SNAPSHOT}.tmp"
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                json.dump(frozen, handle, ensure_ascii=False, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            _fsync_directory(self.directory)
            for journal in self._journals():
                if int(journal.suffixes[0][1:]) <= upto:
                    journal.unlink()
        except OSError:
            log.exception("compaction failed; the journals are kept")
        finally:
            with self._lock:
                self._compacting = None

    def compact_now(self) -> None:
        """Compact everything written so far and wait (tests, benchmarks)."""
        while True:
            with self._lock:
                running = self._compacting
                if running is None:
                    self._start_compaction()
                    mine = self._compacting
            if running is not None:
                running.join()  # an earlier compaction: wait, then start ours
                continue
            if mine is not None:
                mine.join()
            return

    def close_sync(self) -> None:
        thread = self._compacting
        if thread:
            thread.join()
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            self._dirty.set()
            self._journal.flush()
            os.fsync(self._journal.fileno())
            self._journal.close()
        self._syncer.join(timeout=5)
        self._lockfile.close()  # releases the lock
