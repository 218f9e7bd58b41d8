"""The ``voiso_cdr`` stream: every interaction (calls, SMS, chats) from ``/api/v2/cdr``."""

from __future__ import annotations

from datetime import timedelta

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.paged import PagedFetcher
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.voiso import schemas
from tap_callrecords.vendors.voiso.api import cdr_endpoint
from tap_callrecords.vendors.voiso.calls import voiso_call
from tap_callrecords.vendors.voiso.records import voiso_record


class VoisoCdrStream(WindowedStream):
    """Voiso call detail records, in windows of whole UTC days."""

    name = "voiso_cdr"
    primary_keys = ("uuid",)
    replication_key = "timestamp"
    schema = StreamSchema(SchemaDirectory(schemas))
    window_align = staticmethod(floor_to_day)
    to_call = staticmethod(voiso_call)
    convert = staticmethod(voiso_record)

    @property
    def window_step(self) -> timedelta:
        """Whole days, as many as ``voiso.window_days``."""
        return timedelta(days=int(self.settings["window_days"]))

    def build_fetcher(self) -> PagedFetcher:
        return PagedFetcher(self.client, cdr_endpoint(self.settings), name=self.name,
                            parallel=int(self.settings["max_parallel_windows"]))
