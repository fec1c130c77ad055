"""aiogram FSM storage on TinyDB: dialogs survive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from tinydb import Query, TinyDB


def _key(key: StorageKey) -> str:
    parts = (key.bot_id, key.chat_id, key.user_id, key.thread_id, key.business_connection_id,
             key.destiny)
    return ":".join("" if p is None else str(p) for p in parts)


class TinyDBStorage(BaseStorage):
    """State and data per StorageKey in the 'fsm' table; writes are serialised by a lock."""

    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("fsm")
        self._lock = asyncio.Lock()

    def _get(self, key: StorageKey) -> dict[str, Any]:
        doc = self._table.get(Query().k == _key(key))
        return dict(doc) if isinstance(doc, dict) else {}

    async def _put(self, key: StorageKey, **fields: Any) -> None:
        async with self._lock:
            record = self._get(key)
            record.update(fields, k=_key(key))
            self._table.upsert(record, Query().k == record["k"])

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._put(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return self._get(key).get("state")

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._put(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict(self._get(key).get("data") or {})

    async def close(self) -> None:
        return None
