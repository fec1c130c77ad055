"""The journal store under faults: a rotation that cannot create its file, torn UTF-8 lines."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage.journal import JournalStore

ROOT = Path(__file__).resolve().parents[2]

# The child fails the rotation for real, then lets it succeed: FAULT is "readonly" (the state
# folder made read-only, as a non-root user: root ignores permissions) or "handles" (no file
# handle left). It prints what the store answered at each step.
CHILD = """
import asyncio, os, resource, sys, time
from pathlib import Path
from bot.storage.journal import JournalStore

directory, fault = Path(sys.argv[1]), sys.argv[2]

def break_it():
    if fault == "readonly":
        os.chmod(directory, 0o555)
    else:
        open_now = len(os.listdir("/proc/self/fd")) - 1  # less the one listdir used
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_now, LIMITS[1]))

def mend_it():
    if fault == "readonly":
        os.chmod(directory, 0o755)
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, LIMITS)

LIMITS = resource.getrlimit(resource.RLIMIT_NOFILE)

async def main():
    store = JournalStore(directory, fsync_interval=0.05, retry_seconds=0.2)
    await store.put("users", "1", {"name": "Zoé"})
    await store.put("users", "2", {"name": "Léa"})
    await asyncio.to_thread(time.sleep, 0)  # the worker thread exists before the fault
    break_it()
    await store.delete("users", "1")
    print("purge", await store.purge(), flush=True)  # as /forget does
    await store.put("users", "3", {"name": "Inès"})  # every later write still lands
    print("write ok", flush=True)
    mend_it()
    for _ in range(200):  # the store retries by itself
        if not any("Zoé" in p.read_text(encoding="utf-8") for p in directory.iterdir()
                   if p.is_file()):
            break
        time.sleep(0.05)
    else:
        print("never retried", flush=True)
    await store.put("users", "4", {"name": "Noé"})
    store.close_sync()
    print("closed", flush=True)

asyncio.run(main())
"""


# Root ignores permissions: its child gives up the capabilities that let it (util-linux).
AS_AN_ORDINARY_USER = ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def run_child(directory: Path, fault: str) -> subprocess.CompletedProcess[str]:
    directory.mkdir()
    prefix: tuple[str, ...] = ()
    if fault == "readonly" and os.geteuid() == 0:
        if shutil.which(AS_AN_ORDINARY_USER[0]) is None:
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        prefix = AS_AN_ORDINARY_USER
    return subprocess.run([*prefix, sys.executable, "-c", CHILD, str(directory), fault],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)


@pytest.mark.realtime  # the retry waits on timers that libfaketime stalls
@pytest.mark.parametrize("fault", ["readonly", "handles"])
def test_a_failed_rotation_keeps_writing_and_is_retried(state_dir: Path, fault: str) -> None:
    done = run_child(state_dir, fault)
    assert done.returncode == 0, done.stderr
    # /forget's purge says it did not reach the disk; the writes after it are not refused.
    assert done.stdout.split("\n")[:3] == ["purge False", "write ok", "closed"], done.stdout
    assert "retrying in" in done.stderr  # the warning in the log
    store = JournalStore(state_dir)
    assert store.get_sync("users", "1") is None
    assert [store.get_sync("users", k)["name"] for k in ("2", "3", "4")] == ["Léa", "Inès", "Noé"]
    store.close_sync()
    # The retried compaction removed the deleted record from every file.
    assert not any("Zoé" in p.read_text(encoding="utf-8") for p in state_dir.iterdir()
                   if p.is_file())


async def test_a_last_line_torn_inside_an_accent_is_skipped(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    await store.put("users", "1", {"name": "Zoé"})
    await store.put("users", "2", {"name": "Hélène"})
    await store.close()
    journal = next(tmp_path.glob("journal.*.jsonl"))
    data = journal.read_bytes()
    cut = data.rindex("é".encode()) + 1  # one byte into the last "é"
    journal.write_bytes(data[:cut])
    again = JournalStore(tmp_path)  # starts: no UnicodeDecodeError
    assert await again.get("users", "1") == {"name": "Zoé"}
    assert await again.get("users", "2") is None  # the write that was cut
    await again.put("users", "3", {"name": "Noé"})
    await again.close()
    assert (await JournalStore(tmp_path).get("users", "3")) == {"name": "Noé"}


async def test_a_failed_write_leaves_no_partial_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A write cut short (a full disk) is not acknowledged and leaves nothing to replay."""
    import bot.storage.journal as journal_module

    store = JournalStore(tmp_path)
    await store.put("users", "1", {"name": "Zoé"})
    real_write = os.write

    def disk_full_after_ten_bytes(fd: int, data: bytes) -> int:
        real_write(fd, data[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_module.os, "write", disk_full_after_ten_bytes)
    with pytest.raises(OSError):
        await store.put("users", "2", {"name": "Léa"})
    monkeypatch.setattr(journal_module.os, "write", real_write)
    await store.put("users", "3", {"name": "Inès"})
    await store.close()
    lines = [line for p in tmp_path.glob("journal.*.jsonl")
             for line in p.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2 and all(line.startswith('{"n":"users"') for line in lines)
    again = JournalStore(tmp_path)
    assert await again.get("users", "2") is None
    assert await again.get("users", "3") == {"name": "Inès"}
    await again.close()


@pytest.mark.realtime  # waits on the store's timer, which libfaketime stalls
async def test_a_deletion_left_on_disk_by_a_stop_is_compacted_after_the_restart(
        tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    await store.put("users", "1", {"name": "Zoé"})
    await store.put("users", "2", {"name": "Léa"})
    await store.delete("users", "1")
    store.close_sync()  # stopped before any purge: the journal still holds the name

    def on_disk(text: str) -> bool:
        return any(text in p.read_text(encoding="utf-8") for p in tmp_path.iterdir()
                   if p.is_file())

    assert on_disk("Zoé")
    again = JournalStore(tmp_path, fsync_interval=0.05)
    for _ in range(200):
        if not on_disk("Zoé"):
            break
        await asyncio.sleep(0.05)
    assert not on_disk("Zoé") and await again.get("users", "2") == {"name": "Léa"}
    await again.close()
