"""The live knowledge base: the current snapshot, and earlier ones pinned by dialogs in flight.

Each version's raw collections are kept in TinyDB (DATA_DIR/knowledge.json), so a dialog begun on
an earlier version still finds it after a restart. The last KEEP_VERSIONS are kept (in memory
and on disk); a dialog pinned to an older one continues on the current version.
"""

from __future__ import annotations

from typing import Any

from tinydb import Query, TinyDB

from bot.clock import SYSTEM_CLOCK, Clock
from bot.kb.loader import KnowledgeError, build
from bot.kb.snapshot import KnowledgeBase

KEEP_VERSIONS = 20


def _build_or_raise(raw: dict[str, Any]) -> KnowledgeBase:
    kb, problems = build(raw)
    if kb is None:
        raise KnowledgeError(problems)
    return kb


class KnowledgeStore:
    """`current` for new dialogs; `get(version)` gives a dialog the snapshot it began with."""

    def __init__(self, current: KnowledgeBase, db: TinyDB | None = None,
                 raw: dict[str, Any] | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._snapshots: dict[str, KnowledgeBase] = {current.version: current}
        self._current = current
        self._versions = db.table("versions") if db is not None else None
        self._save(current, raw)

    @property
    def current(self) -> KnowledgeBase:
        return self._current

    def get(self, version: str | None) -> KnowledgeBase:
        """The pinned snapshot (from memory, else from the stored versions), else the current."""
        if not version:
            return self._current
        if version not in self._snapshots and self._versions is not None:
            doc = self._versions.get(Query().version == version)
            if isinstance(doc, dict) and doc.get("raw"):
                try:
                    self._snapshots[version] = _build_or_raise(doc["raw"])
                except KnowledgeError:
                    return self._current  # a stored version that no longer validates
        return self._snapshots.get(version, self._current)

    def publish(self, kb: KnowledgeBase, raw: dict[str, Any] | None = None) -> None:
        """Make a new validated snapshot current; dialogs in flight keep theirs."""
        self._snapshots[kb.version] = kb
        self._current = kb
        self._save(kb, raw)
        while len(self._snapshots) > KEEP_VERSIONS:  # oldest first (insertion order)
            del self._snapshots[next(iter(self._snapshots))]

    def knows(self, version: str) -> bool:
        """Whether a dialog pinned to `version` finds it here (in memory or stored)."""
        return version in self._snapshots or (
            self._versions is not None and self._versions.contains(Query().version == version))

    def remember(self, raw: dict[str, Any]) -> None:
        """Keep a version for the dialogs pinned to it, without making it current (a version
        another replica made live, read from Redis)."""
        meta = raw.get("meta")
        if isinstance(meta, dict) and meta.get("version"):
            self._insert(str(meta["version"]), str(meta.get("updated", "")), raw)

    def _save(self, kb: KnowledgeBase, raw: dict[str, Any] | None) -> None:
        self._insert(kb.version, kb.meta.updated.isoformat(), raw)

    def _insert(self, version: str, updated: str, raw: dict[str, Any] | None) -> None:
        if self._versions is None or self._versions.contains(Query().version == version):
            return
        self._versions.insert({
            "version": version,
            "updated": updated,
            "loaded_at": self.clock.stamp(),
            "raw": raw,
        })
        ids = sorted(doc.doc_id for doc in self._versions.all())
        if len(ids) > KEEP_VERSIONS:
            self._versions.remove(doc_ids=ids[:-KEEP_VERSIONS])
