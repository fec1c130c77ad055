"""aiogram FSM storage on any KeyValue backend: a dialog in progress survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey

from bot.storage.keyvalue import KeyValue

NAMESPACE = "fsm"


def storage_key(key: StorageKey) -> str:
    """Every part of aiogram's key, destiny included, so no two contexts share a record."""
    parts = (key.bot_id, key.chat_id, key.user_id, key.thread_id, key.business_connection_id,
             key.destiny)
    return ":".join("" if p is None else str(p) for p in parts)


class KeyValueStorage(BaseStorage):
    """State and data of one StorageKey in one record: {"state": ..., "data": {...}}."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def _record(self, key: StorageKey) -> dict[str, Any]:
        found = await self.kv.get(NAMESPACE, storage_key(key))
        return dict(found) if isinstance(found, dict) else {}

    async def _save(self, key: StorageKey, record: dict[str, Any]) -> None:
        if record.get("state") is None and not record.get("data"):
            await self.kv.delete(NAMESPACE, storage_key(key))
        else:
            await self.kv.put(NAMESPACE, storage_key(key), record)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        record = await self._record(key)
        record["state"] = state.state if isinstance(state, State) else state
        await self._save(key, record)

    async def get_state(self, key: StorageKey) -> str | None:
        state = (await self._record(key)).get("state")
        return str(state) if state is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        record = await self._record(key)
        record["data"] = dict(data)
        await self._save(key, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._record(key)).get("data") or {})

    async def forget_user(self, bot_id: int, user_id: int) -> None:
        """Delete every record of this user (all chats, threads and destinies)."""
        prefix = f"{bot_id}:"
        doomed = [k async for k in self.kv.keys(NAMESPACE)
                  if k.startswith(prefix) and k.split(":")[2] == str(user_id)]
        for key in doomed:
            await self.kv.delete(NAMESPACE, key)

    async def close(self) -> None:
        return None
