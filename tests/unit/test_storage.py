"""Storage: atomic TinyDB writes and the FSM storage on a real file."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from tinydb import TinyDB

from bot.storage.atomic import AtomicJSONStorage
from bot.storage.fsm import KeyValueStorage
from bot.storage.journal import JournalStore
from bot.storage.users import UserRepository


def test_a_failed_tinydb_write_leaves_the_previous_file_intact(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "db.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.insert({"answer": 1})
    before = path.read_text(encoding="utf-8")

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        db.insert({"answer": 2})
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == before
    assert json.loads(before)["_default"] == {"1": {"answer": 1}}
    assert [p.name for p in tmp_path.iterdir()] == ["db.json"]  # no temp file left behind


async def test_users_survive_reopening(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    users = UserRepository(store)
    await users.set_locale(7, "en")
    await store.close()
    reopened = UserRepository(JournalStore(tmp_path))
    assert await reopened.locale(7) == "en"
    record = await reopened.get(7)
    assert record is not None and record["active"] is True and record["created"]


async def test_fsm_storage_round_trip(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    storage = KeyValueStorage(store)
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    other = StorageKey(bot_id=1, chat_id=3, user_id=3)
    scene = StorageKey(bot_id=1, chat_id=2, user_id=2, destiny="scenes")
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}
    await storage.set_state(key, "Questionnaire:active")
    await storage.set_data(key, {"dialog": {"answers": {"sector": "saas"}}})
    await storage.set_state(scene, "other")
    await store.close()
    reopened = KeyValueStorage(JournalStore(tmp_path))
    assert await reopened.get_state(key) == "Questionnaire:active"
    assert (await reopened.get_data(key))["dialog"]["answers"] == {"sector": "saas"}
    assert await reopened.get_state(other) is None
    assert await reopened.get_state(scene) == "other"  # the destiny is part of the key
    await reopened.set_state(key, None)
    assert await reopened.get_state(key) is None
    assert (await reopened.get_data(key))["dialog"]  # clearing the state keeps the data
    await reopened.forget_user(1, 2)
    assert await reopened.get_data(key) == {} and await reopened.get_state(scene) is None


def test_knowledge_versions_are_kept_and_found_after_a_restart(tmp_path: Path) -> None:
    from bot.kb.admin import KnowledgeAdmin
    from bot.kb.store import KnowledgeStore
    from bot.storage.database import open_knowledge_database
    from tests.conftest import KNOWLEDGE_DIR

    db = open_knowledge_database(tmp_path)
    kb, raw = KnowledgeAdmin(KNOWLEDGE_DIR, tmp_path).load()  # as build_app does
    store = KnowledgeStore(kb, db, raw)
    version = store.current.version
    db.close()
    # Another process starts on another knowledge directory: the first version is still there.
    reopened = open_knowledge_database(tmp_path)
    assert reopened.table("versions").get(doc_id=1)["version"] == version  # type: ignore[index]
    other = replace(store.current,
                    meta=store.current.meta.model_copy(update={"version": "other"}))
    fresh = KnowledgeStore(other, reopened)
    assert fresh.current.version == "other"
    assert fresh.get(version).version == version  # rebuilt from TinyDB
    assert fresh.get("never-existed").version == "other"


def test_only_the_last_knowledge_versions_are_kept(tmp_path: Path) -> None:
    from bot.kb.admin import KnowledgeAdmin
    from bot.kb.loader import read_raw
    from bot.kb.store import KEEP_VERSIONS, KnowledgeStore
    from bot.storage.database import open_knowledge_database
    from tests.conftest import KNOWLEDGE_DIR

    db = open_knowledge_database(tmp_path)
    kb, raw = KnowledgeAdmin(KNOWLEDGE_DIR, tmp_path).load()  # as build_app does
    store = KnowledgeStore(kb, db, raw)
    first = store.current.version
    raw, _ = read_raw(KNOWLEDGE_DIR)
    for n in range(KEEP_VERSIONS + 3):
        meta = store.current.meta.model_copy(update={"version": f"v{n}"})
        store.publish(replace(store.current, meta=meta), raw)
    versions = [doc["version"] for doc in db.table("versions").all()]
    assert len(versions) == KEEP_VERSIONS and versions[-1] == f"v{KEEP_VERSIONS + 2}"
    assert first not in versions
    assert store.get("v2").version == f"v{KEEP_VERSIONS + 2}"  # pruned: the current one
    assert store.get("v10").version == "v10"
    db.close()
