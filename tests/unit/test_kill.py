"""Kill test: a child process writing state is killed with SIGKILL at random moments.

After every kill each file still loads and every write the child acknowledged is there
(acknowledged = put() returned, the child then printed the key).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.storage.journal import JournalStore

KILLS = 50
CHILD = """
import asyncio, sys
from pathlib import Path
from bot.storage.journal import JournalStore

async def main() -> None:
    store = JournalStore(Path(sys.argv[1]), min_compact=300, compact_factor=2)
    start = int(sys.argv[2])
    for i in range(start, start + 10**9):
        await store.put("users", str(i % 500), {"i": i, "pad": "x" * (i % 300)})
        await store.put("seq", "last", i)
        print(i, flush=True)

asyncio.run(main())
"""


@pytest.mark.realtime
def test_sigkill_at_random_moments_never_corrupts_or_loses_acknowledged_writes(
        tmp_path: Path) -> None:
    rng = random.Random(20261126)
    directory = tmp_path / "state"
    next_start = 0
    root = Path(__file__).resolve().parents[2]
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(directory), str(next_start)],
                                 stdout=subprocess.PIPE, text=True, cwd=root)
        assert child.stdout is not None
        first = child.stdout.readline()  # wait until it is writing
        assert first.strip(), "the child did not start"
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        acknowledged = [int(x) for x in (first + rest).split()]
        last = acknowledged[-1]

        store = JournalStore(directory)  # must load, whatever the moment of the kill
        assert store.get_sync("seq", "last") >= last
        for i in acknowledged[-500:]:
            value = store.get_sync("users", str(i % 500))
            assert value is not None and value["i"] >= i
        next_start = store.get_sync("seq", "last") + 1
        store.close_sync()
