"""The embedded durable store: records in memory, an append-only journal on disk, compaction.

Why not TinyDB's file for per-user state: TinyDB rewrites the whole file on every write, so a write
costs time in proportion to all users (about 80 ms at 10k users, blocking the event loop), and its
in-place rewrite can be torn by a crash. Here a write appends one JSON line to the journal with one
`write` call: its cost does not depend on the number of users, and a killed process loses nothing
that was acknowledged (the OS holds the bytes). An fsync runs at most every `fsync_interval`
seconds in a background thread, so a power cut loses at most that much.

When the journal grows past `compact_factor` times the number of records, the store switches to a
new journal (opened before the old one is retired: if it cannot be created, writes go on in the
old one and the switch is retried later) and writes the records to a new snapshot in a thread
(temporary file, fsync, atomic rename, fsync of the directory), then deletes the journals the
snapshot covers. A failed compaction keeps every journal and is retried.

On start: the snapshot, then every journal in order. A torn last line (a write cut by a kill or a
full disk, even inside a multi-byte character) is skipped. Anything else that cannot be trusted (a
damaged snapshot or journal line, a missing snapshot or journal) stops the start with
`StoreDamagedError`, one line naming the file and what to do: never a silent loss of records.
Replaying a journal twice is harmless: puts and deletes are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
SNAPSHOT_FORMAT = 2  # {"format": 2, "journal": N, "data": {...}}; format 1 was the bare data
LOCK_FILE = ".lock"
JOURNAL_GLOB = "journal.*.jsonl"
RETRY_SECONDS = 5.0  # a failed rotation or compaction is tried again after this long

Tables = dict[str, dict[str, str]]


class StoreBusyError(OSError):
    """Another process has the store open."""


class StoreDamagedError(Exception):
    """A state file cannot be trusted; the message names it and says what to do."""


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


def _journal_number(path: Path) -> int | None:
    middle = path.name[len("journal."):-len(".jsonl")]
    return int(middle) if middle.isdigit() else None


def _entry(raw: bytes) -> dict[str, Any] | None:
    """A journal line as written by `_append`, or None if it is not one."""
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if (isinstance(entry, dict) and isinstance(entry.get("n"), str)
            and isinstance(entry.get("k"), str)
            and (entry.get("d") == 1 or isinstance(entry.get("v"), str))):
        return entry
    return None


def _is_tables(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(table, dict) and all(isinstance(v, str) for v in table.values())
        for table in value.values())


def read_snapshot(path: Path) -> tuple[Tables, int | None]:
    """The records of a snapshot and the last journal it covers (None: a format-1 snapshot)."""
    damaged = (f"{path} is damaged ({{}}): restore it from a backup; do not delete it, the "
               "journals beside it only hold the changes made after it")
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StoreDamagedError(damaged.format(f"not JSON: {exc}")) from None
    if isinstance(value, dict) and value.get("format") == SNAPSHOT_FORMAT:
        data, upto = value.get("data"), value.get("journal")
        if isinstance(data, dict) and _is_tables(data) and isinstance(upto, int) and upto >= 0:
            return data, upto
    elif isinstance(value, dict) and _is_tables(value):
        return value, None
    raise StoreDamagedError(damaged.format("not a snapshot of this store"))


class JournalStore:
    """A crash-safe key-value store in one directory; see the module docstring."""

    def __init__(self, directory: Path, *, fsync_interval: float = 1.0,
                 compact_factor: int = 4, min_compact: int = 1000,
                 retry_seconds: float = RETRY_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
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
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._data: Tables = {}  # values kept serialised: snapshots copy cheaply
        self._claims: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._compacting: threading.Thread | None = None
        self._compacted_upto = 0  # the last journal a written snapshot covers
        self._compact_wanted = False  # a rotation or compaction failed: retry it
        self._retry_at = 0.0
        self._lines = 0
        try:
            last = self._load()
            self._number = last + 1
            self._fd = self._open_journal(self._number)
        except BaseException:
            self._lockfile.close()
            raise
        self._offset = 0  # bytes of the current journal known good
        self._torn = False  # a failed write may have left a partial line after `_offset`
        self._syncer = threading.Thread(target=self._sync_loop, name="journal-fsync", daemon=True)
        self._syncer.start()

    # --- loading -------------------------------------------------------------------------------

    def _journals(self) -> list[tuple[int, Path]]:
        found = ((_journal_number(p), p) for p in self.directory.glob(JOURNAL_GLOB))
        return sorted((n, p) for n, p in found if n is not None)

    def _load(self) -> int:
        """Read the snapshot and replay the journals; the number of the last journal."""
        snapshot = self.directory / SNAPSHOT
        upto: int | None = 0
        if snapshot.exists():
            self._data, upto = read_snapshot(snapshot)
        journals = self._journals()
        numbers = [n for n, _ in journals]
        for before, after in zip(numbers, numbers[1:], strict=False):
            if after != before + 1:
                raise StoreDamagedError(
                    f"{self.directory / f'journal.{before + 1}.jsonl'} is missing (journals "
                    f"{before} and {after} are there): restore it from a backup; the changes it "
                    "held cannot be rebuilt")
        if numbers and upto is not None and numbers[0] > upto + 1:
            missing = snapshot if not snapshot.exists() else (
                self.directory / f"journal.{upto + 1}.jsonl")
            raise StoreDamagedError(
                f"{missing} is missing (the journals start at {numbers[0]}): restore it from a "
                "backup; without it the records written before would be lost")
        for _, journal in journals:
            self._replay(journal)
        for namespace, values in self._data.items():
            if namespace.startswith("claims:"):
                self._claims[namespace] = sorted(int(k) for k in values if k.isdigit())
        self._compacted_upto = upto or 0
        return max(numbers[-1] if numbers else 0, upto or 0)

    def _replay(self, journal: Path) -> None:
        lines = journal.read_bytes().split(b"\n")
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            entry = _entry(raw)
            if entry is None:
                if number == len(lines):  # no newline after it: a write cut short
                    log.warning("skipping a torn last line in %s", journal.name)
                    continue
                raise StoreDamagedError(
                    f"{journal} is damaged at line {number}: restore it from a backup, or "
                    "remove that line to start without the change it held")
            self._apply(entry)
            self._lines += 1
            if entry.get("d"):
                # A deletion still on disk (a /forget whose compaction did not run before the
                # process stopped): compact soon after start, so it does not stay there.
                self._compact_wanted = True

    def _apply(self, entry: dict[str, Any]) -> None:
        table = self._data.setdefault(entry["n"], {})
        if entry.get("d"):
            table.pop(entry["k"], None)
        else:
            table[entry["k"]] = entry["v"]

    def _open_journal(self, number: int) -> int:
        return os.open(self.directory / f"journal.{number}.jsonl",
                       os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    # --- writing -------------------------------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> None:
        data = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the store is closed")
            self._write(data)  # in the OS now: a killed process does not lose it
            self._apply(entry)
            self._lines += 1
            self._dirty.set()
            if self._lines > max(self._min_compact, self._compact_factor * self._size()):
                self._compact_wanted = True
            if self._compact_wanted:
                self._maybe_start_compaction()

    def _write(self, data: bytes) -> None:
        """Append one whole line, or raise with the journal as it was (no partial line left)."""
        if self._torn:
            os.ftruncate(self._fd, self._offset)
            self._torn = False
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError:
            self._torn = True
            with contextlib.suppress(OSError):  # shrinking needs no space; retried next write
                os.ftruncate(self._fd, self._offset)
                self._torn = False
            raise
        self._offset += len(data)

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

    async def replace(self, namespace: str, key: str, expected: Any | None, value: Any) -> bool:
        """Atomic: nothing between the read and the write yields to another task."""
        if self.get_sync(namespace, key) != expected:
            return False
        self.put_sync(namespace, key, value)
        return True

    async def incr(self, namespace: str, key: str, field: str, by: int = 1) -> int:
        """Atomic, as `replace`."""
        counters = self.get_sync(namespace, key) or {}
        if not isinstance(counters, dict):
            raise ValueError(f"{namespace}:{key} is not a dict of counters")
        count = int(counters.get(field, 0)) + by
        self.put_sync(namespace, key, {**counters, field: count})
        return count

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
        """Deleted records still sit in the journal until compaction: compact now. True once
        they are gone from disk; False if that failed, and it is retried until it succeeds."""
        return await asyncio.to_thread(self.compact_now)

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
            if self._compact_wanted:
                with self._lock:
                    if not self._closed.is_set():
                        self._maybe_start_compaction()

    def fsync(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            try:
                os.fsync(self._fd)
            except OSError as exc:  # the bytes stay in the OS; the next round tries again
                self._dirty.set()
                log.warning("journal fsync failed: %s", exc)

    def _maybe_start_compaction(self) -> bool:
        """Called under the lock: start a compaction unless one runs or a retry is not due."""
        if self._compacting is not None or self._monotonic() < self._retry_at:
            return False
        return self._start_compaction()

    def _failed(self, what: str, exc: OSError) -> None:
        """Called under the lock."""
        self._compact_wanted = True
        self._retry_at = self._monotonic() + self._retry_seconds
        log.warning("%s failed (%s); writes go on in journal.%d, retrying in %.0f s",
                    what, exc, self._number, self._retry_seconds)

    def _start_compaction(self) -> bool:
        """Called under the lock: open the next journal, and only then retire the current one
        and write the snapshot in a thread. False (writes stay where they were) if it fails."""
        try:
            fd = self._open_journal(self._number + 1)
        except OSError as exc:
            self._failed("starting a new journal", exc)
            return False
        old, upto = self._fd, self._number
        try:
            os.fsync(old)
        except OSError as exc:
            log.warning("journal fsync failed: %s", exc)
        with contextlib.suppress(OSError):
            os.close(old)
        self._fd, self._number, self._offset, self._torn = fd, upto + 1, 0, False
        self._lines = 0
        self._compact_wanted = False
        frozen = {name: dict(table) for name, table in self._data.items()}
        self._compacting = threading.Thread(target=self._compact, args=(frozen, upto),
                                            name="journal-compact", daemon=True)
        self._compacting.start()
        return True

    def _compact(self, frozen: Tables, upto: int) -> None:
        target = self.directory / SNAPSHOT
        tmp = self.directory / f".{SNAPSHOT}.tmp"
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                json.dump({"format": SNAPSHOT_FORMAT, "journal": upto, "data": frozen}, handle,
                          ensure_ascii=False, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            _fsync_directory(self.directory)
            for number, journal in self._journals():
                if number <= upto:
                    journal.unlink()
        except OSError as exc:
            with self._lock:
                self._compacting = None
                self._failed("compaction", exc)
            return
        with self._lock:
            self._compacting = None
            self._compacted_upto = max(self._compacted_upto, upto)

    def compact_now(self) -> bool:
        """Compact everything written so far and wait; False if that failed (retried later)."""
        while True:
            with self._lock:
                running = self._compacting
                if running is None:
                    upto = self._number
                    if not self._start_compaction():
                        return False
                    mine = self._compacting
            if running is not None:
                running.join()  # an earlier compaction: wait, then start ours
                continue
            if mine is not None:
                mine.join()
            with self._lock:
                return self._compacted_upto >= upto

    def close_sync(self) -> None:
        thread = self._compacting
        if thread:
            thread.join()
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            self._dirty.set()
            try:
                os.fsync(self._fd)
            except OSError as exc:  # what was written is in the OS all the same
                log.warning("journal fsync at close failed: %s", exc)
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._syncer.join(timeout=5)
        self._lockfile.close()  # releases the lock
