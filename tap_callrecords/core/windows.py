"""Date windows: the unit of work and of progress for every stream.

A window is ``[start, end)``: inclusive start, exclusive end, so consecutive windows
neither overlap nor leave gaps. Streams request one window at a time and move their
bookmark to a window's end only once every record in it has been emitted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from tap_callrecords.core.convert import UTC


def utc_now() -> datetime:
    """The tap's "now", which every run's range ends at (less the data latency).

    One function, looked up through this module at each call, so that a scheduler test
    can move the tap's clock in step with the sandbox's and run the tap in process.
    """
    return datetime.now(UTC)


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        """The window as messages name it: ``<start> to <end>`` in ISO 8601."""
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the window."""
        return self.start <= moment < self.end


def floor_to_day(moment: datetime) -> datetime:
    """Midnight UTC of the day holding ``moment``."""
    utc = moment.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def iter_windows(
    start: datetime,
    end: datetime,
    step: timedelta,
    align: Callable[[datetime], datetime] | None = None,
) -> Iterator[Window]:
    """Yield consecutive windows covering ``[start, end)``, empty ones included.

    With ``align``, boundaries after the first fall on ``align(start) + k * step``
    (for example whole UTC days), so a resumed run asks the vendor for the same
    ranges a fresh run would.
    """
    if step <= timedelta(0):
        raise ValueError("window step must be positive")
    boundary = (align(start) if align else start) + step
    cursor = start
    while cursor < end:
        window_end = min(boundary, end)
        yield Window(cursor, window_end)
        cursor = window_end
        boundary += step


def sync_range(
    *,
    start_date: datetime,
    end_date: datetime | None,
    now: datetime,
    latency: timedelta,
    bookmark: datetime | None,
    lookback: timedelta,
) -> Window:
    """The range one run covers.

    It starts at the bookmark minus the lookback (never before ``start_date``) and ends
    at ``end_date``, but never later than now minus the vendor's data latency, so
    windows that may still be filling are never claimed as done (a bookmark in the
    future would make later runs skip the calls made until then), and no vendor is
    asked for a range in the future (some reject it).
    """
    start = start_date if bookmark is None else max(start_date, bookmark - lookback)
    complete = now - latency
    end = complete if end_date is None else min(end_date, complete)
    return Window(start, max(start, end))
