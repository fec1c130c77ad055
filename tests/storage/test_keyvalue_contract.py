"""The KeyValue contract, run on every backend: the journal store and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.storage.keyvalue import KeyValue
from tests.storage.conftest import MakeKV

NESTED: dict[str, Any] = {
    "id": 7, "locale": "fr", "active": True, "ratio": 0.25, "none": None,
    "name": "Zoë « São Paulo » 東京 🚀 \\ \" ' \n end",
    "answers": {"sector": "saas", "cities": ["Montréal", "Singapour"],
                "deep": {"a": [1, [2, {"b": []}]], "empty": {}}},
}


async def keys_of(kv: KeyValue, namespace: str) -> set[str]:
    return {k async for k in kv.keys(namespace)}


async def test_get_put_delete(make_kv: MakeKV) -> None:
    kv = make_kv()
    assert await kv.get("users", "1") is None
    await kv.put("users", "1", {"id": 1})
    assert await kv.get("users", "1") == {"id": 1}
    await kv.put("users", "1", {"id": 1, "locale": "en"})  # overwrite
    assert await kv.get("users", "1") == {"id": 1, "locale": "en"}
    await kv.delete("users", "1")
    assert await kv.get("users", "1") is None
    await kv.delete("users", "1")  # a missing key is not an error
    await kv.delete("never", "seen")


async def test_namespaces_are_separate(make_kv: MakeKV) -> None:
    kv = make_kv()
    await kv.put("users", "1", "user")
    await kv.put("fsm", "1", "state")
    assert await kv.get("users", "1") == "user" and await kv.get("fsm", "1") == "state"
    await kv.delete("fsm", "1")
    assert await kv.get("users", "1") == "user"


async def test_values_round_trip(make_kv: MakeKV) -> None:
    kv = make_kv()
    samples: dict[str, Any] = {"nested": NESTED, "text": "Où atterrir ? 🛬", "int": 42,
                               "float": 1.5, "bool": False, "list": ["a", 1, None],
                               "empty": {}, "zero": 0}
    for key, value in samples.items():
        await kv.put("values", key, value)
    for key, value in samples.items():
        assert await kv.get("values", key) == value, key


async def test_keys_lists_one_namespace(make_kv: MakeKV) -> None:
    kv = make_kv()
    assert await keys_of(kv, "fsm") == set()
    expected = {f"42:{i}:{i}:::default" for i in range(600)} | {"a:b:c", "x*?[y]"}
    for key in expected:
        await kv.put("fsm", key, {"state": "s"})
    await kv.put("users", "1", {})
    await kv.put("fsm2", "other", {})  # a namespace sharing a prefix with "fsm"
    await kv.delete("fsm", "a:b:c")
    assert await keys_of(kv, "fsm") == expected - {"a:b:c"}
    assert await keys_of(kv, "users") == {"1"}
    assert await keys_of(kv, "fsm*") == set()  # a namespace is matched literally


async def test_data_survives_a_restart(make_kv: MakeKV) -> None:
    kv = make_kv()
    await kv.put("users", "1", NESTED)
    await kv.put("users", "2", {"id": 2})
    await kv.delete("users", "2")
    assert await kv.claim("updates", "100", keep=10)
    await kv.close()
    again = make_kv()
    assert await again.get("users", "1") == NESTED
    assert await again.get("users", "2") is None
    assert await again.claim("updates", "100", keep=10) is False


async def test_seen_follows_claims(make_kv: MakeKV) -> None:
    kv = make_kv()
    assert await kv.seen("updates", "77") is False
    await kv.claim("updates", "77", keep=5)
    assert await kv.seen("updates", "77") is True
    assert await kv.seen("other", "77") is False


async def test_claim_is_once_only(make_kv: MakeKV) -> None:
    kv = make_kv()
    assert await kv.claim("updates", "10", keep=5) is True
    assert await kv.claim("updates", "10", keep=5) is False
    assert await kv.claim("updates", "11", keep=5) is True
    assert await kv.claim("other", "10", keep=5) is True  # per namespace


async def test_concurrent_claims_of_one_key_give_one_winner(make_kv: MakeKV) -> None:
    kv = make_kv()
    results = await asyncio.gather(*(kv.claim("updates", "500", keep=100) for _ in range(20)))
    assert results.count(True) == 1


async def test_claims_are_bounded(make_kv: MakeKV) -> None:
    """Only the last `keep` claims are remembered: the oldest are forgotten, the newest not."""
    kv = make_kv()
    keep = 5
    for update_id in range(1, 41):
        assert await kv.claim("updates", str(update_id), keep=keep)
    for update_id in range(36, 41):  # the last `keep`: still claimed
        assert await kv.claim("updates", str(update_id), keep=keep) is False
    assert await kv.claim("updates", "1", keep=keep) is True  # long forgotten


async def test_close_is_idempotent(make_kv: MakeKV) -> None:
    kv = make_kv()
    await kv.put("users", "1", {"id": 1})
    await kv.close()
    await kv.close()


async def test_replace_writes_only_over_the_value_expected(make_kv: MakeKV) -> None:
    kv = make_kv()
    assert await kv.replace("invites", "c", None, {"n": 1}) is True  # absent: created
    assert await kv.replace("invites", "c", None, {"n": 2}) is False  # no longer absent
    assert await kv.replace("invites", "c", {"n": 9}, {"n": 2}) is False
    assert await kv.get("invites", "c") == {"n": 1}
    assert await kv.replace("invites", "c", {"n": 1}, NESTED) is True
    assert await kv.replace("invites", "c", NESTED, {"n": 3}) is True  # unicode, nesting
    assert await kv.get("invites", "c") == {"n": 3}


async def test_concurrent_replaces_of_one_value_give_one_winner(make_kv: MakeKV,
                                                                backend: str) -> None:
    """Ten tasks (on Redis, ten replicas) find the value unused and each marks it used: one
    wins, whatever the interleaving."""
    kv = make_kv()
    stores = [kv, *(make_kv() for _ in range(9))] if backend == "redis" else [kv] * 10
    await kv.put("invites", "c", {"used_by": None})

    async def redeem(store: KeyValue, user: int) -> bool:
        seen = await store.get("invites", "c")
        if seen != {"used_by": None}:
            return False
        return await store.replace("invites", "c", seen, {"used_by": user})

    won = await asyncio.gather(*(redeem(store, i) for i, store in enumerate(stores)))
    assert won.count(True) == 1
    assert await kv.get("invites", "c") == {"used_by": won.index(True)}


async def test_incr_counts_every_increment(make_kv: MakeKV) -> None:
    kv = make_kv()
    assert await kv.incr("stats", "link", "started") == 1
    assert await kv.incr("stats", "link", "started", by=2) == 3
    await kv.put("stats", "old", {"started": 4, "shared": 1})  # counters written by put
    assert await kv.incr("stats", "old", "started") == 5
    assert await kv.get("stats", "old") == {"started": 5, "shared": 1}
    counts = await asyncio.gather(*(kv.incr("stats", "busy", "started") for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))
    assert await kv.get("stats", "busy") == {"started": 50}
    await kv.put("stats", "bad", ["not", "a", "dict"])
    with pytest.raises(ValueError):
        await kv.incr("stats", "bad", "started")
    assert await kv.get("stats", "bad") == ["not", "a", "dict"]


async def test_purge_makes_deletes_final(make_kv: MakeKV) -> None:
    kv = make_kv()
    await kv.put("users", "1", {"id": 1})
    await kv.put("users", "2", {"id": 2})
    await kv.delete("users", "1")
    assert await kv.purge() is True
    assert await kv.get("users", "1") is None and await kv.get("users", "2") == {"id": 2}
