"""One Dialog per knowledge-base version, so a dialog keeps the snapshot it started with."""

from __future__ import annotations

from collections.abc import Mapping

from bot.clock import SYSTEM_CLOCK, Clock
from bot.dialog.engine import Dialog
from bot.kb.store import KnowledgeStore


class Dialogs:
    def __init__(self, store: KnowledgeStore, labels: Mapping[str, Mapping[str, str]],
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.store = store
        self._labels = labels
        self._clock = clock  # "today", for typed answers such as "created in 2019"
        self._cache: dict[str, Dialog] = {}

    def get(self, version: str | None = None) -> Dialog:
        kb = self.store.get(version)
        if kb.version not in self._cache:
            self._cache[kb.version] = Dialog(kb, self._labels, self._clock)
        return self._cache[kb.version]
