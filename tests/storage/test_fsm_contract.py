"""The FSM storage contract, on both: KeyValueStorage over the journal store, and aiogram's
RedisStorage as build_app configures it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from redis.asyncio import Redis

from bot.storage.fsm import NAMESPACE, KeyValueStorage
from bot.storage.journal import JournalStore
from bot.storage.redis import redis_fsm_storage

Leftovers = Callable[[], Awaitable[int]]


class Form(StatesGroup):
    sector = State()
    city = State()


@pytest.fixture
async def fsm(backend: str, request: pytest.FixtureRequest,
              tmp_path: Path) -> AsyncIterator[tuple[BaseStorage, Leftovers]]:
    """The storage, and a count of the records it leaves behind."""
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        storage = redis_fsm_storage(url)
        raw = Redis.from_url(url)

        async def leftovers() -> int:  # records: a context's state and data count as one
            return len({k.rsplit(b":", 1)[0] async for k in raw.scan_iter(match="*")})

        yield storage, leftovers
        await storage.close()
        await raw.aclose()
    else:
        kv = JournalStore(tmp_path / "state")

        async def leftovers() -> int:
            return len([k async for k in kv.keys(NAMESPACE)])

        yield KeyValueStorage(kv), leftovers
        await kv.close()


def key(user_id: int = 1001, chat_id: int | None = None, destiny: str = "default",
        thread_id: int | None = None, bot_id: int = 42) -> StorageKey:
    return StorageKey(bot_id=bot_id, chat_id=user_id if chat_id is None else chat_id,
                      user_id=user_id, thread_id=thread_id, destiny=destiny)


async def test_state_set_get(fsm: tuple[BaseStorage, Leftovers]) -> None:
    storage, _ = fsm
    assert await storage.get_state(key()) is None
    await storage.set_state(key(), Form.sector)
    assert await storage.get_state(key()) == "Form:sector"
    await storage.set_state(key(), "Form:city")  # a string is a state too
    assert await storage.get_state(key()) == Form.city.state


async def test_data_set_get_update(fsm: tuple[BaseStorage, Leftovers]) -> None:
    storage, _ = fsm
    assert await storage.get_data(key()) == {}
    data = {"sector": "saas", "city": "São Paulo", "vie": {"count": 2, "months": [12, 18]}}
    await storage.set_data(key(), data)
    assert await storage.get_data(key()) == data
    assert await storage.update_data(key(), {"budget": 60_000}) == {**data, "budget": 60_000}
    assert await storage.get_value(key(), "budget") == 60_000
    assert await storage.get_value(key(), "missing", "dflt") == "dflt"


async def test_records_are_separated(fsm: tuple[BaseStorage, Leftovers]) -> None:
    storage, _ = fsm
    others = [key(user_id=1002), key(chat_id=-100500), key(destiny="admin"),
              key(thread_id=9), key(bot_id=43)]
    await storage.set_state(key(), Form.sector)
    await storage.set_data(key(), {"who": "main"})
    for index, other in enumerate(others):
        assert await storage.get_state(other) is None, other
        assert await storage.get_data(other) == {}, other
        await storage.set_state(other, Form.city)
        await storage.set_data(other, {"who": index})
    assert await storage.get_state(key()) == "Form:sector"
    assert await storage.get_data(key()) == {"who": "main"}
    for index, other in enumerate(others):
        assert await storage.get_data(other) == {"who": index}


async def test_clearing_leaves_nothing(fsm: tuple[BaseStorage, Leftovers]) -> None:
    storage, leftovers = fsm
    await storage.set_state(key(), Form.sector)
    await storage.set_data(key(), {"sector": "saas"})
    await storage.set_state(key(user_id=7), Form.city)
    await storage.set_state(key(), None)
    assert await storage.get_state(key()) is None
    assert await storage.get_data(key()) == {"sector": "saas"}  # data kept until cleared
    await storage.set_data(key(), {})
    assert await storage.get_data(key()) == {}
    await storage.set_state(key(user_id=7), None)
    assert await leftovers() == 0  # no empty record lingers


async def test_forget_user_removes_every_record_of_that_user(
        fsm: tuple[BaseStorage, Leftovers]) -> None:
    storage, leftovers = fsm
    mine = [key(), key(chat_id=-100500), key(destiny="privacy"), key(thread_id=9),
            key(chat_id=-100500, thread_id=3, destiny="privacy")]
    others = [key(user_id=1002), key(user_id=10010), key(user_id=1001, bot_id=43),
              key(user_id=1002, chat_id=1001)]
    for k in mine + others:
        await storage.set_state(k, Form.city)
        await storage.set_data(k, {"x": 1})
    await storage.forget_user(42, 1001)  # type: ignore[attr-defined]
    for k in mine:
        assert await storage.get_state(k) is None and await storage.get_data(k) == {}, k
    for k in others:
        assert await storage.get_state(k) == "Form:city", k
        assert await storage.get_data(k) == {"x": 1}, k
    await storage.forget_user(42, 1001)  # type: ignore[attr-defined]  # nothing left: fine
    assert await leftovers() == len(others)
