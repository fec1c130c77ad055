"""`python tests/run_bot.py ARGS` is `python -m bot ARGS` with the clock fixed in process: time
runs from TEST_CLOCK_START (ISO date-time, default the tests' day), whatever the machine's date.
The tests start the bot this way, so none depends on the day it runs (see tests/conftest.py)."""

import datetime as dt
import os
import sys

from bot.__main__ import main
from bot.clock import ShiftedClock

start = dt.datetime.fromisoformat(os.environ.get("TEST_CLOCK_START", "2026-12-02T09:00:00+00:00"))
sys.exit(main(sys.argv[1:], clock=ShiftedClock(start)))
