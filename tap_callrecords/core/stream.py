"""The windowed stream every vendor stream is: windows, bookmarks per context, a fetcher.

A run covers ``[bookmark - lookback, now - latency)`` in windows. For each window the
stream asks its :class:`Fetcher` for the vendor's raw records, converts each with the
vendor's record function, keeps only those whose replication key falls inside the
window (so overlapping vendor filters never emit a record twice in a run), and moves
the bookmark of the current context to the window's end once all of its records are
written, followed by a STATE message. A run killed at any moment therefore resumes at
the first incomplete window without a gap.

How records are fetched (paged GETs, report jobs) is the fetcher's business; how they
are written is :mod:`~tap_callrecords.core.output`'s.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from tap_callrecords.core.convert import UTC, parse_iso_datetime, to_utc_iso
from tap_callrecords.core.output import RecordLoopStream
from tap_callrecords.core.progress import StreamProgress
from tap_callrecords.core.state import advance_bookmark, read_bookmark
from tap_callrecords.core.windows import Window, iter_windows, sync_range

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_callrecords.core.client import VendorClient


class Fetcher(t.Protocol):
    """Gets the raw records of a run's windows from a vendor."""

    def read(self, windows: Iterable[Window]) -> Iterator[tuple[Window, Iterable[Mapping[str, t.Any]]]]:
        """Each window read, in time order, with every record the vendor holds for it.

        A fetcher may read ahead (submit the next windows' report jobs), and may hand a
        window over as smaller ones; the caller consumes a window's records before it
        asks for the next, and takes the window as complete when they are exhausted.
        """
        ...


class WindowedStream(RecordLoopStream):
    """An incrementally replicated stream of calls read window by window.

    A vendor stream declares its name, keys, schema and windowing, and implements two
    hooks: :meth:`build_fetcher` and :attr:`convert` (a pure function from the vendor's
    raw record to the schema-typed record, replication key in the tap's UTC form).
    """

    #: How long after a call the vendor's data is complete; the default end of a run.
    data_latency: t.ClassVar[timedelta] = timedelta(minutes=5)
    #: Where window boundaries fall (e.g. :func:`~tap_callrecords.core.windows.floor_to_day`),
    #: so a resumed run asks for the same ranges a fresh one would; ``None``: from the start.
    window_align: t.ClassVar[staticmethod[[datetime], datetime] | None] = None
    #: Raw vendor record -> schema-typed record.
    convert: Callable[[Mapping[str, t.Any]], dict[str, t.Any]]

    is_sorted = False

    def __init__(self, tap: Tap, *, client: VendorClient, settings: Mapping[str, t.Any]) -> None:
        super().__init__(tap)
        self.client = client
        #: This vendor's settings object, defaults filled in.
        self.settings = settings
        self.fetcher = self.build_fetcher()

    # -- Hooks ----------------------------------------------------------------------

    @property
    def window_step(self) -> timedelta:
        """Length of one window (vendors with range limits or settings override it)."""
        return timedelta(days=1)

    def build_fetcher(self) -> Fetcher:
        """The fetcher for this stream's endpoint."""
        raise NotImplementedError

    # -- Windows and bookmarks ----------------------------------------------------------

    @property
    def _key(self) -> str:
        return t.cast("str", self.replication_key)

    def run_range(self, state: Mapping[str, t.Any]) -> Window:
        """The range this run covers, from the settings and the context's bookmark."""
        config = self.config
        end_date = config.get("end_date")
        return sync_range(
            start_date=parse_iso_datetime(config["start_date"]),
            end_date=parse_iso_datetime(end_date) if end_date else None,
            now=datetime.now(UTC),
            latency=self.data_latency,
            bookmark=read_bookmark(state, self._key),
            lookback=timedelta(minutes=int(config["lookback_minutes"])),
        )

    def windows(self, run: Window) -> Iterable[Window]:
        """The windows of a run."""
        return iter_windows(run.start, run.end, self.window_step, self.window_align)

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Fetch window after window, checkpointing the context's bookmark after each."""
        state = self.get_context_state(context)
        run = self.run_range(state)
        windows = list(self.windows(run))
        progress = StreamProgress(self, run, windows, bookmark=read_bookmark(state, self._key))
        key = self._key
        convert = self.convert
        for window, records in self.fetcher.read(windows):
            low, high = to_utc_iso(window.start), to_utc_iso(window.end)
            new_from = progress.new_from(low, high)  # [low, new_from): the lookback, re-read
            emitted, reread, skipped, check_at = 0, 0, 0, progress.check_every
            self.mark_extracted()
            for raw in records:
                record = convert(raw)
                value = record.get(key)
                if value is None or new_from <= value < high:
                    emitted += 1
                    if emitted == check_at:
                        check_at = progress.tick(emitted)
                    yield record
                elif low <= value < new_from:
                    reread += 1
                    yield record
                else:
                    skipped += 1
            progress.window_done(window, emitted + reread, reread, skipped)
            if advance_bookmark(state, key, window.end):
                self.checkpoint()
        progress.finish()
