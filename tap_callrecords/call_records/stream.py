"""The ``call_records`` stream: every vendor's calls in one normalised table.

It fetches nothing of its own: for each vendor it is one more output of the vendor
stream's :class:`~tap_callrecords.core.reader.Read`, whose checked records it maps to
rows (the vendor's ``calls.py``). Selecting it beside the vendor streams never fetches
a vendor's data twice. Bookmarks are per vendor (one partition each), so one vendor
failing or lagging never moves another's.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import msgspec
from singer_sdk import SchemaDirectory, StreamSchema
from typing_extensions import override

from tap_callrecords.call_records import CallMapping, CallRow, schemas
from tap_callrecords.core.output import RecordLoopStream
from tap_callrecords.core.reader import ItemOf, Output, Read

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context


@dataclass(frozen=True)
class VendorCalls:
    """Where one vendor's rows come from: its read, its mapping, its default phone region."""

    read: Read
    to_call: CallMapping
    region: str | None


class CallRecordsStream(RecordLoopStream):
    """One row per interaction of every configured vendor; primary key ``vendor`` + ``call_id``."""

    name = "call_records"
    primary_keys = ("vendor", "call_id")
    replication_key = "started_at"
    schema = StreamSchema(SchemaDirectory(schemas))
    is_sorted = False

    def __init__(self, tap: Tap, *, vendors: Mapping[str, VendorCalls]) -> None:
        super().__init__(tap)
        self._outputs: dict[str, tuple[Read, Output]] = {}
        for vendor, calls in vendors.items():
            output = Output(self, {"vendor": vendor}, item_of=self._rows(calls))
            calls.read.add_output(output)
            self._outputs[vendor] = (calls.read, output)

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]]:
        """One partition, and one bookmark, per vendor."""
        return [{"vendor": vendor} for vendor in self._outputs]

    @override
    def get_records(self, context: Context | None) -> Iterable[t.Any]:
        """The vendor's rows, from its read."""
        vendor = (context or {}).get("vendor")
        if vendor not in self._outputs:
            return ()
        read, output = self._outputs[vendor]
        return read.records_for(output)

    def _rows(self, calls: VendorCalls) -> t.Callable[[], ItemOf]:
        """How a vendor record becomes a row, chosen when the run starts.

        Written directly: the row struct itself, with the record (or its JSON, when the
        read encoded it already for the vendor stream) as ``raw``. Else the SDK's record
        path (stream maps, selection) gets a plain dict, ``raw`` a copy it may edit."""
        to_call, region = calls.to_call, calls.region

        def item_of() -> ItemOf:
            if self.writes_directly():
                def row(record: dict[str, t.Any], encoded: msgspec.Raw | None) -> CallRow:
                    call = to_call(record, region)
                    call.raw = record if encoded is None else encoded
                    return call
                return row

            def row_dict(record: dict[str, t.Any], _encoded: msgspec.Raw | None) -> dict[str, t.Any]:
                call = to_call(record, region)
                call.raw = dict(record)
                return msgspec.structs.asdict(call)
            return row_dict

        return item_of
