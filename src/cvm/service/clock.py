"""Clocks a service standard is timed on: elapsed time, or business hours.

Times in a workspace are stored naive, in the workspace's time zone (setting ``timezone``).
A business clock keeps its opening hours, weekly closing days and holidays in its own zone
(by default the workspace's). `Clock.calendar` lays the clock's open time out over a span
of the workspace's days as *pieces*: open intervals in the workspace's naive time, split at
its midnights. Business time from ``a`` to ``b`` is then ``B(b) - B(a)``, where ``B(t)`` is
the open time from the span's first midnight to ``t``:

    B(t) = base(day of t) + sum over the day's pieces (s, e) of clamp(sec(t) - s, 0, e - s)

with ``sec(t)`` the seconds since the naive midnight of ``t``'s day and ``base(d)`` the open
time before day ``d``. The day table (`Calendar.day_table`) holds ``base`` and the pieces of
each day, so the engine computes ``B`` with an equality join on the day and arithmetic;
`Calendar.at` and `Calendar.due` compute it, and its inverse, in numpy.

Every time is taken to the whole second (fractions dropped). Times are compared as stored:
across a daylight-saving change of the workspace's own zone an hour may count too many or
too few; the clock's zone, and its changes, are converted exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from cvm.config import ServiceClock, clock_windows

__all__ = ["Calendar", "Clock", "ELAPSED", "epoch_seconds", "from_epoch"]

ELAPSED = "elapsed"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EPOCH = dt.datetime(1970, 1, 1)
_DAY = 86400


def epoch_seconds(t: dt.datetime | dt.date) -> int:
    """Whole seconds from 1970-01-01 00:00 to the naive time ``t`` (fractions dropped)."""
    if not isinstance(t, dt.datetime):
        t = dt.datetime.combine(t, dt.time())
    return int((t.replace(microsecond=0) - _EPOCH).total_seconds())


def from_epoch(seconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=int(seconds))


@dataclass(frozen=True)
class Clock:
    """Elapsed time (``windows`` None) or business hours in ``zone``."""

    name: str
    windows: tuple[tuple[int, int], ...] | None = None
    closed: frozenset[int] = frozenset()
    holidays: frozenset[dt.date] = frozenset()
    zone: str = "UTC"
    workspace_zone: str = "UTC"

    @classmethod
    def elapsed(cls) -> Clock:
        return cls(ELAPSED)

    @classmethod
    def business(cls, name: str, spec: ServiceClock, workspace_zone: str) -> Clock:
        """The clock ``spec`` (a checked ``service.clocks`` entry) in a workspace's zone."""
        return cls(name, tuple(clock_windows(spec.hours)),
                   frozenset(_WEEKDAYS.index(d) for d in spec.closed),
                   frozenset(dt.date.fromisoformat(d) for d in spec.holidays),
                   spec.timezone or workspace_zone, workspace_zone)

    @property
    def is_elapsed(self) -> bool:
        return self.windows is None

    def open_on(self, day: dt.date) -> bool:
        """Whether the clock runs at all on this day of its own zone."""
        return day.weekday() not in self.closed and day not in self.holidays

    def calendar(self, first: dt.date, last: dt.date) -> Calendar:
        """The clock's open time over the workspace's days ``first`` .. ``last``."""
        if self.is_elapsed:
            raise ValueError("the elapsed clock needs no calendar")
        lo, hi = epoch_seconds(first), epoch_seconds(last + dt.timedelta(days=1))
        here, there = ZoneInfo(self.workspace_zone), ZoneInfo(self.zone)
        spans = []
        day = first - dt.timedelta(days=2)  # the clock's days around the span, either side
        while day <= last + dt.timedelta(days=2):
            if self.open_on(day):
                midnight = dt.datetime.combine(day, dt.time(), tzinfo=there)
                for s, e in self.windows:
                    a, b = (epoch_seconds((midnight + dt.timedelta(seconds=x))
                                          .astimezone(here).replace(tzinfo=None))
                            for x in (s, e))
                    a, b = max(a, lo), min(b, hi)
                    if a < b:
                        spans.append((a, b))
            day += dt.timedelta(days=1)
        starts, ends = [], []
        for a, b in sorted(spans):
            while a < b:  # split at the workspace's midnights
                cut = min(b, (a // _DAY + 1) * _DAY)
                starts.append(a)
                ends.append(cut)
                a = cut
        return Calendar(self, first, last, np.array(starts, dtype=np.int64),
                        np.array(ends, dtype=np.int64))


@dataclass(frozen=True)
class Calendar:
    """A business clock's open pieces over the workspace's days ``first`` .. ``last``:
    ``starts``/``ends`` in naive epoch seconds, sorted, none crossing a midnight."""

    clock: Clock
    first: dt.date
    last: dt.date
    starts: np.ndarray
    ends: np.ndarray

    @property
    def cumulative(self) -> np.ndarray:
        """Open seconds before each piece starts (B at its start)."""
        return np.concatenate([[0], np.cumsum(self.ends - self.starts)[:-1]]).astype(np.int64)

    def at(self, seconds: np.ndarray) -> np.ndarray:
        """B: open seconds from the first day's midnight to each naive epoch second."""
        t = np.asarray(seconds, dtype=np.int64)
        if self.starts.size == 0:
            return np.zeros(t.shape, dtype=np.int64)
        i = np.searchsorted(self.starts, t, side="right") - 1
        j = np.maximum(i, 0)
        inside = np.clip(t - self.starts[j], 0, self.ends[j] - self.starts[j])
        return np.where(i < 0, 0, self.cumulative[j] + inside)

    def due(self, open_seconds: np.ndarray) -> np.ndarray:
        """The naive epoch second at which B reaches each value (the first open moment
        after which that much open time has passed); -1 past the calendar's end."""
        b = np.asarray(open_seconds, dtype=np.int64)
        cum = self.cumulative
        if cum.size == 0:
            return np.full(b.shape, -1, dtype=np.int64)
        i = np.searchsorted(cum, b, side="left") - 1  # last piece starting below b
        j = np.maximum(i, 0)
        out = self.starts[j] + (b - cum[j])
        out = np.where(b <= 0, self.starts[0], out)
        total = cum[-1] + self.ends[-1] - self.starts[-1]
        return np.where(b > total, -1, out)

    def business_seconds(self, a: dt.datetime, b: dt.datetime) -> int:
        """Open seconds between two naive workspace times."""
        x = self.at(np.array([epoch_seconds(a), epoch_seconds(b)]))
        return int(x[1] - x[0])

    def day_table(self) -> pa.Table:
        """One row per workspace day: ``day``, ``base`` (open seconds before it) and the
        day's pieces ``s0``, ``e0``, ``s1``, ``e1``, ... as seconds after its midnight
        (unused pieces 0, 0)."""
        n_days = (self.last - self.first).days + 1
        day0 = epoch_seconds(self.first)
        index = (self.starts - day0) // _DAY
        counts = np.bincount(index, minlength=n_days) if index.size else np.zeros(n_days, int)
        k = max(int(counts.max()) if counts.size else 0, 1)
        s = np.zeros((n_days, k), dtype=np.int64)
        e = np.zeros((n_days, k), dtype=np.int64)
        slot = np.arange(index.size) - np.repeat(np.cumsum(counts) - counts, counts)
        s[index, slot] = self.starts - day0 - index * _DAY
        e[index, slot] = self.ends - day0 - index * _DAY
        midnights = day0 + np.arange(n_days, dtype=np.int64) * _DAY
        cols = {"day": pa.array([self.first + dt.timedelta(days=int(d))
                                 for d in range(n_days)], pa.date32()),
                "base": pa.array(self.at(midnights), pa.int64())}
        for j in range(k):
            cols[f"s{j}"] = pa.array(s[:, j], pa.int64())
            cols[f"e{j}"] = pa.array(e[:, j], pa.int64())
        return pa.table(cols)
