"""The journal store: reload, torn lines, compaction, claims."""

from __future__ import annotations

import json
from pathlib import Path

from bot.storage.journal import SNAPSHOT, JournalStore


async def test_values_survive_a_reopen_and_deletes_stick(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    await store.put("users", "1", {"locale": "fr"})
    await store.put("users", "2", {"locale": "en"})
    await store.put("users", "1", {"locale": "en"})
    await store.delete("users", "2")
    await store.close()
    again = JournalStore(tmp_path)
    assert await again.get("users", "1") == {"locale": "en"}
    assert await again.get("users", "2") is None
    assert [k async for k in again.keys("users")] == ["1"]
    await again.close()


async def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    await store.put("fsm", "a", {"n": 1})
    await store.close()
    journal = next(tmp_path.glob("journal.*.jsonl"))
    with journal.open("a", encoding="utf-8") as handle:
        handle.write('{"n":"fsm","k":"b","v":"{\\"n\\":')  # a write cut by a kill
    again = JournalStore(tmp_path)
    assert await again.get("fsm", "a") == {"n": 1} and await again.get("fsm", "b") is None
    await again.put("fsm", "c", 3)
    await again.close()
    assert await JournalStore(tmp_path).get("fsm", "c") == 3


async def test_compaction_keeps_everything_and_shrinks_the_journal(tmp_path: Path) -> None:
    store = JournalStore(tmp_path, min_compact=50, compact_factor=2)
    for i in range(500):
        await store.put("users", str(i % 20), {"i": i})
    store.compact_now()
    await store.close()
    assert (tmp_path / SNAPSHOT).exists()
    lines = sum(len(p.read_text().splitlines()) for p in tmp_path.glob("journal.*.jsonl"))
    assert lines < 100
    again = JournalStore(tmp_path)
    assert {k: (await again.get("users", k))["i"] for k in [str(i) for i in range(20)]} == {
        str(k): 480 + k for k in range(20)}
    snapshot = json.loads((tmp_path / SNAPSHOT).read_text())
    assert snapshot["format"] == 2 and "users" in snapshot["data"]


async def test_claims_are_once_only_and_bounded(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    assert await store.claim("updates", "10", keep=5) is True
    assert await store.claim("updates", "10", keep=5) is False
    for i in range(11, 40):
        assert await store.claim("updates", str(i), keep=5)
    await store.close()
    again = JournalStore(tmp_path)
    assert await again.claim("updates", "39", keep=5) is False  # survives a restart
    remembered = [k async for k in again.keys("claims:updates")]
    assert len(remembered) <= 10


async def test_seen_reports_claims(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    assert await store.seen("updates", "5") is False
    await store.claim("updates", "5", keep=10)
    assert await store.seen("updates", "5") is True
    await store.close()


async def test_a_second_process_cannot_open_the_same_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = JournalStore(tmp_path)
    probe = ("import sys; from pathlib import Path; from bot.storage.journal import JournalStore;"
             "JournalStore(Path(sys.argv[1]))")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode != 0 and "is in use by another process" in done.stderr
    await store.close()
    reopened = JournalStore(tmp_path)  # released on close
    await reopened.close()
