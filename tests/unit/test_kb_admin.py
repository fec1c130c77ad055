"""The knowledge-base admin engine on a real copy of knowledge/: upload -> diff -> apply,
refusals that change nothing, idempotence, conflicts, rollback, backups, audit, crash safety."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.kb.admin import (
    KEEP_BACKUPS,
    MANIFEST,
    PENDING,
    KnowledgeAdmin,
    Unreadable,
    next_version,
)
from bot.kb.changes import MAX_UPLOAD_BYTES, RefusalKind
from bot.kb.loader import COLLECTIONS
from tests.conftest import KNOWLEDGE_DIR, TODAY

BASE_VERSION = json.loads((KNOWLEDGE_DIR / "meta.json").read_text())["version"]
# The versions the first and second applies of the tests' day make over the shipped base.
FIRST = next_version(TODAY, [BASE_VERSION])
SECOND = next_version(TODAY, [BASE_VERSION, FIRST])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {f"{name}.json": (directory / f"{name}.json").read_bytes() for name in COLLECTIONS}


def collections(directory: Path) -> dict[str, Any]:
    """Every collection, meta without its managed fields (what a rollback must restore)."""
    out = {name: json.loads((directory / f"{name}.json").read_text()) for name in COLLECTIONS}
    out["meta"] = {k: v for k, v in out["meta"].items() if k not in ("version", "updated")}
    return out


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns(".lock", ".pending"))
    return target


@pytest.fixture
def admin(kdir: Path, tmp_path: Path) -> KnowledgeAdmin:
    return KnowledgeAdmin(kdir, tmp_path / "data", clock=FixedClock.on(TODAY))


def aid_records(kdir: Path) -> list[dict[str, Any]]:
    return json.loads((kdir / "aid.json").read_text())


def new_aid(kdir: Path, rid: str = "test-new-scheme") -> dict[str, Any]:
    record = copy.deepcopy(aid_records(kdir)[0])
    record["id"] = rid
    record["name"] = {"fr": "Nouvelle aide test", "en": "New test scheme"}
    return record


def upload(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


# --- diff and apply -------------------------------------------------------------------------


def test_upsert_is_diffed_then_applied_as_a_new_version(admin: KnowledgeAdmin, kdir: Path,
                                                        tmp_path: Path) -> None:
    changed = copy.deepcopy(aid_records(kdir)[1])
    changed["amount"] = {"fr": "Jusqu'à 1 €", "en": "Up to €1"}
    retired = aid_records(kdir)[2]["id"]
    before = snapshot(kdir)
    proposal = admin.propose_upload(
        upload({"upsert": [new_aid(kdir), changed], "retire": [retired]}), "aid.json")
    assert proposal.ok and proposal.base_version == BASE_VERSION
    d = proposal.diff.collections["aid"]
    assert d.added == ("test-new-scheme",)
    assert d.changed == ((changed["id"], ("amount",)),)
    assert d.retired == (retired,)
    assert snapshot(kdir) == before  # proposing writes nothing

    assert proposal.changes is not None
    result = admin.apply(proposal.changes, "telegram:1", base_version=proposal.base_version,
                         source="aid.json")
    assert result.status == "applied"
    assert result.version == FIRST and FIRST.startswith(TODAY.strftime("%Y.%m.%d-"))
    kb, _ = admin.load()
    assert kb.version == result.version and kb.meta.updated == TODAY
    assert "test-new-scheme" in kb.aid and retired not in kb.aid
    assert kb.aid[changed["id"]].amount is not None
    assert kb.aid[changed["id"]].amount.en == "Up to €1"
    # the previous files are backed up as they were
    backup = tmp_path / "data" / "kb_backups" / BASE_VERSION
    assert snapshot(backup) == before
    entry = admin.history()[0]
    assert entry["who"] == "telegram:1" and entry["action"] == "apply"
    assert entry["previous"] == BASE_VERSION and entry["version"] == result.version
    assert entry["counts"] == {"added": 1, "changed": 1, "retired": 1}
    assert entry["source"] == "aid.json"
    assert not (kdir / PENDING).exists()


def test_the_same_file_twice_changes_nothing_the_second_time(admin: KnowledgeAdmin,
                                                             kdir: Path) -> None:
    doc = upload({"upsert": [new_aid(kdir)], "retire": [aid_records(kdir)[2]["id"]]})
    first = admin.propose_upload(doc, "aid.json")
    assert first.changes is not None
    assert admin.apply(first.changes, "a", base_version=first.base_version).status == "applied"
    after = snapshot(kdir)
    second = admin.propose_upload(doc, "aid.json")
    assert second.ok and second.diff.empty
    assert second.changes is not None
    again = admin.apply(second.changes, "a")
    assert again.status == "no_change"
    # even the stale button of the first proposal
    assert admin.apply(first.changes, "a", base_version=first.base_version).status == "no_change"
    assert snapshot(kdir) == after
    assert len(admin.history()) == 1


def test_a_whole_collection_and_several_collections_at_once(admin: KnowledgeAdmin,
                                                            kdir: Path) -> None:
    sectors = json.loads((kdir / "sectors.json").read_text())
    whole = admin.propose_upload(upload(sectors[:-1]), "sectors.json")  # no record uses it
    assert whole.ok and list(whole.diff.collections) == ["sectors"]
    assert whole.diff.collections["sectors"].retired == (sectors[-1]["id"],)
    multi = admin.propose_upload(upload({"aid": new_aid(kdir), "meta": {
        "verification_horizon_months": 18, "version": "ignored"}}), "anything.json")
    assert multi.ok
    assert multi.diff.collections["aid"].added == ("test-new-scheme",)
    assert multi.diff.collections["meta"].changed == (("meta", ("verification_horizon_months",)),)
    assert multi.changes is not None
    result = admin.apply(multi.changes, "a")
    assert result.kb is not None and result.kb.version != "ignored"
    assert result.kb.meta.verification_horizon_months == 18


# --- refusals: each one leaves the live base byte for byte as it was ------------------------


def _refusal(admin: KnowledgeAdmin, kdir: Path, data: bytes, name: str) -> Any:
    before = snapshot(kdir)
    proposal = admin.propose_upload(data, name)
    assert proposal.refusal is not None, proposal.diff
    assert snapshot(kdir) == before
    return proposal.refusal


def test_refusals_name_their_reason(admin: KnowledgeAdmin, kdir: Path) -> None:
    aid = aid_records(kdir)
    big = b"[" + b" " * MAX_UPLOAD_BYTES + b"]"
    assert _refusal(admin, kdir, big, "aid.json").kind is RefusalKind.too_big
    assert _refusal(admin, kdir, "[é]".encode("latin-1"), "aid.json").kind is RefusalKind.not_utf8
    refusal = _refusal(admin, kdir, b'{"upsert": [', "aid.json")
    assert refusal.kind is RefusalKind.not_json and "line 1" in refusal.detail
    refusal = _refusal(admin, kdir, upload({"grants": []}), "x.json")
    assert refusal.kind is RefusalKind.bad_format and "grants" in refusal.detail
    assert _refusal(admin, kdir, upload([1, 2]), "notes.json").kind is RefusalKind.bad_format
    assert _refusal(admin, kdir, upload([]), "aid.json").kind is RefusalKind.empties
    refusal = _refusal(admin, kdir, upload({"retire": [r["id"] for r in aid]}), "aid.json")
    assert refusal.kind is RefusalKind.empties and refusal.detail == "aid"


def test_invalid_records_are_refused_by_record_and_field(admin: KnowledgeAdmin,
                                                         kdir: Path) -> None:
    aid = aid_records(kdir)
    dup = _refusal(admin, kdir, upload({"upsert": [new_aid(kdir), new_aid(kdir)]}), "aid.json")
    assert dup.kind is RefusalKind.invalid
    assert [(p.record, p.field) for p in dup.problems] == [("test-new-scheme", "id")]
    whole_dup = _refusal(admin, kdir, upload([*aid, aid[0]]), "aid.json")
    assert any(p.record == aid[0]["id"] and "duplicate" in p.message
               for p in whole_dup.problems)
    broken = new_aid(kdir)
    broken["criteria"] = [{"field": "sector", "op": "in", "value": ["no-such-sector"],
                           "text": {"fr": "x", "en": "x"}}]
    ref = _refusal(admin, kdir, upload(broken), "aid.json")
    assert [(p.file, p.record, p.field) for p in ref.problems] == [
        ("aid.json", "test-new-scheme", "criteria.sector")]
    cities = json.loads((kdir / "cities.json").read_text())
    used = json.loads((kdir / "landing.json").read_text())[0]["city"]
    assert any(c["id"] == used for c in cities)
    orphan = _refusal(admin, kdir, upload({"retire": [used]}), "cities.json")
    assert any(p.field == "city" and used in p.message for p in orphan.problems)
    typo = new_aid(kdir)
    typo["amout"] = "x"
    assert any(p.field == "amout" for p in
               _refusal(admin, kdir, upload(typo), "aid.json").problems)
    expired = new_aid(kdir)
    expired.update(status="active", valid_to="2020-01-01")
    assert any(p.field == "status" for p in
               _refusal(admin, kdir, upload(expired), "aid.json").problems)


# --- hostile inputs: each refused by file, record and field, never a crash -------------------


def places(refusal: Any) -> list[tuple[str, str | None, str | None]]:
    return [(p.file, p.record, p.field) for p in refusal.problems]


def us_allowance(kdir: Path, value: str) -> bytes:
    """vie_countries.json upserting the US record with its first allowance written as `value`."""
    record = next(r for r in json.loads((kdir / "vie_countries.json").read_text())
                  if r["id"] == "us")
    record["allowances"][0]["geographic_eur"] = 1.5  # a marker replaced by the raw text
    text = json.dumps({"upsert": [record]}).replace('"geographic_eur": 1.5',
                                                     f'"geographic_eur": {value}', 1)
    return text.encode()


def test_amounts_json_cannot_hold_or_too_large_are_refused(admin: KnowledgeAdmin,
                                                           kdir: Path) -> None:
    field = ("vie_countries.json", "us", "allowances.0.geographic_eur")
    for value in ("1e308", "Infinity", "-Infinity", "NaN", "1e999", "1" * 5000, "1000000001"):
        refusal = _refusal(admin, kdir, us_allowance(kdir, value), "vie_countries.json")
        assert refusal.kind is RefusalKind.invalid, value
        assert places(refusal) == [field], (value, places(refusal))
    nan = new_aid(kdir)
    nan["criteria"] = [{"field": "turnover_eur", "op": "max", "value": 1.5,
                        "text": {"fr": "CA", "en": "Turnover"}}]
    data = upload({"upsert": [nan]}).replace(b'"value": 1.5', b'"value": NaN')
    refusal = _refusal(admin, kdir, data, "aid.json")
    assert places(refusal) == [("aid.json", "test-new-scheme", "criteria.0.value")]
    assert "NaN" in refusal.problems[0].message
    nan["criteria"][0]["value"] = 1e300  # a finite double, far above any threshold
    refusal = _refusal(admin, kdir, upload(nan), "aid.json")
    assert places(refusal) == [("aid.json", "test-new-scheme", "criteria.0.value")]


def test_deep_nesting_and_duplicate_keys_are_refused(admin: KnowledgeAdmin,
                                                     kdir: Path) -> None:
    for depth in (100_000, 500, 17):
        refusal = _refusal(admin, kdir, b"[" * depth + b"]" * depth, "aid.json")
        assert refusal.kind is RefusalKind.invalid
        assert all(p.file == "aid.json" and "nested more than 16 levels" in p.message
                   for p in refusal.problems) and len(refusal.problems) == 1
    record = new_aid(kdir)
    text = json.dumps({"upsert": [record]})
    twice = text.replace('"provider": ', '"provider": "Quelqu\'un", "provider": ', 1)
    twice = twice.replace('"fr": ', '"fr": "a", "fr": ', 1)  # in the name
    refusal = _refusal(admin, kdir, twice.encode(), "aid.json")
    assert sorted(places(refusal)) == [("aid.json", "test-new-scheme", "name.fr"),
                                       ("aid.json", "test-new-scheme", "provider")]
    assert all("more than once" in p.message for p in refusal.problems)


def test_a_record_holds_no_more_than_its_bounds(admin: KnowledgeAdmin, kdir: Path) -> None:
    from bot.kb import models

    big = new_aid(kdir)
    criterion = {"field": "headcount", "op": "max", "value": 250,
                 "text": {"fr": "≤ 250 salariés", "en": "≤ 250 staff"}}
    big["criteria"] = [criterion] * 1_000  # (10,000 made about 90 messages per plan)
    big["conditions"] = [{"fr": "x", "en": "x"}] * (models.MAX_CONDITIONS + 1)
    big["summary"] = {"fr": "é" * (models.MAX_TEXT_CHARS + 1), "en": "ok"}
    big["provider"] = "p" * (models.MAX_NAME_CHARS + 1)
    refusal = _refusal(admin, kdir, upload(big), "aid.json")
    assert sorted(p.field or "" for p in refusal.problems) == [
        "conditions", "criteria", "provider", "summary.fr"]
    assert all(p.record == "test-new-scheme" for p in refusal.problems)
    # At the bound, it goes through.
    big["criteria"] = [criterion] * models.MAX_CRITERIA
    big["conditions"] = big["conditions"][:models.MAX_CONDITIONS]
    big["summary"] = {"fr": "é" * models.MAX_TEXT_CHARS, "en": "ok"}
    big["provider"] = "p" * models.MAX_NAME_CHARS
    assert admin.propose_upload(upload(big), "aid.json").ok


def test_input_shown_back_is_cut_short(admin: KnowledgeAdmin, kdir: Path) -> None:
    """A huge key or id in an upload is not echoed whole (it would be hundreds of messages)."""
    refusal = _refusal(admin, kdir, upload({"k" * 500_000: [], "x": []}), "anything.json")
    assert refusal.kind is RefusalKind.bad_format and len(str(refusal)) < 500
    huge = new_aid(kdir, "A" * 500_000)
    refusal = _refusal(admin, kdir, upload({"upsert": [huge, huge]}), "aid.json")
    assert refusal.problems and all(len(str(p)) < 500 for p in refusal.problems)


def test_a_broken_live_file_or_backup_is_named(admin: KnowledgeAdmin, kdir: Path) -> None:
    p = admin.propose_upload(upload(new_aid(kdir)), "aid.json")
    assert p.changes is not None
    admin.apply(p.changes, "a")
    good, other = (kdir / "aid.json").read_bytes(), upload(new_aid(kdir, "x"))
    (kdir / "aid.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    for call in (lambda: admin.status(5), lambda: admin.propose_rollback(),
                 lambda: admin.propose_upload(other, "aid.json")):
        with pytest.raises(Unreadable) as broken:
            call()
        assert broken.value.backup is None
        assert [str(p) for p in broken.value.problems] == [
            "aid.json: nested more than 16 levels deep"]
    (kdir / "aid.json").write_bytes(good)
    backup = admin.backup_dir / BASE_VERSION / "landing.json"
    backup.write_text('[{"id": "x", "id": "y"}]')
    for call in (lambda: admin.propose_rollback(BASE_VERSION),
                 lambda: admin.rollback(BASE_VERSION, "a")):
        with pytest.raises(Unreadable) as broken:
            call()
        assert broken.value.backup == BASE_VERSION
        assert [str(p) for p in broken.value.problems] == [
            f"kb_backups/{BASE_VERSION}/landing.json [y] id: this key is written more than "
            "once; keep one"]
    assert (kdir / "aid.json").read_bytes() == good  # nothing was changed


# --- concurrency, rollback, backups -----------------------------------------------------------


def test_an_apply_against_an_older_base_is_a_conflict(admin: KnowledgeAdmin,
                                                      kdir: Path) -> None:
    mine = admin.propose_upload(upload(new_aid(kdir, "mine")), "aid.json")
    theirs = admin.propose_upload(upload(new_aid(kdir, "theirs")), "aid.json")
    assert mine.changes is not None and theirs.changes is not None
    assert admin.apply(theirs.changes, "b", base_version=theirs.base_version).status == "applied"
    after = snapshot(kdir)
    result = admin.apply(mine.changes, "a", base_version=mine.base_version)
    assert result.status == "conflict" and result.version == FIRST
    assert snapshot(kdir) == after


def test_two_admins_applying_at_once_give_one_version(admin: KnowledgeAdmin,
                                                      kdir: Path, tmp_path: Path) -> None:
    others = [KnowledgeAdmin(kdir, tmp_path / "data", clock=FixedClock.on(TODAY)) for _ in range(4)]
    proposals = [a.propose_upload(upload(new_aid(kdir, f"scheme-{i}")), "aid.json")
                 for i, a in enumerate(others)]
    results: list[Any] = []
    barrier = threading.Barrier(len(others))

    def run(a: KnowledgeAdmin, p: Any) -> None:
        barrier.wait()
        results.append(a.apply(p.changes, "x", base_version=p.base_version))

    threads = [threading.Thread(target=run, args=pair) for pair in zip(others, proposals,
                                                                        strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == ["applied", "conflict", "conflict", "conflict"]
    kb, _ = admin.load()
    assert sum(rid.startswith("scheme-") for rid in kb.aid) == 1
    assert len(admin.history()) == 1


def test_rollback_restores_the_earlier_content(admin: KnowledgeAdmin, kdir: Path) -> None:
    original = collections(kdir)
    with pytest.raises(LookupError):
        admin.propose_rollback()
    p = admin.propose_upload(upload({"upsert": [new_aid(kdir)],
                                     "retire": [aid_records(kdir)[0]["id"]]}), "aid.json")
    assert p.changes is not None
    applied = admin.apply(p.changes, "a")
    preview = admin.propose_rollback()
    d = preview.diff.collections["aid"]
    assert d.added == (aid_records(KNOWLEDGE_DIR)[0]["id"],)
    assert d.retired == ("test-new-scheme",)
    back = admin.rollback(None, "b", base_version=applied.version)
    assert back.status == "applied" and back.version == SECOND
    assert collections(kdir) == original
    assert admin.history()[0]["action"] == "rollback"
    assert admin.history()[0]["source"] == BASE_VERSION
    assert admin.backups() == [applied.version, BASE_VERSION]
    with pytest.raises(LookupError):
        admin.propose_rollback("1999.01.01-1")


def test_only_the_last_backups_are_kept(admin: KnowledgeAdmin, kdir: Path) -> None:
    versions = []
    for i in range(KEEP_BACKUPS + 2):
        p = admin.propose_upload(upload(new_aid(kdir, f"s-{i}")), "aid.json")
        assert p.changes is not None
        versions.append(admin.apply(p.changes, "a").version)
    kept = admin.backups()
    assert len(kept) == KEEP_BACKUPS
    assert kept[0] == versions[-2] and BASE_VERSION not in kept
    # numbered on from the first apply: -N, -N+1, ... one per apply
    first = int(FIRST.rsplit("-", 1)[1])
    assert versions == [f"{FIRST.rsplit('-', 1)[0]}-{first + i}" for i in range(KEEP_BACKUPS + 2)]


def test_history_skips_a_torn_last_line(admin: KnowledgeAdmin, kdir: Path) -> None:
    p = admin.propose_upload(upload(new_aid(kdir)), "aid.json")
    assert p.changes is not None
    admin.apply(p.changes, "a")
    with open(admin.audit_path, "a") as handle:
        handle.write('{"at": "2026-')
    assert [e["who"] for e in admin.history()] == ["a"]


# --- crash safety -----------------------------------------------------------------------------


def test_a_crash_after_the_commit_point_is_finished_by_the_next_reader(
        admin: KnowledgeAdmin, kdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = admin.propose_upload(upload(new_aid(kdir)), "aid.json")
    assert p.changes is not None
    real_replace = os.replace
    moved: list[str] = []

    def crash_midway(src: Any, dst: Any) -> None:
        if Path(src).parent.name == PENDING and Path(src).name != MANIFEST:
            if len(moved) == 3:
                raise OSError("killed")
            moved.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_midway)
    with pytest.raises(OSError):
        admin.apply(p.changes, "a")
    monkeypatch.setattr(os, "replace", real_replace)
    assert (kdir / PENDING / MANIFEST).exists()  # three files moved, the rest staged
    kb, _ = admin.load()
    assert kb.version == FIRST and "test-new-scheme" in kb.aid
    assert not (kdir / PENDING).exists()


def test_a_crash_before_the_commit_point_leaves_the_old_version(
        admin: KnowledgeAdmin, kdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(kdir)
    p = admin.propose_upload(upload(new_aid(kdir)), "aid.json")
    assert p.changes is not None
    real_replace = os.replace

    def crash_at_manifest(src: Any, dst: Any) -> None:
        if Path(dst).name == MANIFEST:
            raise OSError("killed")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_at_manifest)
    with pytest.raises(OSError):
        admin.apply(p.changes, "a")
    monkeypatch.setattr(os, "replace", real_replace)
    assert (kdir / PENDING).exists()
    assert admin.load()[0].version == BASE_VERSION
    assert snapshot(kdir) == before and not (kdir / PENDING).exists()


KILLS = 15
CHILD = """
import datetime as dt, json, sys
from pathlib import Path
from bot.clock import FixedClock
from bot.kb.admin import KnowledgeAdmin

admin = KnowledgeAdmin(Path(sys.argv[1]), Path(sys.argv[2]), FixedClock.on(dt.date(2026, 12, 2)))
template = json.loads((Path(sys.argv[1]) / "aid.json").read_text())[0]
print("ready", flush=True)
while True:
    kb, _ = admin.load()
    n = sum(rid.startswith("kill-") for rid in kb.aid) + 1
    record = {**template, "id": f"kill-{n}"}
    changes = {"aid": {"upsert": [record], "retire": []},
               "meta": {"verification_horizon_months": 100 + n}}
    result = admin.apply(changes, "child")
    print(result.version, n, flush=True)
"""


@pytest.mark.realtime
def test_sigkill_during_applies_leaves_one_whole_version(kdir: Path, tmp_path: Path) -> None:
    """Every apply rewrites all the files; after a kill at any moment, the files (read after
    recovery) are all from one version: meta's horizon and the aid records agree."""
    rng = random.Random(20261126)
    root = Path(__file__).resolve().parents[2]
    acknowledged = 0
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(kdir), str(tmp_path / "d")],
                                 stdout=subprocess.PIPE, text=True, cwd=root)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.8))  # wide enough for applies to land on a loaded machine
        os.kill(child.pid, signal.SIGKILL)
        lines = child.stdout.read().split("\n")
        child.wait()
        done = [int(line.split()[1]) for line in lines if line.strip()]
        acknowledged = max([acknowledged, *done])
        admin = KnowledgeAdmin(kdir, tmp_path / "d", clock=FixedClock.on(TODAY))
        kb, _ = admin.load()  # loads, whatever the moment of the kill
        n = sum(rid.startswith("kill-") for rid in kb.aid)
        horizon = kb.meta.verification_horizon_months
        assert (n, horizon) == (0, 12) or horizon == 100 + n, (n, horizon)
        assert n >= acknowledged  # no acknowledged apply lost
        assert not (kdir / PENDING).exists()
    assert acknowledged > KILLS  # the kills did land between and during applies


def test_versions_order_by_number_not_by_text() -> None:
    from bot.kb.admin import version_key

    versions = ["2026.12.02-3", "2026.12.02-24", "2026.11.30-9", "2026.12.02-10"]
    assert sorted(versions, key=version_key) == [
        "2026.11.30-9", "2026.12.02-3", "2026.12.02-10", "2026.12.02-24"]
    assert next_version(TODAY, versions) == "2026.12.02-25"
