"""Knowledge shared through Redis: replicas with their own data folders and their own copies of
knowledge/, one real redis-server. An apply on one is adopted by the others, with its audit
entry; a replica starting with an older knowledge/ takes Redis's, a newer one (a deploy) is
published; a change made on a base another replica has moved on is a conflict, never a fork."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update
from redis import Redis as SyncRedis

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.console import LocalSession
from bot.kb.admin import Applied, next_version
from bot.kb.shared import LockTimeout, SharedKnowledge
from bot.kb.snapshot import KnowledgeBase
from tests.conftest import KNOWLEDGE_DIR, TODAY, make_settings
from tests.storage.test_webhook import sent, update

SHIPPED = json.loads((KNOWLEDGE_DIR / "meta.json").read_text())["version"]
Replica = Callable[..., Awaitable[App]]


@pytest.fixture
async def replica(redis_url: str, tmp_path: Path) -> AsyncIterator[Replica]:
    """Builds replicas on one Redis, each with its own data dir and knowledge/ copy, joined
    (as at start); `version` gives its knowledge/ another meta version (a newer deploy)."""
    apps: list[App] = []

    async def make(name: str, version: str | None = None) -> App:
        kdir = tmp_path / name / "knowledge"
        shutil.copytree(KNOWLEDGE_DIR, kdir, ignore=shutil.ignore_patterns(".lock", ".pending"))
        if version is not None:
            meta = json.loads((kdir / "meta.json").read_text())
            (kdir / "meta.json").write_text(json.dumps({**meta, "version": version}))
        settings = make_settings(tmp_path / name / "data", knowledge_dir=kdir,
                                 redis_url=redis_url)
        app = build_app(settings, session=LocalSession(), token="42:TEST",
                        clock=FixedClock.on(TODAY))
        apps.append(app)
        assert app.reloader.shared is not None
        await app.reloader.join()
        return app

    yield make
    for app in apps:
        await app.notifier.drain()  # the alerts a new version set off, before Redis closes
        await app.close()


def new_scheme(rid: str) -> bytes:
    record = copy.deepcopy(json.loads((KNOWLEDGE_DIR / "aid.json").read_text())[0])
    record.update(id=rid, name={"fr": f"Aide {rid}", "en": f"Scheme {rid}"})
    return json.dumps({"upsert": [record]}).encode()


async def apply_on(app: App, rid: str, who: str = "telegram:1") -> Applied:
    """What /kb does on a confirmed upload: under the shared lock, on Redis's live base."""
    async with app.reloader.applying():
        proposal = app.kb_admin.propose_upload(new_scheme(rid), "aid.json")
        assert proposal.changes is not None
        result = app.kb_admin.apply(proposal.changes, who, base_version=proposal.base_version,
                                    source="aid.json")
        assert result.status == "applied" and result.kb is not None and result.raw is not None
        assert await app.reloader.publish(result.kb, result.raw)
    return result


def heard(app: App) -> list[tuple[str, str]]:
    """The versions the replica's listeners (the alerts) are told of, old and new."""
    told: list[tuple[str, str]] = []

    async def listener(old: KnowledgeBase, new: KnowledgeBase) -> None:
        told.append((old.version, new.version))

    app.reloader.listeners.append(listener)
    return told


async def test_an_apply_on_one_replica_is_adopted_by_the_others(replica: Replica,
                                                               redis_url: str) -> None:
    a, b = await replica("a"), await replica("b")
    told = heard(b)
    result = await apply_on(a, "shared-scheme")
    shared = SharedKnowledge(a.kv.redis)  # type: ignore[attr-defined]
    assert await shared.live() == result.version
    assert b.store.current.version == SHIPPED  # until it looks

    assert await b.reloader.follow()
    assert b.store.current.version == result.version
    assert "shared-scheme" in b.store.current.aid
    kb, _ = b.kb_admin.load()  # its own files follow, for its /kb diffs and exports
    assert kb.version == result.version and "shared-scheme" in kb.aid
    entry = b.kb_admin.history(1)[0]
    assert (entry["who"], entry["action"], entry["via"]) == ("telegram:1", "apply", "redis")
    assert (entry["previous"], entry["version"]) == (SHIPPED, result.version)
    assert b.kb_admin.backups() == [SHIPPED]
    assert told == [(SHIPPED, result.version)]
    assert not await b.reloader.follow()  # once
    assert told == [(SHIPPED, result.version)]


async def test_a_replica_starting_with_an_older_knowledge_takes_redis_version(
        replica: Replica, caplog: pytest.LogCaptureFixture) -> None:
    a = await replica("a")
    result = await apply_on(a, "while-c-was-down")
    with caplog.at_level(logging.WARNING, logger="bot.kb.reload"):
        c = await replica("c")  # its knowledge/ is the shipped one, older than Redis's
    assert c.store.current.version == result.version
    assert "while-c-was-down" in c.kb_admin.load()[0].aid
    assert any(f"knowledge/ holds {SHIPPED}" in r.getMessage()
               and f"live version in Redis is {result.version}" in r.getMessage()
               for r in caplog.records)


async def test_a_newer_knowledge_dir_is_published_for_every_replica(replica: Replica) -> None:
    a = await replica("a")
    newer = next_version(TODAY.replace(day=TODAY.day + 1), [])
    c = await replica("c", version=newer)  # a deploy with a new knowledge/
    assert c.store.current.version == newer
    assert await a.reloader.follow()
    assert a.store.current.version == newer


async def test_a_change_on_a_base_another_replica_moved_on_is_a_conflict(
        replica: Replica) -> None:
    a, b = await replica("a"), await replica("b")
    seen = b.kb_admin.propose_upload(new_scheme("b-scheme"), "aid.json")  # the diff B showed
    assert seen.changes is not None and seen.base_version == SHIPPED
    theirs = await apply_on(a, "a-scheme")
    async with b.reloader.applying():  # B first takes Redis's live base
        mine = b.kb_admin.apply(seen.changes, "telegram:2", base_version=seen.base_version)
    assert mine.status == "conflict"
    assert b.store.current.version == theirs.version
    assert "b-scheme" not in b.kb_admin.load()[0].aid


async def test_a_publish_from_a_stale_base_is_refused_and_the_replica_follows(
        replica: Replica) -> None:
    a, b = await replica("a"), await replica("b")
    theirs = await apply_on(a, "a-scheme")
    # A command-line apply on B's files, which had not yet followed Redis: a fork.
    proposal = b.kb_admin.propose_upload(new_scheme("fork"), "aid.json")
    assert proposal.changes is not None
    fork = b.kb_admin.apply(proposal.changes, "cli:admin")
    assert fork.kb is not None and fork.raw is not None
    assert not await b.reloader.publish(fork.kb, fork.raw)
    assert b.store.current.version == SHIPPED
    assert await b.reloader.follow()
    assert b.store.current.version == theirs.version
    assert "fork" not in b.kb_admin.load()[0].aid
    # kept, to re-apply on the live base (numbered like A's version, as B had not seen it)
    assert fork.version == theirs.version
    assert f"{fork.version}-replaced" in b.kb_admin.backups()


async def test_dialog_pinned_versions_are_found_on_a_replica_started_later(
        replica: Replica) -> None:
    a = await replica("a")
    first = await apply_on(a, "first")
    second = await apply_on(a, "second")
    c = await replica("c")
    assert c.store.current.version == second.version
    for version in (SHIPPED, first.version):
        assert c.store.knows(version)
        assert c.store.get(version).version == version


async def test_a_damaged_version_in_redis_leaves_the_replica_on_its_own(
        replica: Replica, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    a = await replica("a")
    with SyncRedis.from_url(redis_url) as client:
        client.set("ea:kb:version:2099.01.01-1", b"not zlib")
        client.set("ea:kb:live", "2099.01.01-1")
        with caplog.at_level(logging.WARNING, logger="bot.kb.reload"):
            assert not await a.reloader.follow()
        assert a.store.current.version == SHIPPED
        assert "does not hold it" in caplog.text
        payload: dict[str, Any] = {"raw": {"meta": {"version": "2099.01.01-1"}}, "audit": None}
        client.set("ea:kb:version:2099.01.01-1", zlib.compress(json.dumps(payload).encode()))
        with caplog.at_level(logging.ERROR, logger="bot.kb.reload"):
            assert not await a.reloader.follow()
    assert a.store.current.version == SHIPPED
    assert "does not load here" in caplog.text


async def test_an_update_on_another_replica_is_handled_on_the_version_just_applied(
        replica: Replica) -> None:
    a, b = await replica("a"), await replica("b")
    result = await apply_on(a, "just-applied")
    # B has not looked at Redis since (its once-a-second loop is not running here): the
    # update itself makes it look, so a dialog pinned to the new version finds it.
    await b.dispatcher.feed_update(b.bot, Update.model_validate(update("/start", 4242)))
    assert b.store.current.version == result.version
    assert b.store.knows(result.version)
    assert sent(b)  # and the update was answered


async def test_one_replica_at_a_time_changes_the_base(replica: Replica) -> None:
    a, b = await replica("a"), await replica("b")
    assert a.reloader.shared is not None and b.reloader.shared is not None
    async with a.reloader.shared.lock():
        with pytest.raises(LockTimeout):
            async with b.reloader.shared.lock(wait=0.2):
                pass
    async with b.reloader.shared.lock(wait=0.2):  # free again once A is done
        pass
