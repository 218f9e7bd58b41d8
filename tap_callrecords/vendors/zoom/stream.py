"""The ``zoom_voice_calls`` stream: Zoom Contact Center's "List voice call logs".

Windows are one UTC day: far inside the one-month range limit, quick to page through
before a 15-minute page token expires, and small enough that the set of engagement
ids kept to survive an expiry stays a few megabytes.
"""

from __future__ import annotations

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.paged import PagedFetcher
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.zoom import schemas
from tap_callrecords.vendors.zoom.api import voice_calls_endpoint
from tap_callrecords.vendors.zoom.calls import zoom_call
from tap_callrecords.vendors.zoom.legs import ZoomVoiceCallLegsStream
from tap_callrecords.vendors.zoom.records import zoom_record


class ZoomVoiceCallsStream(WindowedStream):
    """Zoom Contact Center voice call logs, one UTC day per window."""

    name = "zoom_voice_calls"
    primary_keys = ("engagement_id",)
    replication_key = "start_time"
    schema = StreamSchema(SchemaDirectory(schemas))
    window_align = staticmethod(floor_to_day)
    to_call = staticmethod(zoom_call)
    convert = staticmethod(zoom_record)
    derived = (ZoomVoiceCallLegsStream,)

    def build_fetcher(self) -> PagedFetcher:
        endpoint = voice_calls_endpoint(self.settings, detail=self._legs_selected)
        return PagedFetcher(self.client, endpoint, name=self.name,
                            parallel=int(self.settings["max_parallel_windows"]))

    def _legs_selected(self) -> bool:
        """Whether the legs are written from this read: then it asks for the detail view."""
        return any(isinstance(output.stream, ZoomVoiceCallLegsStream) and output.stream.selected
                   for output in self.read.outputs)
