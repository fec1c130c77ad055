"""The one clock: every "today" and "now" the bot uses comes from here, so tests can fix it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field


class Clock:
    """The real time. `now()` is aware UTC; `today()` is the UTC date; `monotonic()` for
    intervals (rate limits, pacing), which must not jump when the wall clock does."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.now().date()

    def monotonic(self) -> float:
        return time.monotonic()

    def stamp(self) -> str:
        """`now()` as the ISO text stored in records (seconds)."""
        return self.now().isoformat(timespec="seconds")


@dataclass
class FixedClock(Clock):
    """A clock that moves only when told (tests, benchmarks, replays)."""

    at: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    ticks: float = 0.0

    def now(self) -> dt.datetime:
        return self.at

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)
        self.ticks += seconds

    @classmethod
    def on(cls, day: dt.date) -> FixedClock:
        return cls(dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=dt.UTC))


SYSTEM_CLOCK = Clock()


class ShiftedClock(Clock):
    """Real time running from a chosen start: a process started by a test, or a replay."""

    def __init__(self, start: dt.datetime) -> None:
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)
