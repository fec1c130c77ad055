"""The live knowledge base: the current snapshot, and earlier ones pinned by dialogs in flight."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tinydb import Query, TinyDB

from bot.kb.loader import load_directory
from bot.kb.snapshot import KnowledgeBase


class KnowledgeStore:
    """Loads knowledge/ at start; `get(version)` gives a dialog the snapshot it began with."""

    def __init__(self, current: KnowledgeBase, db: TinyDB | None = None) -> None:
        self._snapshots: dict[str, KnowledgeBase] = {current.version: current}
        self._current = current
        self._table = db.table("kb_versions") if db is not None else None
        self._record(current)

    @classmethod
    def from_directory(cls, directory: Path, db: TinyDB | None = None) -> KnowledgeStore:
        return cls(load_directory(directory), db)

    @property
    def current(self) -> KnowledgeBase:
        return self._current

    def get(self, version: str | None) -> KnowledgeBase:
        """The pinned snapshot when still held, else the current one."""
        return self._snapshots.get(version or "", self._current)

    def publish(self, kb: KnowledgeBase) -> None:
        """Make a new validated snapshot current; dialogs in flight keep theirs."""
        self._snapshots[kb.version] = kb
        self._current = kb
        self._record(kb)

    def _record(self, kb: KnowledgeBase) -> None:
        if self._table is None:
            return
        entry = {"version": kb.version, "updated": kb.meta.updated.isoformat()}
        if not self._table.contains(Query().version == kb.version):
            entry["loaded_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self._table.insert(entry)
