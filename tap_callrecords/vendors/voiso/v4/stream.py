"""The ``voiso_cdrs_v4`` stream: every interaction from ``/api/v4/reporting/cdrs``."""

from __future__ import annotations

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.paged import PagedFetcher
from tap_callrecords.vendors.voiso.stream import VoisoCdrStream
from tap_callrecords.vendors.voiso.v4 import schemas
from tap_callrecords.vendors.voiso.v4.api import cdrs_endpoint
from tap_callrecords.vendors.voiso.v4.calls import voiso_v4_call
from tap_callrecords.vendors.voiso.v4.records import voiso_v4_record


class VoisoCdrsV4Stream(VoisoCdrStream):
    """Voiso v4 call detail records, windows filtered exactly on ``started_at``; v2's
    windows (whole UTC days, ``voiso.window_days`` of them), so the settings mean the same."""

    name = "voiso_cdrs_v4"
    primary_keys = ("id",)
    replication_key = "started_at"
    schema = StreamSchema(SchemaDirectory(schemas))
    to_call = staticmethod(voiso_v4_call)
    convert = staticmethod(voiso_v4_record)

    def build_fetcher(self) -> PagedFetcher:
        return PagedFetcher(self.client, cdrs_endpoint(self.settings), name=self.name,
                            parallel=int(self.settings["max_parallel_windows"]))
