"""The ``smartflo_call_records`` stream: call detail records from ``/v1/call/records``."""

from __future__ import annotations

from datetime import timedelta

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.paged import PagedFetcher
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.vendors.smartflo import schemas
from tap_callrecords.vendors.smartflo.api import call_records_endpoint, floor_to_hour
from tap_callrecords.vendors.smartflo.calls import smartflo_call
from tap_callrecords.vendors.smartflo.records import smartflo_record


class SmartfloCallRecordsStream(WindowedStream):
    """Tata Smartflo call detail records, in windows of whole UTC hours.

    Paging is by offset (``page``/``limit``), which is only stable while the set of
    records a filter matches does not change. A run ends ``data_latency`` (15 minutes)
    before now, so no window it reads can gain calls that start later; what can still
    arrive in a closed window is the record of a call that started in it and ends while
    it is read. Windows are one hour by default (``window_hours``): at a contact
    center's volume that is a page or a few, read within seconds, so the chance of such
    a shift is small, and a late record is picked up by the next run's lookback.
    Windows align to whole UTC hours, so a resumed run asks for the ranges a fresh one
    would. Longer windows (up to a day) spend fewer requests on quiet accounts, which
    matters under a 1 request/s limit.
    """

    name = "smartflo_call_records"
    primary_keys = ("id",)
    replication_key = "start_time"
    schema = StreamSchema(SchemaDirectory(schemas))
    data_latency = timedelta(minutes=15)
    window_align = staticmethod(floor_to_hour)
    to_call = staticmethod(smartflo_call)
    convert = staticmethod(smartflo_record)

    @property
    def window_step(self) -> timedelta:
        """Whole hours, as many as ``smartflo.window_hours``."""
        return timedelta(hours=int(self.settings["window_hours"]))

    def build_fetcher(self) -> PagedFetcher:
        return PagedFetcher(self.client, call_records_endpoint(self.settings), name=self.name,
                            parallel=int(self.settings["max_parallel_windows"]))
