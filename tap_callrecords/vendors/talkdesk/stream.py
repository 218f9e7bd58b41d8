"""The ``talkdesk_calls`` stream: Talkdesk Explore's ``explore_calls`` report, job by job."""

from __future__ import annotations

import typing as t
from datetime import timedelta
from zoneinfo import ZoneInfo

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.jobs import JobFetcher
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.talkdesk import schemas
from tap_callrecords.vendors.talkdesk.api import ExploreCallsReports
from tap_callrecords.vendors.talkdesk.calls import talkdesk_call
from tap_callrecords.vendors.talkdesk.records import records_for

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk import Tap

    from tap_callrecords.core.client import VendorClient
    from tap_callrecords.core.reader import Halt


class TalkdeskCallsStream(WindowedStream):
    """Talkdesk calls: one report job per window of whole UTC days (at most 31).

    Jobs for the next windows run while the current one is emitted (up to
    ``talkdesk.max_concurrent_jobs``); the file's local times are read in the job's
    timezone (``talkdesk.timezone``) and emitted in UTC.
    """

    name = "talkdesk_calls"
    primary_keys = ("interaction_id",)
    replication_key = "start_time"
    schema = StreamSchema(SchemaDirectory(schemas))
    window_align = staticmethod(floor_to_day)
    to_call = staticmethod(talkdesk_call)

    def __init__(self, tap: Tap, *, client: VendorClient, settings: Mapping[str, t.Any],
                 halt: Halt | None = None) -> None:
        self.convert = records_for(ZoneInfo(str(settings["timezone"])))
        super().__init__(tap, client=client, settings=settings, halt=halt)

    @property
    def window_step(self) -> timedelta:
        """Whole days, as many as ``talkdesk.window_days`` (the API takes at most 31)."""
        return timedelta(days=int(self.settings["window_days"]))

    def build_fetcher(self) -> JobFetcher:
        settings = self.settings
        reports = ExploreCallsReports(self.client, timezone=str(settings["timezone"]),
                                      report_format=str(settings["report_format"]),
                                      row_cap=int(settings["report_row_cap"]),
                                      key_columns=(*self.primary_keys, str(self.replication_key)))
        return JobFetcher(
            reports,
            max_concurrent=int(settings["max_concurrent_jobs"]),
            job_timeout=60.0 * float(settings["job_timeout_minutes"]),
            retry_policy=self.client.retry_policy,
            logger=self.client.logger,
        )
