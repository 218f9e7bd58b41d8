"""The ``zoom_voice_call_legs`` stream: one row per leg of a call, from Zoom's detail view.

It fetches nothing of its own: it is one more output of the ``zoom_voice_calls`` read
(as ``call_records`` is), each checked call giving a row per entry of its
``voice_call_details``. When it is selected the read asks for ``view_type=detail``, so
legs and calls come from the same requests; alone, it still reads the detail view once.
Zoom gives a leg no ID: its position in the call's entries, with the engagement, is the key.
"""

from __future__ import annotations

import typing as t

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.output import RecordLoopStream
from tap_callrecords.core.reader import Output
from tap_callrecords.core.records import EXTRA, load_schema
from tap_callrecords.vendors.zoom import schemas

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_callrecords.core.stream import WindowedStream

SCHEMA = load_schema(schemas, "zoom_voice_call_legs.json")
#: The leg fields as in ``zoom_voice_calls``' ``voice_call_details`` entries (typed there).
LEG_FIELDS = tuple(key for key in SCHEMA["properties"]
                   if key not in ("engagement_id", "leg_number", "call_start_time", EXTRA))


def call_legs(call: dict[str, t.Any], _encoded: t.Any = None) -> list[dict[str, t.Any]]:
    """The rows of one typed ``zoom_voice_calls`` record: a leg's keys the schema does not
    know go to ``extra``, as in every record."""
    rows = []
    for number, leg in enumerate(call.get("voice_call_details") or (), 1):
        row: dict[str, t.Any] = {"engagement_id": call["engagement_id"], "leg_number": number,
                                 "call_start_time": call["start_time"]}
        for key in LEG_FIELDS:
            row[key] = leg.get(key)
        unknown = {key: value for key, value in leg.items() if key not in row}
        row[EXTRA] = unknown or None
        rows.append(row)
    return rows


class ZoomVoiceCallLegsStream(RecordLoopStream):
    """The legs of each Zoom call; primary key ``engagement_id`` + ``leg_number``."""

    name = "zoom_voice_call_legs"
    primary_keys = ("engagement_id", "leg_number")
    replication_key = "call_start_time"
    schema = StreamSchema(SchemaDirectory(schemas))
    is_sorted = False

    def __init__(self, tap: Tap, *, source: WindowedStream) -> None:
        super().__init__(tap)
        self.read = source.read
        self.output = Output(self, None, item_of=lambda: call_legs, expands=True)
        self.read.add_output(self.output)

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """The legs of the calls of the Zoom read (run now, or earlier for another output)."""
        return self.read.records_for(self.output)
