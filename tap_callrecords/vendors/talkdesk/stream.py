"""Talkdesk's streams: one Explore report each, job by job, on the account's shared job slots.

A report stream declares what it is (its report type, keys, schema, the durations sent
as day fractions and, for a report without row IDs, the columns its key is derived
from); the job fetcher, the conversion and the record rules are the same for all.
"""

from __future__ import annotations

import logging
import typing as t
import weakref
from datetime import timedelta
from zoneinfo import ZoneInfo

from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.jobs import JobFetcher, JobSlots, ReportNotEntitled
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.talkdesk import schemas
from tap_callrecords.vendors.talkdesk.api import CALLS_REPORT, ExploreReports
from tap_callrecords.vendors.talkdesk.calls import talkdesk_call
from tap_callrecords.vendors.talkdesk.records import ColumnKeys, DerivedKey, records_for, report_conversion

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from singer_sdk import Tap

    from tap_callrecords.core.client import VendorClient
    from tap_callrecords.core.reader import Convert, Halt
    from tap_callrecords.core.windows import Window

#: Each account's job slots, by its client: every report stream of it shares them.
_SLOTS: weakref.WeakKeyDictionary[VendorClient, JobSlots] = weakref.WeakKeyDictionary()


def job_slots(client: VendorClient, limit: int) -> JobSlots:
    """The job slots of the account ``client`` reads (``talkdesk.max_concurrent_jobs``)."""
    slots = _SLOTS.get(client)
    if slots is None:
        slots = _SLOTS[client] = JobSlots(limit)
    return slots


class TalkdeskReportStream(WindowedStream):
    """A Talkdesk Explore report: one report job per window of whole UTC days (at most 31).

    Jobs for the next windows run while the current one is emitted, up to
    ``talkdesk.max_concurrent_jobs`` across every report of the account; the file's local
    times are read in the job's timezone (``talkdesk.timezone``) and emitted in UTC.

    Reports other than calls are selected only when a catalog selects them: each costs a
    job per window from the account's 15-job quota, and not every account is entitled to
    every report. (Meltano's default ``select``, ``*.*``, selects them.)
    """

    selected_by_default = False
    #: The report type, as in ``/data/reports/{report}/jobs``.
    report: t.ClassVar[str]
    #: Durations Talkdesk sends as a fraction of a day (seconds in the record).
    day_fraction_fields: t.ClassVar[tuple[str, ...]] = ()
    #: Talkdesk's key -> the field, where the two differ.
    renames: t.ClassVar[dict[str, str]] = {}
    #: For a report without row IDs: the columns the primary key is derived from.
    key_from: t.ClassVar[tuple[str, ...]] = ()
    #: Each report stream's ``schemas/<stream name>.json`` (the SDK reads each file once).
    schema = StreamSchema(SchemaDirectory(schemas))
    window_align = staticmethod(floor_to_day)

    def __init__(self, tap: Tap, *, client: VendorClient, settings: Mapping[str, t.Any],
                 halt: Halt | None = None) -> None:
        self.convert = self.conversion(ZoneInfo(str(settings["timezone"])))
        super().__init__(tap, client=client, settings=settings, halt=halt)

    def conversion(self, zone: ZoneInfo) -> Convert:
        """Raw row -> typed record, for jobs in ``zone``."""
        convert: Convert = report_conversion(self.schema, self.day_fraction_fields, zone,
                                             renames=self.renames)
        return DerivedKey(convert, self.primary_keys[0], self.key_from) if self.key_from else convert

    @property
    def window_step(self) -> timedelta:
        """Whole days, as many as ``talkdesk.window_days`` (the API takes at most 31)."""
        return timedelta(days=int(self.settings["window_days"]))

    def build_fetcher(self) -> JobFetcher | EntitledReports:
        settings = self.settings
        key_columns = (*(self.key_from or self.primary_keys), str(self.replication_key))
        reports = ExploreReports(self.client, timezone=str(settings["timezone"]),
                                 report_format=str(settings["report_format"]),
                                 row_cap=int(settings["report_row_cap"]),
                                 key_columns=tuple(self.renames.get(c, c) for c in key_columns),
                                 report=self.report,
                                 column_key=ColumnKeys(self.schema))
        jobs = JobFetcher(
            reports,
            max_concurrent=int(settings["max_concurrent_jobs"]),
            job_timeout=60.0 * float(settings["job_timeout_minutes"]),
            retry_policy=self.client.retry_policy,
            logger=self.client.logger,
            slots=job_slots(self.client, int(settings["max_concurrent_jobs"])),
        )
        return jobs if self.report == CALLS_REPORT else EntitledReports(jobs, self.name, self.logger)


class EntitledReports:
    """A report's job fetcher, for a report the account may not be entitled to: a 403 to a
    new job ends this stream's read with one line, claiming nothing past the windows
    already read, and the other streams go on (``talkdesk_calls`` is every account's)."""

    def __init__(self, jobs: JobFetcher, stream: str, logger: logging.Logger) -> None:
        self.jobs = jobs
        self.stream = stream
        self.logger = logger

    def read(self, windows: Iterable[Window]) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
        try:
            yield from self.jobs.read(windows)
        except ReportNotEntitled as refused:
            self.logger.error("%s: %s; the stream is skipped and claims nothing. Deselect it, or ask "
                              "Talkdesk to enable the report for the account.", self.stream, refused)


class TalkdeskCallsStream(TalkdeskReportStream):
    """Talkdesk calls: the ``explore_calls`` report, one row per call."""

    name = "talkdesk_calls"
    report = CALLS_REPORT
    selected_by_default = True
    primary_keys = ("interaction_id",)
    replication_key = "start_time"
    to_call = staticmethod(talkdesk_call)

    def conversion(self, zone: ZoneInfo) -> Convert:
        return records_for(zone)  # shared: its caches serve every job in the zone


class TalkdeskRingAttemptsStream(TalkdeskReportStream):
    """Each time an agent was rung for a contact (joins calls by ``interaction_id``)."""

    name = "talkdesk_ring_attempts"
    report = "ring_attempts"
    primary_keys = ("ring_attempt_id",)
    replication_key = "ring_started_at_time"


class TalkdeskContactsStream(TalkdeskReportStream):
    """Each contact of an interaction: one party, one leg (joins calls by ``interaction_id``)."""

    name = "talkdesk_contacts"
    report = "contacts"
    primary_keys = ("contact_id",)
    replication_key = "started_at"


class TalkdeskUserStatusStream(TalkdeskReportStream):
    """Each status an agent was in; keyed by agent, start and status (the report has no ID)."""

    name = "talkdesk_user_status"
    report = "user_status"
    primary_keys = ("user_status_id",)
    replication_key = "status_start_at"
    key_from = ("user_id", "status_start_at", "status_label")


class TalkdeskStudioFlowExecutionsStream(TalkdeskReportStream):
    """Each step a Studio flow executed; keyed by interaction, flow and step (no ID)."""

    name = "talkdesk_studio_flow_executions"
    report = "studio_flow_execution"
    primary_keys = ("flow_execution_step_id",)
    replication_key = "timestamp"
    day_fraction_fields = ("time_in_step",)
    renames: t.ClassVar[dict[str, str]] = {
        "studio_flow_executions_aggregated.flow_execution_finished_time": "flow_execution_finished_time"}
    key_from = ("interaction_id", "flow_id", "step_execution_order")


REPORT_STREAMS: tuple[type[TalkdeskReportStream], ...] = (
    TalkdeskCallsStream, TalkdeskContactsStream, TalkdeskRingAttemptsStream,
    TalkdeskStudioFlowExecutionsStream, TalkdeskUserStatusStream,
)
