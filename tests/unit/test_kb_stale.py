"""Re-verification (`/kb stale`) on a real copy of knowledge/: the records past the horizon in
order, "still true" as a versioned, audited recheck that refuses a record changed since it was
shown, the record exported for editing and accepted back; then the walk in Telegram, in process
(the real Dispatcher on a LocalSession): a double tap, a restart, English, a non-admin."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage
from aiogram.types import Message

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.console import LocalSession
from bot.kb.admin import BACKUPS, KnowledgeAdmin, dump, next_version
from bot.kb.check import review_raw
from bot.kb.loader import COLLECTIONS, LIST_FILES
from bot.kb.models import horizon_start
from bot.kb.stale import find, fingerprint, for_editing, stale_records, still_true, title
from tests.conftest import KNOWLEDGE_DIR, TODAY, make_settings
from tests.dialog.driver import ChatDriver, plain

BASE_VERSION = json.loads((KNOWLEDGE_DIR / "meta.json").read_text())["version"]
ADMIN, ENGLISH_ADMIN, STRANGER = 900, 901, 920


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns(".lock", ".pending"))
    return target


@pytest.fixture
def admin(kdir: Path, tmp_path: Path) -> KnowledgeAdmin:
    return KnowledgeAdmin(kdir, tmp_path / "data", clock=FixedClock.on(TODAY))


def files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / f"{name}.json").read_bytes() for name in COLLECTIONS}


def live_record(kdir: Path, collection: str, rid: str | None) -> dict[str, Any]:
    rec = find({collection: json.loads((kdir / f"{collection}.json").read_text())},
               collection, rid)
    assert rec is not None, (collection, rid)
    return rec


def a_dated_stale_list_record(admin: KnowledgeAdmin) -> tuple[str, str]:
    """A record of a list collection whose first source has a date, before the horizon."""
    kb, _ = admin.load()
    item = next(i for i in stale_records(kb, TODAY)
                if i.dated is not None and i.collection in LIST_FILES)
    assert item.id is not None
    return item.collection, item.id


# --- the engine -----------------------------------------------------------------------------


def test_never_dated_records_come_first_then_the_oldest(admin: KnowledgeAdmin) -> None:
    kb, raw = admin.load()
    items = stale_records(kb, TODAY)
    horizon = horizon_start(TODAY, kb.meta.verification_horizon_months)
    assert items, "the shipped base has records past the horizon"
    undated = [i for i in items if i.dated is None]
    dated = [i for i in items if i.dated is not None]
    assert items == undated + dated  # never-dated ones first
    days = [i.dated for i in dated if i.dated is not None]
    assert days == sorted(days) and len(days) == len(dated)  # then oldest first
    assert all(day < horizon for day in days)
    # exactly the records `kb check` lists as due, each shown with its first source
    _, report = review_raw(raw, TODAY)
    assert {(i.collection, i.id) for i in items} == {
        (p.file.removesuffix(".json"), p.record) for p in report.stale}
    assert len(items) == len(report.stale)
    for i in items[:20]:
        rec = getattr(kb, i.collection) if i.id is None else getattr(kb, i.collection)[i.id]
        assert i.source == rec.sources[0]
    # a longer horizon leaves fewer due; undated records are due whatever the horizon
    longer = stale_records(kb, TODAY, horizon_months=120)
    assert len(longer) <= len(items)
    assert [i for i in longer if i.dated is None] == undated


def test_still_true_sets_only_the_first_sources_check_to_today(admin: KnowledgeAdmin) -> None:
    kb, raw = admin.load()
    for item in stale_records(kb, TODAY)[:1] + [
            next(i for i in stale_records(kb, TODAY) if i.dated is not None)]:
        before = find(raw, item.collection, item.id)
        changes = still_true(raw, item.collection, item.id, TODAY)
        assert before is not None and changes is not None
        payload = changes[item.collection]
        after = payload["upsert"][0] if item.collection in LIST_FILES else payload
        if item.collection in LIST_FILES:
            assert payload == {"upsert": [after], "retire": []}
        first, was = after["sources"][0], before["sources"][0]
        assert first["checked"] == TODAY.isoformat()
        expected = "medium" if was.get("confidence") == "unverified" else was.get("confidence")
        assert first.get("confidence") == expected
        assert {k: v for k, v in first.items() if k not in ("checked", "confidence")} == {
            k: v for k, v in was.items() if k not in ("checked", "confidence")}
        assert after["sources"][1:] == before["sources"][1:]
        assert {k: v for k, v in after.items() if k != "sources"} == {
            k: v for k, v in before.items() if k != "sources"}
        assert find(raw, item.collection, item.id) == before  # the raw base is not touched
    assert still_true(raw, "aid", "no-such-scheme", TODAY) is None


def test_an_unverified_first_source_becomes_medium_once_checked(admin: KnowledgeAdmin) -> None:
    kb, shipped = admin.load()
    item = stale_records(kb, TODAY)[0]
    raw = copy.deepcopy(shipped)  # its first source as an undated, never checked page
    record = find(raw, item.collection, item.id)
    assert record is not None
    record["sources"][0] = {"url": record["sources"][0]["url"], "confidence": "unverified"}
    changes = still_true(raw, item.collection, item.id, TODAY)
    assert changes is not None
    payload = changes[item.collection]
    after = payload["upsert"][0] if item.collection in LIST_FILES else payload
    assert after["sources"][0]["confidence"] == "medium"


def test_recheck_writes_a_new_audited_version_with_a_backup(admin: KnowledgeAdmin, kdir: Path,
                                                           tmp_path: Path) -> None:
    collection, rid = a_dated_stale_list_record(admin)
    _, raw = admin.load()
    before = files(kdir)
    result = admin.recheck(collection, rid, fingerprint(raw, collection, rid), "telegram:1")
    assert result is not None, "recheck refused"
    assert result.status == "applied", result.refusal
    assert result.version == next_version(TODAY, [BASE_VERSION]) and result.previous == BASE_VERSION
    assert result.diff.collections[collection].changed == ((rid, ("sources",)),)
    # the live file: that record's first source checked today, nothing else changed
    rec = live_record(kdir, collection, rid)
    assert rec["sources"][0]["checked"] == TODAY.isoformat()
    after = files(kdir)
    assert [n for n in COLLECTIONS if after[n] != before[n]] == sorted(
        {collection, "meta"}, key=COLLECTIONS.index)
    assert json.loads(after["meta"])["version"] == result.version
    # the audit entry and the backup of the version it replaced
    entry = admin.history()[0]
    assert entry["action"] == "recheck" and entry["who"] == "telegram:1"
    assert entry["previous"] == BASE_VERSION and entry["version"] == result.version
    assert entry["source"] == f"kb stale: {collection} {rid}"
    assert entry["counts"] == {"added": 0, "changed": 1, "retired": 0}
    assert files(tmp_path / "data" / BACKUPS / BASE_VERSION) == before
    # no longer due; the others still are
    kb, _ = admin.load()
    assert (collection, rid) not in {(i.collection, i.id) for i in stale_records(kb, TODAY)}
    # rolling back undoes it
    assert admin.rollback(None, "telegram:1").status == "applied"
    assert {n: v for n, v in files(kdir).items() if n != "meta"} == {
        n: v for n, v in before.items() if n != "meta"}


def test_recheck_refuses_a_record_changed_or_retired_since_it_was_shown(
        admin: KnowledgeAdmin, kdir: Path) -> None:
    collection, rid = a_dated_stale_list_record(admin)
    _, raw = admin.load()
    seen = fingerprint(raw, collection, rid)
    assert seen == fingerprint(raw, collection, rid)  # stable
    # someone else changes that record meanwhile (an upload)
    changed = copy.deepcopy(find(raw, collection, rid))
    assert changed is not None
    changed["sources"][0]["note"] = "changed meanwhile"
    applied = admin.apply({collection: {"upsert": [changed], "retire": []}}, "telegram:2")
    assert applied.status == "applied", applied.refusal
    after_change = files(kdir)
    assert admin.recheck(collection, rid, seen, "telegram:1") is None
    assert files(kdir) == after_change  # nothing written
    assert [e["action"] for e in admin.history()] == ["apply"]
    assert live_record(kdir, collection, rid)["sources"][0].get("checked") != TODAY.isoformat()
    # a fingerprint of a record that is gone never matches a live one, and recheck refuses it
    assert admin.recheck(collection, "no-such-record", seen, "telegram:1") is None
    assert admin.recheck(collection, "no-such-record",
                         fingerprint(raw, collection, "no-such-record"), "telegram:1") is None
    assert files(kdir) == after_change


def test_for_editing_gives_the_record_that_comes_back_accepted(admin: KnowledgeAdmin,
                                                              kdir: Path) -> None:
    collection, rid = a_dated_stale_list_record(admin)
    _, raw = admin.load()
    document = for_editing(raw, collection, rid)
    assert document == {"upsert": [find(raw, collection, rid)]}
    assert for_editing(raw, collection, "no-such-record") is None
    # unchanged, it changes nothing
    same = admin.propose_upload(dump(document), f"{collection}.json")
    assert same.ok, same.refusal
    assert same.diff.empty
    # with checked set, as the admin sends it back
    document["upsert"][0]["sources"][0]["checked"] = TODAY.isoformat()
    proposal = admin.propose_upload(dump(document), f"{collection}.json")
    assert proposal.ok, proposal.refusal
    assert proposal.diff.collections[collection].changed == ((rid, ("sources",)),)
    assert proposal.changes is not None
    result = admin.apply(proposal.changes, "telegram:1", base_version=proposal.base_version,
                         source=f"{collection}.json")
    assert result.status == "applied"
    assert live_record(kdir, collection, rid)["sources"][0]["checked"] == TODAY.isoformat()


def test_the_single_object_collection_vie_costs_works_too(admin: KnowledgeAdmin,
                                                         kdir: Path) -> None:
    kb, raw = admin.load()
    if not any(i.collection == "vie_costs" for i in stale_records(kb, TODAY)):
        # Made due in this copy: its first source last checked long ago.
        costs = json.loads((kdir / "vie_costs.json").read_text())
        costs["sources"][0].update(checked="2020-01-15")
        (kdir / "vie_costs.json").write_text(json.dumps(costs, ensure_ascii=False, indent=2))
        kb, raw = admin.load()
    item = next(i for i in stale_records(kb, TODAY) if i.collection == "vie_costs")
    assert item.id is None and title(kb, item, "fr") == ""
    document = for_editing(raw, "vie_costs", None)
    assert document == raw["vie_costs"]  # the object itself, as vie_costs.json holds it
    assert isinstance(document, dict)
    # exported and sent back with checked set: accepted
    document["sources"][0]["checked"] = TODAY.isoformat()
    proposal = admin.propose_upload(dump(document), "vie_costs.json")
    assert proposal.ok, proposal.refusal
    assert not proposal.diff.empty
    # ✅ on it: a new version
    result = admin.recheck("vie_costs", None, fingerprint(raw, "vie_costs", None), "telegram:1")
    assert result is not None and result.status == "applied", result and result.refusal
    costs = json.loads((kdir / "vie_costs.json").read_text())
    assert costs["sources"][0]["checked"] == TODAY.isoformat()
    assert admin.history()[0]["source"] == "kb stale: vie_costs"
    kb, _ = admin.load()
    assert "vie_costs" not in {i.collection for i in stale_records(kb, TODAY)}


# --- the walk in Telegram, in process -------------------------------------------------------


def make_app(kdir: Path, data_dir: Path) -> App:
    settings = make_settings(data_dir, knowledge_dir=kdir,
                             admin_ids=f"{ADMIN},{ENGLISH_ADMIN}")
    return build_app(settings, session=LocalSession(), token="42:TEST",
                     clock=FixedClock.on(TODAY))


def texts(sent: list[SendMessage]) -> str:
    return "\n".join(plain(m.text) for m in sent)


def toasts(driver: ChatDriver, mark: int) -> list[str | None]:
    return [r.text for r in driver.session.requests[mark:] if isinstance(r, AnswerCallbackQuery)]


def item_message(driver: ChatDriver) -> Message:
    message = driver.last_keyboard_message()
    assert message.text is not None and "✅" in str(driver.buttons(message))
    return message


async def test_the_walk_in_telegram_double_tap_restart_english_and_strangers(
        kdir: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    kb, _ = KnowledgeAdmin(kdir, data_dir, FixedClock.on(TODAY)).load()
    items = stale_records(kb, TODAY)
    total = len(items)
    app = make_app(kdir, data_dir)
    try:
        admin = ChatDriver(app, ADMIN, "fr")
        first = await admin.send("/kb stale")
        assert f"1 sur {total}" in texts(first)
        assert str(items[0].source.url) in texts(first)
        assert [t for t, _ in admin.buttons()] == ["✅ Toujours vrai", "✏️ À modifier",
                                                   "⏭️ Passer"]
        shown = item_message(admin)
        # ✅ pressed twice on the same message (a double tap): the second press is stale
        mark = len(admin.session.requests)
        checked = await admin.press("Toujours vrai", shown)
        assert "vérifié le 2 décembre 2026" in texts(checked), texts(checked)
        assert f"2 sur {total}" in texts(checked)
        rec = live_record(kdir, items[0].collection, items[0].id)
        assert rec["sources"][0]["checked"] == TODAY.isoformat()
        on_disk = files(kdir)
        again = await admin.press("Toujours vrai", shown)
        assert again == [] and files(kdir) == on_disk  # not applied to item 2
        assert toasts(admin, mark) == [None, "Ce bouton vient d'un ancien message."]
        # ✏️: the record as <collection>.json, then the next one
        second = items[1]
        mark = len(admin.session.requests)
        edited = await admin.press("À modifier")
        documents = [r for r in admin.session.requests[mark:] if isinstance(r, SendDocument)]
        assert len(documents) == 1
        upload = documents[0].document
        assert upload.filename == f"{second.collection}.json"  # type: ignore[union-attr]
        data = json.loads(upload.data)  # type: ignore[union-attr]
        expected = live_record(kdir, second.collection, second.id)
        assert data == ({"upsert": [expected]} if second.id else expected)
        assert f"3 sur {total}" in texts(edited)
        # ⏭️, then a restart: the walk goes on where it was
        skipped = await admin.press("Passer")
        assert f"4 sur {total}" in texts(skipped)
        fourth = item_message(admin)
    finally:
        await app.close()
    app = make_app(kdir, data_dir)
    try:
        admin = ChatDriver(app, ADMIN, "fr")
        after_restart = await admin.press("Toujours vrai", fourth)
        assert "vérifié le" in texts(after_restart) and f"5 sur {total}" in texts(after_restart)
        fourth_rec = live_record(kdir, items[3].collection, items[3].id)
        assert fourth_rec["sources"][0]["checked"] == TODAY.isoformat()
        # /kb shows the button with what is still due; a new walk starts from the top
        home = await admin.send("/kb")
        assert f"Revérifier ({total - 2})" in str(admin.buttons())
        assert home
        restarted = await admin.press("Revérifier")
        assert f"1 sur {total - 2}" in texts(restarted)
        # English
        english = ChatDriver(app, ENGLISH_ADMIN, "en")
        shown_en = await english.send("/kb stale")
        assert f"Due for re-verification · 1 of {total - 2}" in texts(shown_en)
        assert [t for t, _ in english.buttons()] == ["✅ Still true", "✏️ Needs a change",
                                                     "⏭️ Skip"]
        # a non-admin: an unknown command
        stranger = ChatDriver(app, STRANGER, "fr")
        reply = await stranger.send("/kb stale")
        assert "Je ne connais pas cette commande" in texts(reply)
        assert "revérifier" not in texts(reply).lower()
    finally:
        await app.close()
    entries = KnowledgeAdmin(kdir, data_dir).history()
    assert [e["action"] for e in entries] == ["recheck", "recheck"]


async def test_a_check_that_cannot_be_recorded_says_why(kdir: Path, tmp_path: Path) -> None:
    """✅ on a record changed since it was shown records nothing and shows it again as it
    stands; on one retired meanwhile, says so and moves on; while the base fails `kb check`
    (another record's error), lists the errors and moves on."""
    data_dir = tmp_path / "data"
    other = KnowledgeAdmin(kdir, tmp_path / "elsewhere", FixedClock.on(TODAY))
    kb, raw = other.load()
    everything = stale_records(kb, TODAY)
    total = len(everything)
    app = make_app(kdir, data_dir)
    try:
        admin = ChatDriver(app, ADMIN, "fr")
        assert f"1 sur {total}" in texts(await admin.send("/kb stale"))
        # changed meanwhile (another admin, the command line): shown again, nothing recorded
        first = everything[0]
        assert first.collection in LIST_FILES
        rec = find(raw, first.collection, first.id)
        assert rec is not None
        rec["sources"][0]["note"] = "edited meanwhile"
        assert other.apply({first.collection: {"upsert": [rec], "retire": []}},
                           "cli").status == "applied"
        on_disk = files(kdir)
        shown = texts(await admin.press("Toujours vrai"))
        assert "a changé depuis que je vous l'ai montré : rien enregistré" in shown, shown
        assert f"1 sur {total}" in shown and "edited meanwhile" in shown
        assert files(kdir) == on_disk
        # the same record, seen as it is now: recorded
        shown = texts(await admin.press("Toujours vrai"))
        assert "vérifié le 2 décembre 2026" in shown and f"2 sur {total}" in shown
        # retired meanwhile (a landing record: nothing refers to it): said, and the walk
        # moves on; ⏭️ up to it
        j = next(n for n, i in enumerate(everything) if n >= 2 and i.collection == "landing")
        for n in range(1, j):
            assert f"{n + 2} sur {total}" in texts(await admin.press("Passer"))
        gone = everything[j]
        assert other.apply({"landing": {"upsert": [], "retire": [gone.id]}},
                           "cli").status == "applied"
        on_disk = files(kdir)
        shown = texts(await admin.press("Toujours vrai"))
        assert "la fiche a été retirée, rien enregistré" in shown, shown
        assert f"{j + 2} sur {total}" in shown and files(kdir) == on_disk
        # the base fails kb check meanwhile (a scheme past its end still marked active)
        aid = json.loads((kdir / "aid.json").read_text())
        active = next(a for a in aid if a["status"] == "active")
        active["valid_to"] = "2020-01-31"
        (kdir / "aid.json").write_text(json.dumps(aid, ensure_ascii=False, indent=2))
        on_disk = files(kdir)
        shown = texts(await admin.press("Toujours vrai"))
        assert "rien enregistré. La base ne passe pas kb check" in shown, shown
        assert f"aid.json [{active['id']}] status: active but ended 2020-01-31" in shown
        assert f"{j + 3} sur {total}" in shown and files(kdir) == on_disk
        # the end of the walk counts what was done
        state = await app.kv.get("kb_stale", str(ADMIN))
        assert isinstance(state, dict) and state["checked"] == 1
        assert state["skipped"] == j - 1 + 1  # the ⏭️ and the refused ✅
    finally:
        await app.close()


@pytest.mark.parametrize(("locale", "finished", "nothing"), [
    ("fr", "Revérification terminée : 2 confirmée(s), 1 envoyée(s) pour correction, 3 passée(s).",
     "Rien à revérifier : toutes les fiches ont une source vérifiée ou datée depuis moins de 12 "
     "mois."),
    ("en", "Re-verification finished: 2 confirmed, 1 sent for correction, 3 skipped.",
     "Nothing to re-verify: every record has a source checked or dated within 12 months."),
])
def test_the_end_of_the_walk_in_both_languages(renderer: Any, locale: str, finished: str,
                                               nothing: str) -> None:
    done = renderer.render(locale, "kb_stale_done", total=6, checked=2, edited=1, skipped=3,
                           months=12)
    assert finished in plain(done)
    empty = renderer.render(locale, "kb_stale_done", total=0, checked=0, edited=0, skipped=0,
                            months=12)
    assert nothing in plain(empty)
