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
from tap_callrecords.core.errors import InvalidRecord, InvalidState
from tap_callrecords.core.output import RecordLoopStream
from tap_callrecords.core.progress import StreamProgress, plural
from tap_callrecords.core.state import BOOKMARK_KEY, advance_bookmark, read_bookmark
from tap_callrecords.core.windows import Window, iter_windows, sync_range

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

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


class Bookmarked(t.Protocol):
    """A reader of a stream's windows that keeps a bookmark of its own."""

    @property
    def name(self) -> str: ...
    @property
    def replication_key(self) -> str: ...


class Follower(Bookmarked, t.Protocol):
    """Another stream written from this stream's read (a derived table), so that selecting
    both never fetches the vendor's data twice.

    It takes every checked record of the windows past its own bookmark; its bookmark (in
    :attr:`state`) moves with the windows like the stream's own.
    """

    @property
    def state(self) -> dict[str, t.Any]: ...
    @property
    def selected(self) -> bool: ...
    @property
    def rows(self) -> int:
        """Records written so far."""
        ...

    def write(self, record: dict[str, t.Any], time_extracted: str) -> None:
        """Write what this record becomes in the follower's stream."""
        ...

    def flush(self) -> None:
        """Write out buffered records (before every STATE message)."""
        ...

    def checkpoint(self) -> None:
        """Its records, then a STATE message (when it reads alone)."""
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
    #: Schema-typed record, default phone region -> its row in a derived normalised stream
    #: (``call_records``); ``None``: the stream has no calls to normalise.
    to_call: t.ClassVar[staticmethod[[Mapping[str, t.Any], str | None], t.Any] | None] = None

    is_sorted = False
    #: Invalid records skipped this run (``skip_invalid_records``).
    skipped_records = 0

    def __init__(self, tap: Tap, *, client: VendorClient, settings: Mapping[str, t.Any]) -> None:
        super().__init__(tap)
        self.client = client
        #: This vendor's settings object, defaults filled in.
        self.settings = settings
        self.fetcher = self.build_fetcher()
        #: Streams that may be written from this stream's read (those selected are).
        self.followers: list[Follower] = []

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

    def run_range(self, state: Mapping[str, t.Any], now: datetime | None = None, *,
                  reader: Bookmarked | None = None) -> Window:
        """The range a run covers for ``reader`` (this stream by default), from the
        settings and the bookmark in ``state``."""
        config = self.config
        end_date = config.get("end_date")
        now = now or datetime.now(UTC)
        return sync_range(
            start_date=parse_iso_datetime(config["start_date"]),
            end_date=parse_iso_datetime(end_date) if end_date else None,
            now=now,
            latency=self.data_latency,
            bookmark=self.checked_bookmark(state, now, reader=reader),
            lookback=timedelta(minutes=int(config["lookback_minutes"])),
        )

    def prepare_sync(self, context: Context | None) -> None:
        """A bookmark that is not a date-time, or lies in the future, stops the run here."""
        self.checked_bookmark(self.get_context_state(context), datetime.now(UTC))

    def checked_bookmark(self, state: Mapping[str, t.Any], now: datetime, *,
                         reader: Bookmarked | None = None) -> datetime | None:
        """The bookmark of ``reader`` (this stream by default) in ``state``; one that is not
        a date-time, or lies in the future (every run would sync nothing, for ever), stops
        the run saying how to reset it."""
        name, key = (reader.name, reader.replication_key) if reader else (self.name, self._key)
        reset = (f"Fix it, or remove bookmarks.{name} from the state (with Meltano: "
                 "`meltano state clear <state id>`) to start again from start_date.")
        try:
            bookmark = read_bookmark(state, key)
        except (ValueError, TypeError):
            raise InvalidState(
                f"the state's bookmark for {name} is {state.get(BOOKMARK_KEY)!r}, which is not "
                f"a date-time. {reset}"
            ) from None
        if bookmark is not None and bookmark > now:
            raise InvalidState(
                f"the state's bookmark for {name} is {to_utc_iso(bookmark)}, later than now "
                f"({to_utc_iso(now)}): a run from it would sync nothing. {reset}"
            )
        return bookmark

    def windows(self, run: Window) -> Iterable[Window]:
        """The windows of a run."""
        return iter_windows(run.start, run.end, self.window_step, self.window_align)

    # -- Reading --------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """This stream's records, and its followers' (:meth:`read`)."""
        return self.read(self.get_context_state(context), [f for f in self.followers if f.selected])

    def feed(self, follower: Follower) -> None:
        """Read for ``follower`` alone (this stream is not selected): its records only."""
        for _ in self.read(None, [follower]):
            pass

    def read(self, state: dict[str, t.Any] | None, followers: Sequence[Follower]
             ) -> Iterator[dict[str, t.Any]]:
        """Fetch window after window once for this stream (``state``: its context's state;
        ``None`` when only followers read) and its followers, checkpointing after each.

        The run covers the earliest of their ranges; each reader takes the records from
        its own range's start, and its bookmark moves to a window's end once the window's
        records are all written. A record is checked before it is emitted: one whose
        conversion fails, or whose primary key or replication key is missing or
        unreadable, is never emitted with a null key. It stops the run with one clear
        line, or with ``skip_invalid_records`` is logged (by its key only: records hold
        customers' numbers) and counted.
        """
        now = datetime.now(UTC)
        own = self.run_range(state, now) if state is not None else None
        theirs = [self.run_range(follower.state, now, reader=follower) for follower in followers]
        # The run starts where the earliest reader's range does; its lookback is the re-read.
        starts = [(own.start, read_bookmark(state, self._key))] if own and state is not None else []
        starts += [(their.start, read_bookmark(follower.state, follower.replication_key))
                   for their, follower in zip(theirs, followers, strict=True)]
        start, bookmark = min(starts, key=lambda pair: pair[0])
        run = Window(start, (own or theirs[0]).end)
        windows = list(self.windows(run))
        name = self.name if state is not None else f"{followers[0].name} ({self.name})"
        progress = StreamProgress(self, run, windows, bookmark=bookmark, name=name)
        own_from = to_utc_iso(own.start) if own is not None else None
        follower_from = [to_utc_iso(their.start) for their in theirs]
        key = self._key
        [primary_key] = self.primary_keys
        convert = self.convert
        rows_before = [follower.rows for follower in followers]
        for window, records in self.fetcher.read(windows):
            low, high = to_utc_iso(window.start), to_utc_iso(window.end)
            new_from = progress.new_from(low, high)  # [low, new_from): the lookback, re-read
            # Who takes this window's records, from which replication key value on.
            mine = own_from if own_from is not None and own_from < high else None
            takers = [(f.write, since) for f, since in zip(followers, follower_from, strict=True)
                      if since < high]
            emitted, reread, skipped, check_at = 0, 0, 0, progress.check_every
            self.mark_extracted()
            extracted = self._extracted_at
            for raw in records:
                try:
                    record = convert(raw)
                except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
                    self.reject(raw, window, f"could not be read ({type(exc).__name__})")
                    continue
                value = record.get(key)
                if not value or record.get(primary_key) in (None, ""):
                    self.reject(raw, window, f"has no readable {primary_key if value else key}")
                    continue
                if not low <= value < high:
                    skipped += 1
                    continue
                if value < new_from:
                    reread += 1
                else:
                    emitted += 1
                    if emitted == check_at:
                        check_at = progress.tick(emitted)
                # Followers first: the SDK's own record path may edit the record it is given.
                for write, since in takers:
                    if value >= since:
                        write(record, extracted)
                if mine is not None and value >= mine:
                    yield record
            progress.window_done(window, emitted + reread, reread, skipped)
            moved = state is not None and advance_bookmark(state, key, window.end)
            for follower in followers:
                moved = advance_bookmark(follower.state, follower.replication_key, window.end) or moved
            if moved:
                (self if state is not None else followers[0]).checkpoint()
        for follower in followers:  # rows after the last bookmark that moved (a re-read)
            follower.flush()
        if self.skipped_records:
            self.logger.warning("%s: %s skipped %d invalid records (skip_invalid_records)",
                                self.client.label, self.name, self.skipped_records)
        also = [f"; {follower.name}: {plural(follower.rows - before, 'row')}"
                for follower, before in zip(followers, rows_before, strict=True)]
        progress.finish("".join(also) if state is not None else "")

    def flush_output(self) -> None:
        """Followers' rows too: every STATE message (a checkpoint, an aborted run's last
        one) comes after all that was written before it."""
        super().flush_output()
        for follower in self.followers:
            follower.flush()

    def check_connection(self) -> str:
        """Read the vendor's first page (or report) of the last hour, as ``--test`` does."""
        end = datetime.now(UTC) - self.data_latency
        for _, records in self.fetcher.read([Window(end - timedelta(hours=1), end)]):
            first = next(iter(records), None)
            found = "a record" if first is not None else "no record"
            return f"ok: {self.client.label} accepted the credentials and answered ({found} in the last hour)"
        return f"ok: {self.client.label} accepted the credentials"

    def reject(self, raw: t.Any, window: Window, problem: str) -> None:
        """An invalid record: stop the run, or skip it when the user said so."""
        [primary_key] = self.primary_keys
        ident = raw.get(primary_key) if isinstance(raw, dict) else None
        which = f"{primary_key} {ident!r}" if ident not in (None, "") else "a record"
        where = f"{self.name} window {window}"
        if not self.config["skip_invalid_records"]:
            raise InvalidRecord(
                f"{self.client.label}: {which} in {where} {problem}. Set skip_invalid_records to "
                "true to skip such records (each is logged) instead of stopping."
            )
        self.skipped_records += 1
        self.logger.warning("%s: skipped %s in %s: it %s", self.client.label, which, where, problem)
