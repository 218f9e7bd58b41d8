"""The read the tap owns: one pass over a vendor endpoint, written to every stream that wants it.

A :class:`Read` belongs to one source (a vendor stream's declaration: its fetcher, its
record function, its keys and windows). Its **outputs** are the streams written from
its records: the vendor stream itself (the records as they are) and derived ones
(``call_records``' partition for the vendor: each record's normalised row). Every
output is an equal: the read plans each one's range from its own bookmark, checks
every raw record once (:func:`check_record`, a pure function), hands each checked
record to every output whose range holds it, and at a window's end moves each output's
bookmark and has it checkpoint once.

The SDK syncs streams one after another, sorted by name, so outputs of one read are
synced at different times. The first output the SDK syncs runs the read: its own items
go to the SDK's record loop as that stream's records; every other selected output's
items go to a :class:`~tap_callrecords.core.spool.Spool` (a temporary file, with the
window ends marked), which that stream replays in its own sync. Each stream therefore
writes its records, its bookmarks and its STATE messages in its own sync, the SDK
counts what each one wrote, and the vendor is read once. A spooled output's bookmark
moves only as its records are replayed, so a run killed at any moment resumes without
a gap for every output.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from tap_callrecords.core import windows as clock
from tap_callrecords.core.convert import parse_iso_datetime, to_utc_iso
from tap_callrecords.core.errors import InvalidRecord, InvalidState
from tap_callrecords.core.progress import Reported, StreamProgress, plural
from tap_callrecords.core.spool import Spool
from tap_callrecords.core.state import BOOKMARK_KEY, advance_bookmark, peek_state, read_bookmark
from tap_callrecords.core.windows import Window, iter_windows, sync_range

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

#: A raw vendor record -> the schema-typed record.
Convert = t.Callable[[t.Mapping[str, t.Any]], dict[str, t.Any]]


class Fetcher(t.Protocol):
    """Gets the raw records of a run's windows from a vendor."""

    def read(self, windows: Iterable[Window]) -> Iterator[tuple[Window, Iterable[Mapping[str, t.Any]]]]:
        """Each window read, in time order, with every record the vendor holds for it.

        A fetcher may read ahead (submit the next windows' report jobs), and may hand a
        window over as smaller ones; the caller consumes a window's records before it
        asks for the next, and takes the window as complete when they are exhausted.
        """
        ...


class Source(Reported, t.Protocol):
    """What a read needs of the stream that declares the endpoint (and its progress lines)."""

    @property
    def data_latency(self) -> timedelta: ...
    @property
    def window_align(self) -> Callable[[datetime], datetime] | None: ...
    @property
    def primary_keys(self) -> Sequence[str]: ...
    @property
    def replication_key(self) -> str | None: ...
    fetcher: Fetcher
    convert: Convert


class Writer(t.Protocol):
    """The stream an output writes to (a :class:`~tap_callrecords.core.output.RecordLoopStream`)."""

    @property
    def name(self) -> str: ...
    @property
    def selected(self) -> bool: ...
    @property
    def replication_key(self) -> str | None: ...
    @property
    def tap_state(self) -> Mapping[str, t.Any]: ...
    def get_context_state(self, context: Mapping[str, t.Any] | None) -> dict[str, t.Any]: ...
    def checkpoint(self) -> None: ...
    def flush_output(self) -> None: ...
    def mark_extracted(self, at: str | None = None) -> str: ...
    def writes_directly(self) -> bool: ...


#: A checked record -> what an output writes for it; ``encoded``: the record's own JSON,
#: when the read has it already (a spooled source output), for a derived row to embed.
ItemOf = t.Callable[[dict[str, t.Any], "msgspec.Raw | None"], t.Any]


@dataclass(eq=False)
class Output:
    """One stream's share of a read: which bookmark it moves and what it writes per record."""

    stream: Writer
    #: The stream's context (a partition) whose bookmark this output moves; ``None``: the stream's.
    context: Mapping[str, t.Any] | None
    #: Builds the item function when the run starts (the catalog, hence how the stream
    #: writes, is known only then).
    item_of: Callable[[], ItemOf]
    #: The records themselves (the source stream): its JSON can be embedded by others.
    is_source: bool = False
    #: The item function gives each record's items as a list (none or several rows per
    #: record, e.g. one per part of a call) instead of one item.
    expands: bool = False

    @property
    def name(self) -> str:
        return self.stream.name

    @property
    def replication_key(self) -> str:
        return t.cast("str", self.stream.replication_key)

    @property
    def state(self) -> dict[str, t.Any]:
        """The state holding this output's bookmark (created if missing: to move it)."""
        return self.stream.get_context_state(self.context)

    def bookmark(self) -> Mapping[str, t.Any]:
        """The state holding this output's bookmark, read only."""
        return peek_state(self.stream.tap_state, self.name, self.context)


class Rejection(t.NamedTuple):
    """A raw record that cannot be emitted, and why."""

    problem: str


def check_record(raw: Mapping[str, t.Any], convert: Convert, primary_key: str, replication_key: str
                 ) -> dict[str, t.Any] | Rejection:
    """The typed record, or why it cannot be emitted: its conversion failed, or its primary
    key or replication key is missing or unreadable (a record is never emitted with a null
    key). Pure: no logging, no counting."""
    try:
        record = convert(raw)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        return Rejection(f"could not be read ({type(exc).__name__})")
    value = record.get(replication_key)
    if not value or record.get(primary_key) in (None, ""):
        return Rejection(f"has no readable {primary_key if value else replication_key}")
    return record


def check_bookmark(name: str, replication_key: str, state: Mapping[str, t.Any], now: datetime
                   ) -> datetime | None:
    """The bookmark of ``name``'s ``replication_key`` in ``state``; one that is not a
    date-time, or lies in the future (every run would sync nothing, for ever), stops the
    run saying how to reset it."""
    reset = (f"Fix it, or remove bookmarks.{name} from the state (with Meltano: "
             "`meltano state clear <state id>`) to start again from start_date.")
    try:
        bookmark = read_bookmark(state, replication_key)
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


@dataclass(frozen=True)
class Plan:
    """What one run reads: the range and its windows, and where each output starts."""

    run: Window
    windows: list[Window]
    #: Each output's first replication key value (its range's start), in the tap's UTC form.
    starts: dict[Output, str]
    #: The bookmark the earliest output starts from (``None``: the first run).
    bookmark: datetime | None


class Halt:
    """The first read of a run that failed; once it is set no other read starts.

    A read whose outputs include spooled ones does not stop the run at once: its live
    output ends its sync with the bookmark of the last complete window, each spooled
    output writes what it holds in its own sync (the records of the incomplete window
    too, as the live output did, with no bookmark claiming them), and the last of them
    raises the error. Every stream thus keeps what was read before the failure, and
    nothing else is fetched before the run stops.
    """

    def __init__(self) -> None:
        self.error: Exception | None = None


class Read:
    """One pass over a source's windows, for every selected output (see the module doc)."""

    def __init__(self, source: Source, *, halt: Halt | None = None) -> None:
        self.source = source
        self.halt = halt or Halt()
        self.outputs: list[Output] = []
        self._spools: dict[Output, Spool] = {}
        self._done = False
        #: Outputs whose stream has had its sync (a later run of the read leaves them out).
        self._synced: set[Output] = set()
        #: What stopped this read, raised once its spooled outputs have written their windows.
        self._failure: Exception | None = None
        #: Invalid records skipped this run (``skip_invalid_records``).
        self.skipped_records = 0

    def add_output(self, output: Output) -> None:
        """A stream written from this read (the source's own first)."""
        self.outputs.append(output)

    # -- Planning -------------------------------------------------------------------------

    def range_for(self, output: Output, now: datetime) -> Window:
        """The range ``output`` needs: from its bookmark less the lookback (or
        ``start_date``) to ``end_date``, never later than now less the data latency."""
        config = self.source.config
        end_date = config.get("end_date")
        return sync_range(
            start_date=parse_iso_datetime(config["start_date"]),
            end_date=parse_iso_datetime(end_date) if end_date else None,
            now=now,
            latency=self.source.data_latency,
            bookmark=check_bookmark(output.name, output.replication_key, output.bookmark(), now),
            lookback=timedelta(minutes=int(config["lookback_minutes"])),
        )

    def plan(self, outputs: Sequence[Output], now: datetime | None = None) -> Plan:
        """The run of ``outputs``: the earliest of their ranges (its lookback is the
        re-read), in the source's windows."""
        now = now or clock.utc_now()
        ranges = {output: self.range_for(output, now) for output in outputs}
        first = min(outputs, key=lambda output: ranges[output].start)
        run = Window(ranges[first].start, ranges[outputs[0]].end)
        source = self.source
        return Plan(
            run=run,
            windows=list(iter_windows(run.start, run.end, source.window_step, source.window_align)),
            starts={output: to_utc_iso(window.start) for output, window in ranges.items()},
            bookmark=read_bookmark(first.bookmark(), first.replication_key),
        )

    # -- Reading --------------------------------------------------------------------------

    def records_for(self, output: Output) -> Iterator[t.Any]:
        """What ``output``'s stream writes in its sync: the first output synced runs the
        read (the other selected outputs' items go to their spools); a later one replays
        its spool."""
        self._synced.add(output)
        if self._done:
            spool = self._spools.pop(output, None)
            if spool is not None:
                yield from self._replay(output, spool)
            if self._failure is not None and not self._spools:
                output.stream.flush_output()
                raise self._failure
            return
        if self.halt.error is not None:
            return
        self._done = True
        outputs = [other for other in self.outputs
                   if other is output or (other.stream.selected and other not in self._synced)]
        for other in outputs:
            if other is not output:
                self._spools[other] = Spool(plain=other.stream.writes_directly())
        finished = False
        try:
            yield from self._run(output, outputs)
            finished = True
        except Exception as exc:
            finished = True
            self.halt.error = exc
            output.stream.flush_output()  # what was read of the last window, unclaimed
            if not self._spools:
                raise
            self._failure = exc
            for spool in self._spools.values():
                spool.end_window(None, output.stream.mark_extracted(None))
        finally:
            if not finished:  # the SDK stopped taking records (a record limit): start afresh
                for spool in self._spools.values():
                    spool.__exit__(None, None, None)
                self._spools.clear()
                self._done = False

    def _replay(self, output: Output, spool: Spool) -> Iterator[t.Any]:
        """A spooled output's items, its bookmark moved and checkpointed at each window's end."""
        with spool:
            for items, window_end, extracted in spool.windows():
                output.stream.mark_extracted(extracted)
                yield from items
                if window_end is not None and advance_bookmark(output.state, output.replication_key,
                                                               window_end):
                    output.stream.checkpoint()

    def _run(self, live: Output, outputs: Sequence[Output]) -> Iterator[t.Any]:
        """Fetch window after window; ``live``'s items are yielded, the others' spooled.

        A window's records are those whose replication key lies inside it, **late** ones
        (a record of an earlier window, by less than the lookback) and **early** ones (a
        record of a later window of this run), each handed out once per run. No vendor
        says whether its range filter selects by a call's start or its end, and some list
        a call only once it has ended: a call that crosses a window's edge is then
        returned only for a window other than its own (the later one when the vendor
        selects by the end and the key is the start, the earlier one the other way
        round), and one still going on only by a later run, whose lookback re-reads its
        window. Records older than the lookback, or past the run's range, are skipped
        (a vendor's padded range; a later run reads them in their own window).
        """
        source = self.source
        plan = self.plan(outputs)
        own = next((output for output in outputs if output.is_source), None)
        progress = StreamProgress(source, plan.run, plan.windows, bookmark=plan.bookmark,
                                  name=own.name if own is not None else f"{live.name} ({source.name})")
        key = t.cast("str", source.replication_key)
        [primary_key] = source.primary_keys
        convert = source.convert
        live_item, live_from = live.item_of(), plan.starts[live]
        # Spooled outputs before the live one: the SDK's record path may edit the record.
        spooled = [(self._spools[output], output.item_of(), plan.starts[output], output.is_source,
                    output.expands) for output in outputs if output is not live]
        expands = live.expands
        live_count = 0
        horizon = timedelta(minutes=int(source.config["lookback_minutes"]))
        #: Keys handed out this run, with their replication key, that a later window may
        #: return again (see :meth:`_run`'s "late" records); pruned as the windows move on.
        handed: dict[t.Any, str] = {}
        #: Whether a record was handed out before its window: its window then checks
        #: ``handed`` too (until then, a window's own records need no look-up).
        ahead = False
        run_end = to_utc_iso(plan.run.end)
        #: Records before it were emitted by an earlier run: re-read, early ones included.
        emitted_before = to_utc_iso(plan.bookmark) if plan.bookmark is not None else ""
        for window, records in source.fetcher.read(plan.windows):
            low, high = to_utc_iso(window.start), to_utc_iso(window.end)
            late_from = to_utc_iso(max(window.start - horizon, plan.run.start))
            remember_from = to_utc_iso(window.end - horizon)
            if handed and min(handed.values()) < late_from:
                handed = {ident: value for ident, value in handed.items() if value >= late_from}
            new_from = progress.new_from(low, high)  # [low, new_from): the lookback, re-read
            takers = [(spool.write, item, since, is_source, many)
                      for spool, item, since, is_source, many in spooled]
            emitted, reread, skipped, check_at = 0, 0, 0, progress.check_every
            extracted = live.stream.mark_extracted()
            for raw in records:
                record = check_record(raw, convert, primary_key, key)
                if type(record) is Rejection:
                    self.reject(raw, window, record.problem)
                    continue
                record = t.cast("dict[str, t.Any]", record)
                value = record[key]
                if value < low:
                    if value < late_from or record[primary_key] in handed:
                        skipped += 1
                        continue
                elif value >= high:
                    if value >= run_end or record[primary_key] in handed:
                        skipped += 1
                        continue
                    ahead = True
                elif ahead and record[primary_key] in handed:
                    skipped += 1
                    continue
                if value >= remember_from:
                    handed[record[primary_key]] = value
                if value < new_from or high <= value < emitted_before:
                    reread += 1
                else:
                    emitted += 1
                    if emitted == check_at:
                        check_at = progress.tick(emitted)
                encoded: msgspec.Raw | None = None
                for write, item, since, is_source, many in takers:
                    if value < since:
                        continue
                    if many:
                        for each in item(record, encoded):
                            write(each)
                        continue
                    as_written = write(item(record, encoded))
                    if is_source:
                        encoded = as_written
                if value >= live_from:
                    if expands:
                        items = live_item(record, encoded)
                        live_count += len(items)
                        yield from items
                    else:
                        live_count += 1
                        yield live_item(record, encoded)
            progress.window_done(window, emitted + reread, reread, skipped)
            for spool, *_ in spooled:
                spool.end_window(window.end, extracted)
            if advance_bookmark(live.state, live.replication_key, window.end):
                live.stream.checkpoint()
        if self.skipped_records:
            source.logger.warning("%s: %s skipped %d invalid records (skip_invalid_records)",
                                  source.client.label, source.name, self.skipped_records)
        counts = {output: self._spools[output].records if output is not live else live_count
                  for output in outputs}
        progress.finish("".join(f"; {output.name}: {plural(count, 'row')}"
                                for output, count in counts.items() if own is not None and output is not own))

    def reject(self, raw: t.Any, window: Window, problem: str) -> None:
        """An invalid record: stop the run, or skip it when the user said so (logged by its
        key only: records hold customers' numbers)."""
        source = self.source
        [primary_key] = source.primary_keys
        ident = raw.get(primary_key) if isinstance(raw, dict) else None
        which = f"{primary_key} {ident!r}" if ident not in (None, "") else "a record"
        where = f"{source.name} window {window}"
        if not source.config["skip_invalid_records"]:
            raise InvalidRecord(
                f"{source.client.label}: {which} in {where} {problem}. Set skip_invalid_records to "
                "true to skip such records (each is logged) instead of stopping."
            )
        self.skipped_records += 1
        source.logger.warning("%s: skipped %s in %s: it %s", source.client.label, which, where, problem)


