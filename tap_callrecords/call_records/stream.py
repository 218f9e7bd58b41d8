"""The ``call_records`` stream: every vendor's calls in one normalised table.

It reads nothing itself. A selected vendor stream writes this stream's rows for its
vendor while it reads (:class:`VendorCalls` follows it), so selecting both never
fetches a vendor's data twice; a vendor whose stream is not selected is read for this
stream alone, in this stream's own sync. Bookmarks are per vendor (one partition each), so one vendor
failing or lagging never moves another's.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

import msgspec
from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.call_records import CallRow, schemas
from tap_callrecords.core.convert import UTC
from tap_callrecords.core.output import RecordLoopStream

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_callrecords.core.stream import WindowedStream


class CallRecordsStream(RecordLoopStream):
    """One row per interaction of every configured vendor; primary key ``vendor`` + ``call_id``."""

    name = "call_records"
    primary_keys = ("vendor", "call_id")
    replication_key = "started_at"
    schema = StreamSchema(SchemaDirectory(schemas))
    is_sorted = False

    def __init__(self, tap: Tap, *, sources: Mapping[str, WindowedStream]) -> None:
        super().__init__(tap)
        #: Vendor key -> the vendor stream whose records become this stream's rows.
        self.sources = dict(sources)
        self.vendor_calls = {vendor: VendorCalls(self, vendor, source) for vendor, source in sources.items()}
        for vendor, source in self.sources.items():
            source.followers.append(self.vendor_calls[vendor])

    @property
    def partitions(self) -> list[dict[str, t.Any]]:
        """One partition, and one bookmark, per vendor."""
        return [{"vendor": vendor} for vendor in self.sources]

    def prepare_sync(self, context: Context | None) -> None:
        """A vendor's bookmark is checked as its stream checks its own."""
        if context:
            vendor = context["vendor"]
            self.sources[vendor].checked_bookmark(
                self.get_context_state(context), datetime.now(UTC), reader=self.vendor_calls[vendor]
            )

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """A vendor whose stream is not selected is read now, for this stream alone (a
        selected one wrote its rows in its own sync); rows are written by
        :class:`VendorCalls`, never yielded here."""
        vendor = (context or {}).get("vendor")
        if vendor in self.sources and not self.sources[vendor].selected:
            self.sources[vendor].feed(self.vendor_calls[vendor])
        return ()


class VendorCalls:
    """One vendor's ``call_records`` rows, written as the vendor's stream is read."""

    def __init__(self, stream: CallRecordsStream, vendor: str, source: WindowedStream) -> None:
        to_call = source.to_call
        if to_call is None:
            raise TypeError(f"{source.name} declares no to_call")
        self.name = stream.name
        self.replication_key = t.cast("str", stream.replication_key)
        self.vendor = vendor
        self._stream = stream
        self._source = source
        self._to_call = to_call
        self._region: str | None = source.settings.get("default_phone_region")
        self._write: Callable[[CallRow, str], None] | None = None
        self._raw: Callable[[dict], t.Any] = dict
        #: Rows written in this run.
        self.rows = 0

    @property
    def selected(self) -> bool:
        """Whether ``call_records`` is selected in this run."""
        return self._stream.selected

    @property
    def state(self) -> dict[str, t.Any]:
        """The vendor's partition state in ``call_records``."""
        return self._stream.get_context_state({"vendor": self.vendor})

    def write(self, record: dict[str, t.Any], time_extracted: str) -> None:
        """The vendor record's normalised row, with the record itself as ``raw``."""
        if self._write is None:
            self._start()
        row = self._to_call(record, self._region)
        row.raw = self._raw(record)
        self.rows += 1
        t.cast("Callable[[CallRow, str], None]", self._write)(row, time_extracted)

    def _start(self) -> None:
        """Before the first row: the SCHEMA, and how rows are written. Both streams written
        directly: the record is encoded once, for its own message and as ``raw``, and
        the row struct is encoded as it is.
        Else the SDK's record path (stream maps, selection) gets plain dicts, ``raw`` a
        copy that it may edit freely."""
        write = self._stream.open_output()
        if self._stream.record_writer() is None:
            self._raw = dict
            self._write = lambda row, extracted: write(msgspec.structs.asdict(row), extracted)
            return
        self._write = write
        vendor_writer = self._source.record_writer() if self._source.selected else None
        self._raw = vendor_writer.encoded if vendor_writer is not None else _as_is

    def flush(self) -> None:
        """Write out buffered rows."""
        self._stream.flush_output()

    def checkpoint(self) -> None:
        """Buffered rows, then a STATE message."""
        self._stream.checkpoint()


def _as_is(record: dict[str, t.Any]) -> dict[str, t.Any]:
    return record
