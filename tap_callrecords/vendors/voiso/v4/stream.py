"""The ``voiso_cdrs_v4`` stream: every interaction from ``/api/v4/reporting/cdrs``."""

from __future__ import annotations

from datetime import timedelta

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.paged import PagedFetcher
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.voiso.v4 import schemas
from tap_callrecords.vendors.voiso.v4.api import cdrs_endpoint
from tap_callrecords.vendors.voiso.v4.calls import voiso_v4_call
from tap_callrecords.vendors.voiso.v4.records import voiso_v4_record


class VoisoCdrsV4Stream(WindowedStream):
    """Voiso v4 call detail records, windows filtered exactly on ``started_at``."""

    name = "voiso_cdrs_v4"
    primary_keys = ("id",)
    replication_key = "started_at"
    schema = StreamSchema(SchemaDirectory(schemas))
    window_align = staticmethod(floor_to_day)
    to_call = staticmethod(voiso_v4_call)
    convert = staticmethod(voiso_v4_record)

    @property
    def window_step(self) -> timedelta:
        """Whole days, as many as ``voiso.window_days`` (the bookmark advances per window)."""
        return timedelta(days=int(self.settings["window_days"]))

    def build_fetcher(self) -> PagedFetcher:
        return PagedFetcher(self.client, cdrs_endpoint(self.settings), name=self.name)
