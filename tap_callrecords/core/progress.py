"""What a person reads while a stream runs: a start line, progress, a closing summary.

At the default log level a stream says, in its own words:

- when it starts: the range, the number of windows, the vendor, and whether it starts
  from ``start_date`` or from a bookmark less the lookback;
- while it runs, at most every :attr:`StreamProgress.interval` seconds (never per window
  nor per request: a window can be an hour long): records so far, records per second and
  how far through the range it is;
- when it ends: records, windows, requests, retries, records skipped (the vendor sent
  them for a wider range than the window) and re-read (inside the lookback), elapsed time.

At DEBUG it also logs one line per window. A stream stopped by an error or a signal says
how far it got (:func:`report_unfinished`).

The stream's record loop counts in local variables and calls :meth:`StreamProgress.tick`
every :attr:`StreamProgress.check_every` records and :meth:`StreamProgress.window_done`
once per window; the clock is read only there, never per record.
"""

from __future__ import annotations

import logging
import time
import typing as t
from datetime import datetime, timedelta

from tap_callrecords.core.convert import UTC, to_utc_iso

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tap_callrecords.core.client import VendorClient
    from tap_callrecords.core.windows import Window


class Reported(t.Protocol):
    """What progress reports need of a stream (a windowed stream is one)."""

    @property
    def name(self) -> str: ...
    @property
    def logger(self) -> logging.Logger: ...
    @property
    def config(self) -> Mapping[str, t.Any]: ...
    @property
    def window_step(self) -> timedelta: ...
    client: VendorClient

#: The stream running now, until it finishes (streams run one after another; one left
#: unfinished when the next starts was abandoned on purpose, e.g. by ``--test``).
_UNFINISHED: list[StreamProgress] = []


def when(moment: datetime) -> str:
    """A moment as the log lines show it: ``2024-07-01 00:00`` (UTC), seconds if any."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S" if utc.second or utc.microsecond else "%Y-%m-%d %H:%M")


def duration(step: timedelta) -> str:
    """``1 hour``, ``14 days``, ``90 minutes``."""
    seconds = int(step.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def plural(count: int, noun: str) -> str:
    """``1 window``, ``3 windows``, ``25,000 records``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class StreamProgress:
    """Counts one stream run and reports on it; built when the stream has its windows."""

    #: Least seconds between two progress lines.
    interval = 15.0
    #: Records between two looks at the clock inside a window.
    check_every = 1000

    def __init__(
        self,
        stream: Reported,
        run: Window,
        windows: Sequence[Window],
        *,
        bookmark: datetime | None,
        name: str | None = None,
    ) -> None:
        self.name = name or stream.name
        self.logger = stream.logger
        self.client = stream.client
        self.run = run
        self.planned = len(windows)
        self.bookmark = bookmark
        #: Records with a replication key before this were emitted by an earlier run.
        self._new_from = to_utc_iso(bookmark) if bookmark is not None else ""
        self.records = 0
        self.skipped = 0
        self.reread = 0
        self.windows = 0
        #: End of the last complete window: everything before it is written.
        self.position = run.start
        self._requests_at_start = self.client.requests_sent
        self._retries_at_start = self.client.retries
        self.started = time.monotonic()
        self._next_report = self.started + self.interval
        self._debug = self.logger.isEnabledFor(logging.DEBUG)
        _UNFINISHED[:] = [self]
        lookback = timedelta(minutes=int(stream.config["lookback_minutes"]))
        self._log_start(windows, stream.window_step, lookback)

    # -- Called from the record loop ------------------------------------------------------

    def new_from(self, low: str, high: str) -> str:
        """Where a window's records stop being re-reads: records of ``[low, new_from)``
        were emitted by an earlier run (the lookback); ``low`` for a window past the bookmark."""
        return min(max(self._new_from, low), high)

    def tick(self, in_window: int) -> int:
        """Called every :attr:`check_every` records inside a window; the next count to call at."""
        now = time.monotonic()
        if now >= self._next_report:
            self._report(now, self.records + in_window, f"window {self.windows + 1} of {self.planned}")
        return in_window + self.check_every

    def window_done(self, window: Window, emitted: int, reread: int, skipped: int) -> None:
        """A window's records are all written (``emitted`` counts the ``reread`` ones too)."""
        self.windows += 1
        self.records += emitted
        self.reread += reread
        self.skipped += skipped
        self.position = max(self.position, window.end)
        if self._debug:
            self.logger.debug(
                "%s: window %s to %s: %s%s%s", self.name, when(window.start), when(window.end),
                plural(emitted, "record"),
                f", {reread:,} re-read" if reread else "",
                f", {skipped:,} outside the window skipped" if skipped else "",
            )
        now = time.monotonic()
        if now >= self._next_report:
            self._report(now, self.records, f"{plural(self.windows, 'window')} of {self.planned} done")

    def finish(self, also: str = "") -> None:
        """The closing summary; ``also``: what else the run wrote, appended."""
        self._forget()
        elapsed = time.monotonic() - self.started
        extra = f" ({self.planned} planned, some split)" if self.windows > self.planned else ""
        self.logger.info(
            "%s: done: %s, %s%s, %s, %s, %s skipped (outside their window), %s re-read (lookback); "
            "%.1f s, %s records/s%s",
            self.name,
            plural(self.records, "record"),
            plural(self.windows, "window"),
            extra,
            plural(self.client.requests_sent - self._requests_at_start, "request"),
            plural(self.client.retries - self._retries_at_start, "retry").replace("retrys", "retries"),
            f"{self.skipped:,}",
            f"{self.reread:,}",
            elapsed,
            f"{self.records / elapsed:,.0f}" if elapsed > 0 else "-",
            also,
        )

    def stopped(self, reason: str) -> None:
        """The run ends before this stream finished: say how far it got."""
        self._forget()
        elapsed = time.monotonic() - self.started
        self.logger.warning(
            "%s: %s after %.1f s: %s in %s of %s complete; the last STATE covers calls before %s UTC",
            self.name, reason, elapsed, plural(self.records, "record"),
            plural(self.windows, "window"), self.planned, when(self.position),
        )

    # -- Lines ----------------------------------------------------------------------------

    def _log_start(self, windows: Sequence[Window], step: timedelta, lookback: timedelta) -> None:
        run = self.run
        if not windows:
            self.logger.info("%s (%s): nothing new to sync: calls before %s UTC are synced",
                             self.name, self.client.label, when(run.end))
            return
        origin = (
            "first run, from start_date"
            if self.bookmark is None
            else f"from the bookmark {when(self.bookmark)} less {duration(lookback)} of lookback"
            if lookback
            else f"from the bookmark {when(self.bookmark)}"
        )
        self.logger.info(
            "%s (%s): syncing %s to %s UTC in %s of %s (%s)",
            self.name, self.client.label, when(run.start), when(run.end),
            plural(len(windows), "window"), duration(step), origin,
        )

    def _report(self, now: float, records: int, where: str) -> None:
        elapsed = now - self.started
        span = (self.run.end - self.run.start).total_seconds()
        done = (self.position - self.run.start).total_seconds() / span if span > 0 else 1.0
        self.logger.info(
            "%s: %s so far, %s records/s; %d%% of the range (to %s UTC), %s; %.0f s",
            self.name, plural(records, "record"), f"{records / elapsed:,.0f}" if elapsed > 0 else "-",
            int(done * 100), when(self.position), where, elapsed,
        )
        self._next_report = now + self.interval

    def _forget(self) -> None:
        if self in _UNFINISHED:
            _UNFINISHED.remove(self)


def report_unfinished(reason: str) -> None:
    """The stream that was running says how far it got."""
    for progress in list(_UNFINISHED):
        progress.stopped(reason)
