"""Per-user event isolation whose memory stays bounded.

aiogram's SimpleEventIsolation keeps one lock per key forever ("Unused locks cleaner is needed",
aiogram/fsm/storage/memory.py). Here a lock lives only while some update of that user holds or
awaits it: the dictionary holds weak references.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class BoundedEventIsolation(BaseEventIsolation):
    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[StorageKey, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:  # the local reference keeps the lock alive while in use
            yield

    @property
    def size(self) -> int:
        """Locks alive now. (No __len__: aiogram tests the isolation object for truth.)"""
        return len(self._locks)

    async def close(self) -> None:
        return None
