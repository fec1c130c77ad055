"""The bot started on damaged data: one line naming the file and what to do, never a traceback,
never a start that silently drops users."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.kb.admin import MANIFEST, PENDING
from bot.storage.database import KNOWLEDGE_FILE
from bot.storage.journal import SNAPSHOT, JournalStore
from tests.conftest import BOT_COMMAND, KNOWLEDGE_DIR

USERS = 5


def make_state(data: Path) -> Path:
    """A state folder as a running bot leaves it: a snapshot, then two more journals."""
    state = data / "state"
    store = JournalStore(state)
    for i in range(USERS - 2):
        store.put_sync("users", str(i), {"id": i, "name": "Hélène"})
    store.compact_now()
    store.close_sync()
    for i in (USERS - 2, USERS - 1):
        store = JournalStore(state)
        store.put_sync("users", str(i), {"id": i, "name": "Zoé"})
        store.close_sync()
    return state


def journals(state: Path) -> list[Path]:
    return sorted(state.glob("journal.*.jsonl"), key=lambda p: int(p.suffixes[0][1:]))


def start(tmp_path: Path, knowledge: Path = KNOWLEDGE_DIR) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(DATA_DIR=str(tmp_path / "data"), KNOWLEDGE_DIR=str(knowledge))
    return subprocess.run([*BOT_COMMAND, "console"], input="", text=True, capture_output=True,
                          cwd=tmp_path, env=env, timeout=120, check=False)


def garbage_snapshot(state: Path) -> str:
    (state / SNAPSHOT).write_text("[]")
    return SNAPSHOT


def torn_snapshot(state: Path) -> str:
    data = (state / SNAPSHOT).read_bytes()
    (state / SNAPSHOT).write_bytes(data[: len(data) // 2])
    return SNAPSHOT


def missing_snapshot(state: Path) -> str:
    (state / SNAPSHOT).unlink()  # the journals left only hold what came after it
    return SNAPSHOT


def journal_gap(state: Path) -> str:
    missing = journals(state)[-2]
    missing.unlink()
    return missing.name


def garbage_in_a_journal(state: Path) -> str:
    journal = next(p for p in journals(state) if p.stat().st_size)
    journal.write_bytes(b"\x00garbage\n" + journal.read_bytes())
    return journal.name


def garbage_tinydb(state: Path) -> str:
    (state.parent / KNOWLEDGE_FILE).write_text('{"versions": [1, 2')
    return KNOWLEDGE_FILE


@pytest.mark.parametrize("damage", [garbage_snapshot, torn_snapshot, missing_snapshot,
                                    journal_gap, garbage_in_a_journal, garbage_tinydb])
def test_a_damaged_state_file_stops_the_start_with_one_line(
        tmp_path: Path, damage: Callable[[Path], str]) -> None:
    state = make_state(tmp_path / "data")  # starts when undamaged: see the torn-line test
    name = damage(state)
    kept = {p.name: p.read_bytes() for p in state.iterdir() if p.name != ".lock"}
    done = start(tmp_path)
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Storage error: "), done.stderr
    assert name in lines[0] and "restore" in lines[0]
    # Nothing was rewritten or dropped on the way.
    assert {p.name: p.read_bytes() for p in state.iterdir() if p.name != ".lock"} == kept


def test_a_damaged_pending_apply_stops_the_start_with_one_line(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, knowledge, ignore=shutil.ignore_patterns(".lock", PENDING))
    (knowledge / PENDING).mkdir()
    (knowledge / PENDING / MANIFEST).write_text('{"files": ')
    done = start(tmp_path, knowledge)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Knowledge base error: "), done.stderr
    assert MANIFEST in lines[0] and "kb check" in lines[0]
    assert (knowledge / PENDING / MANIFEST).exists()  # left for the admin to look at


def test_a_torn_last_line_is_recovered_and_the_users_kept(tmp_path: Path) -> None:
    state = make_state(tmp_path / "data")
    last = journals(state)[-1]
    data = last.read_bytes()
    last.write_bytes(data[: data.rindex("é".encode()) + 1])  # cut inside the last "é"
    done = start(tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    store = JournalStore(state)
    assert [store.get_sync("users", str(i)) is not None for i in range(USERS)] == [
        True] * (USERS - 1) + [False]
    store.close_sync()


def test_a_format_1_snapshot_still_loads(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / SNAPSHOT).write_text(json.dumps({"users": {"7": json.dumps({"id": 7})}}))
    store = JournalStore(state)
    assert store.get_sync("users", "7") == {"id": 7}
    store.close_sync()
