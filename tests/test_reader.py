"""The read the tap owns (``core/reader.py``), in-process: planning, checking, fan-out to
several outputs, checkpoint order, resume and failure.

The fetcher here is a list of windows' records and the outputs record what they are
given; the subprocess suites (test_contract.py, test_call_records.py) drive the same
read through real streams, the SDK and the sandbox.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tap_callrecords.core.convert import parse_iso_datetime, to_utc_iso
from tap_callrecords.core.errors import InvalidRecord, InvalidState, VendorAPIError
from tap_callrecords.core.reader import Halt, Output, Read, Rejection, check_bookmark, check_record
from tap_callrecords.core.windows import Window

UTC = timezone.utc
START = datetime(2024, 7, 1, tzinfo=UTC)
NOW = datetime(2024, 7, 1, 6, 0, tzinfo=UTC)


def at(hours: float) -> str:
    return to_utc_iso(START + timedelta(hours=hours))


def convert(raw: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {"id": raw.get("id"), "t": to_utc_iso(parse_iso_datetime(raw["t"])) if raw.get("t") else None}


class ListFetcher:
    """The vendor's records, by hour; counts the reads asked of it."""

    def __init__(self, records: list[dict[str, t.Any]], fail_in: Window | None = None) -> None:
        self.records = records
        self.fail_in = fail_in
        self.reads = 0
        self.windows: list[Window] = []

    def read(self, windows):
        self.reads += 1
        for window in windows:
            if self.fail_in == window:
                raise VendorAPIError("Vendor: HTTP 500 from /calls")
            self.windows.append(window)
            yield window, [raw for raw in self.records
                           if window.start <= parse_iso_datetime(raw["t"]) < window.end]


def source(fetcher: ListFetcher, **config: t.Any) -> SimpleNamespace:
    settings = {"start_date": to_utc_iso(START), "end_date": at(4), "lookback_minutes": 60,
                "skip_invalid_records": False, **config}
    return SimpleNamespace(
        name="vendor_calls", logger=logging.getLogger("tap-callrecords.test_reader"), config=settings,
        window_step=timedelta(hours=1), data_latency=timedelta(minutes=5), window_align=None,
        primary_keys=["id"], replication_key="t", fetcher=fetcher, convert=convert,
        client=SimpleNamespace(label="Vendor", requests_sent=0, retries=0),
    )


@dataclass
class Recorder:
    """A stream as the read sees it, writing what it is given into ``events``."""

    name: str
    tap_state: dict = field(default_factory=lambda: {"bookmarks": {}})
    selected: bool = True
    replication_key: str = "t"
    events: list[tuple[str, t.Any]] = field(default_factory=list)

    def get_context_state(self, context):
        return self.tap_state["bookmarks"].setdefault(self.name, {})

    def checkpoint(self) -> None:
        self.events.append(("STATE", self.tap_state["bookmarks"][self.name]["replication_key_value"]))

    def flush_output(self) -> None:
        self.events.append(("FLUSH", None))

    def mark_extracted(self, at: str | None = None) -> str:
        return at or "extracted"

    def writes_directly(self) -> bool:
        return False

    def sync(self, read: Read, output: Output) -> None:
        for item in read.records_for(output):
            self.events.append(("RECORD", item))

    def records(self) -> list[t.Any]:
        return [item for kind, item in self.events if kind == "RECORD"]

    def bookmark(self) -> str | None:
        return self.tap_state["bookmarks"].get(self.name, {}).get("replication_key_value")


def outputs(read: Read, *streams: Recorder) -> list[Output]:
    made = []
    for index, stream in enumerate(streams):
        if index == 0:
            item = lambda: lambda record, _: record  # noqa: E731
        else:
            item = lambda: lambda record, _: {"row": record["id"]}  # noqa: E731
        output = Output(stream, None, item_of=item, is_source=index == 0)
        read.add_output(output)
        made.append(output)
    return made


CALLS = [{"id": f"c{hour}-{n}", "t": at(hour + n / 10)} for hour in range(4) for n in range(3)]


# -- Planning --------------------------------------------------------------------------------


def test_a_run_starts_at_the_bookmark_less_the_lookback_and_ends_before_the_data_latency():
    read = Read(source(ListFetcher([]), end_date=None))
    stream = Recorder("vendor_calls")
    stream.tap_state["bookmarks"]["vendor_calls"] = {"replication_key": "t", "replication_key_value": at(3)}
    [output] = outputs(read, stream)

    plan = read.plan([output], now=NOW)

    assert plan.run == Window(START + timedelta(hours=2), NOW - timedelta(minutes=5))
    assert plan.starts[output] == at(2)
    assert plan.bookmark == START + timedelta(hours=3)


def test_outputs_with_different_bookmarks_share_the_earliest_range_and_keep_their_own_starts():
    read = Read(source(ListFetcher([])))
    ahead, behind = Recorder("vendor_calls"), Recorder("derived")
    ahead.tap_state["bookmarks"]["vendor_calls"] = {"replication_key": "t", "replication_key_value": at(3)}
    first, second = outputs(read, ahead, behind)

    plan = read.plan([first, second], now=NOW)

    assert plan.run == Window(START, START + timedelta(hours=4))
    assert [w.start for w in plan.windows] == [START + timedelta(hours=h) for h in range(4)]
    assert plan.starts == {first: at(2), second: at(0)}
    assert plan.bookmark is None  # the earliest output's: a first run


@pytest.mark.parametrize(("value", "problem"), [("yesterday", "which is not a date-time"),
                                                ("2999-01-01T00:00:00+00:00", "later than now")])
def test_a_bookmark_that_is_no_date_time_or_lies_in_the_future_stops_the_plan(value, problem):
    with pytest.raises(InvalidState, match=problem):
        check_bookmark("vendor_calls", "t", {"replication_key": "t", "replication_key_value": value}, NOW)


# -- Checking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "problem"), [
    ({"id": "a", "t": "not a time"}, "could not be read (ValueError)"),
    ({"id": "a"}, "has no readable t"),
    ({"t": at(1)}, "has no readable id"),
    ({"id": "", "t": at(1)}, "has no readable id"),
])
def test_each_unreadable_record_is_a_rejection_with_its_reason(raw, problem):
    assert check_record(raw, convert, "id", "t") == Rejection(problem)


def test_a_readable_record_is_its_typed_form():
    assert check_record({"id": "a", "t": "2024-07-01T02:00:00+02:00"}, convert, "id", "t") == {
        "id": "a", "t": "2024-07-01T00:00:00.000000+00:00"}


def test_an_invalid_record_stops_the_read_or_is_skipped_and_counted():
    bad = [*CALLS, {"id": "x", "t": at(1.5), "oops": 1}]
    strict = Read(source(ListFetcher([{"id": None, "t": at(1.5)}, *CALLS])))
    stream = Recorder("vendor_calls")
    [output] = outputs(strict, stream)
    with pytest.raises(InvalidRecord, match=r"a record in vendor_calls window .* has no readable id"):
        stream.sync(strict, output)
    assert stream.bookmark() == at(1)  # the complete window only

    lenient = Read(source(ListFetcher([{"id": None, "t": at(1.5)}, *bad]), skip_invalid_records=True))
    stream = Recorder("vendor_calls")
    [output] = outputs(lenient, stream)
    stream.sync(lenient, output)
    assert lenient.skipped_records == 1 and len(stream.records()) == len(bad)


# -- One read, several outputs -----------------------------------------------------------------


def test_one_read_feeds_every_output_and_each_checkpoints_after_the_records_it_covers():
    fetcher = ListFetcher(CALLS)
    read = Read(source(fetcher))
    vendor, derived = Recorder("vendor_calls"), Recorder("derived")
    vendor_output, derived_output = outputs(read, vendor, derived)

    derived.sync(read, derived_output)  # synced first: it runs the read
    assert vendor.events == []  # the vendor stream writes nothing outside its own sync
    vendor.sync(read, vendor_output)  # later: its spool

    assert fetcher.reads == 1 and len(fetcher.windows) == 4
    assert vendor.records() == CALLS
    assert derived.records() == [{"row": call["id"]} for call in CALLS]
    for stream in (vendor, derived):
        assert stream.bookmark() == at(4)
        # Every STATE follows every record before its bookmark, and precedes the later ones.
        for index, (kind, value) in enumerate(stream.events):
            if kind == "STATE":
                before = stream.events[:index]
                assert sum(1 for k, _ in before if k == "RECORD") == 3 * int(value[11:13])
        assert [value for kind, value in stream.events if kind == "STATE"] == [at(h) for h in (1, 2, 3, 4)]


def test_a_deselected_output_gets_nothing_and_the_others_lose_nothing():
    read = Read(source(ListFetcher(CALLS)))
    vendor, derived = Recorder("vendor_calls", selected=False), Recorder("derived")
    vendor_output, derived_output = outputs(read, vendor, derived)

    derived.sync(read, derived_output)
    vendor.sync(read, vendor_output)

    assert vendor.events == [] and len(derived.records()) == len(CALLS)


def test_a_resumed_read_gives_each_output_the_records_from_its_own_start():
    read = Read(source(ListFetcher(CALLS)))
    vendor, derived = Recorder("vendor_calls"), Recorder("derived")
    vendor.tap_state["bookmarks"]["vendor_calls"] = {"replication_key": "t", "replication_key_value": at(3)}
    vendor_output, derived_output = outputs(read, vendor, derived)

    derived.sync(read, derived_output)
    vendor.sync(read, vendor_output)

    assert derived.records() == [{"row": call["id"]} for call in CALLS]  # from start_date
    assert vendor.records() == [call for call in CALLS if call["t"] >= at(2)]  # bookmark less 1 hour
    assert vendor.bookmark() == derived.bookmark() == at(4)


def test_a_failed_read_keeps_each_outputs_complete_windows_and_then_stops_the_run():
    halt = Halt()
    third_hour = Window(START + timedelta(hours=2), START + timedelta(hours=3))
    read = Read(source(ListFetcher(CALLS, fail_in=third_hour)), halt=halt)
    other = Read(source(ListFetcher(CALLS)), halt=halt)
    vendor, derived, bystander = Recorder("vendor_calls"), Recorder("derived"), Recorder("other_calls")
    vendor_output, derived_output = outputs(read, vendor, derived)
    [other_output] = outputs(other, bystander)

    derived.sync(read, derived_output)  # ends its sync at its last complete window
    bystander.sync(other, other_output)  # no read starts after a failure
    with pytest.raises(VendorAPIError, match="HTTP 500"):
        vendor.sync(read, vendor_output)  # writes what is complete, then stops the run

    assert derived.bookmark() == vendor.bookmark() == at(2)
    assert len(derived.records()) == len(vendor.records()) == 6
    assert bystander.events == [] and other.source.fetcher.reads == 0


def test_a_read_abandoned_by_its_first_output_is_run_again_for_the_next():
    fetcher = ListFetcher(CALLS)
    read = Read(source(fetcher))
    vendor, derived = Recorder("vendor_calls"), Recorder("derived")
    vendor_output, derived_output = outputs(read, vendor, derived)

    records = read.records_for(derived_output)  # a record limit: the SDK stops after two
    assert [next(records), next(records)] == [{"row": "c0-0"}, {"row": "c0-1"}]
    records.close()
    vendor.sync(read, vendor_output)

    assert fetcher.reads == 2 and vendor.records() == CALLS and vendor.bookmark() == at(4)
    assert derived.bookmark() is None  # its turn is over: the second read leaves it out


# -- Whichever time the vendor's range filter selects by ---------------------------------------


class EndFilteringFetcher(ListFetcher):
    """A vendor whose range filter selects calls by their end (``ends``), or pads each
    window's range by ``pad`` on either side."""

    def __init__(self, records, *, pad: timedelta = timedelta(0), by_end: bool = True,
                 by: str | None = None) -> None:
        super().__init__(records)
        self.pad, self.by_end, self.by = pad, by_end, by

    def read(self, windows):
        self.reads += 1
        for window in windows:
            time = self.by or ("ends" if self.by_end else "t")
            low, high = window.start - self.pad, window.end + self.pad
            yield window, [raw for raw in self.records if low <= parse_iso_datetime(raw[time]) < high]


#: Calls that each cross an hour's end.
LONG_CALLS = [{"id": f"long{n}", "t": at(n + 0.5), "ends": at(n + 1.25)} for n in range(3)]


def test_a_call_returned_only_for_the_window_of_its_end_is_handed_out_once():
    read = Read(source(EndFilteringFetcher(LONG_CALLS)))
    vendor = Recorder("vendor_calls")
    [output] = outputs(read, vendor)

    vendor.sync(read, output)

    assert [record["id"] for record in vendor.records()] == ["long0", "long1", "long2"]


def test_a_call_returned_only_for_the_window_of_its_start_is_handed_out_once_when_the_key_is_its_end():
    """The key is the call's end, the vendor selects by its start: each call comes back
    for a window earlier than its own, and its own window does not return it."""
    ended = [{"id": f"ended{n}", "t": at(n + 1.25), "starts": at(n + 0.5)} for n in range(3)]
    read = Read(source(EndFilteringFetcher(ended, by="starts")))
    vendor = Recorder("vendor_calls")
    [output] = outputs(read, vendor)

    vendor.sync(read, output)

    assert [record["id"] for record in vendor.records()] == ["ended0", "ended1", "ended2"]


def test_a_padded_range_hands_out_each_call_once():
    calls = [{**call, "ends": call["t"]} for call in CALLS]
    read = Read(source(EndFilteringFetcher(calls, pad=timedelta(minutes=90), by_end=False)))
    vendor = Recorder("vendor_calls")
    [output] = outputs(read, vendor)

    vendor.sync(read, output)

    assert vendor.records() == [{"id": c["id"], "t": c["t"]} for c in calls]
