"""Talkdesk's other Explore reports (contacts, ring attempts, user status, Studio flow
steps) as streams: exactly the sandbox's rows, unique by key, across a backfill and
incremental runs, in every file format; one account's job slots shared by every report;
a report the account is not entitled to ends its own stream only."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tap_callrecords.sandbox.data import SyntheticTimeline
from tap_callrecords.sandbox.talkdesk_reports import rows_in_data_set
from tests.assertions import assert_unique_keys
from tests.conftest import catalog_path
from tests.vendors import TALKDESK

#: Stream -> (report type, primary key, replication key).
REPORT_STREAMS = {
    "talkdesk_contacts": ("contacts", "contact_id", "started_at"),
    "talkdesk_ring_attempts": ("ring_attempts", "ring_attempt_id", "ring_started_at_time"),
    "talkdesk_user_status": ("user_status", "user_status_id", "status_start_at"),
    "talkdesk_studio_flow_executions": ("studio_flow_execution", "flow_execution_step_id", "timestamp"),
}
WEEK = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-08T00:00:00+00:00"}
CALLS = 300


def week_config(sandbox, **settings):
    options = TALKDESK.configure(sandbox, count=CALLS, job_duration=0.05, **WEEK)
    return options, TALKDESK.config(sandbox, options, settings={"window_days": 2, **settings})


@pytest.fixture
def run_reports(run_tap, tmp_path):
    """Run the tap with every Talkdesk stream and ``call_records`` selected (the reports
    other than calls are selected only by a catalog)."""
    def run(config, state=None):
        selected = {"talkdesk_calls", "call_records", *REPORT_STREAMS}
        catalog = catalog_path(run_tap, tmp_path, config, selected)
        return run_tap(config, state=state, options=("--catalog", str(catalog)))
    return run


def during_call(index: int) -> str:
    """30 s after call ``index`` of the week's data set starts: its rows spread over the
    minute from its start, so a run ending here splits them."""
    start, end = (datetime.fromisoformat(WEEK[edge]) for edge in ("start", "end"))
    timeline = SyntheticTimeline(CALLS, start, end)
    return datetime.fromtimestamp(timeline.epoch_ms(index) // 1000 + 30, timezone.utc).isoformat()


#: Which rows a report's timespan selects (the docs do not say): by the row's own time, or
#: by its call's, the call selected by its start or by its end.
READINGS = {"own_time": {}, "call_start": {"report_rows": "by_call"},
            "call_end": {"report_rows": "by_call", "range_by": "end"}}


@pytest.mark.parametrize(("report_format", "reading"), [
    ("json", "own_time"), ("csv", "own_time"), ("json_bulk", "own_time"),
    ("json", "call_start"), ("csv", "call_end")])
def test_each_report_lands_exactly_its_rows_across_a_backfill_and_two_incremental_runs(
        sandbox, run_reports, report_format, reading):
    _, config = week_config(sandbox, report_format=report_format)
    sandbox.configure("talkdesk", **READINGS[reading])
    seen: dict[str, set[str]] = {stream: set() for stream in REPORT_STREAMS}
    state = None
    for end in (during_call(86), during_call(150), None):
        run = run_reports({**config, "end_date": end} if end else config, state=state)

        assert run.returncode == 0, run.stderr
        for stream, (_, key, replication_key) in REPORT_STREAMS.items():
            records = run.records(stream)
            assert_unique_keys(records, key)
            assert all(r[replication_key].endswith("+00:00") for r in records)
            if end is not None:
                assert all(r[replication_key] < end for r in records)
                assert run.bookmark(stream) == end.replace("+00:00", ".000000+00:00")
            seen[stream] |= {r[key] for r in records}
        state = run.final_state

    for stream, (report, _, _) in REPORT_STREAMS.items():
        assert len(seen[stream]) == rows_in_data_set(report, CALLS), stream
    vendor = TALKDESK.stats(sandbox)["vendor"]
    assert vendor["undeleted_files"] == 0 and vendor["running_jobs"] == 0


def test_report_records_are_typed_and_join_the_calls_by_interaction_id(sandbox, run_reports):
    _, config = week_config(sandbox, report_format="csv")

    run = run_reports(config)

    assert run.returncode == 0, run.stderr
    calls = {r["interaction_id"] for r in run.records("talkdesk_calls")}
    contacts = run.records("talkdesk_contacts")
    assert {r["interaction_id"] for r in contacts} == calls
    first = contacts[0]
    assert isinstance(first["inside_business_hours"], bool) and isinstance(first["talk_time"], int)
    steps = run.records("talkdesk_studio_flow_executions")
    assert all(r["time_in_step"] == 0.5 for r in steps)  # a day fraction, as seconds
    assert all(r["flow_execution_finished_time"] > r["timestamp"] for r in steps)
    statuses = run.records("talkdesk_user_status")
    assert all(r["is_user_active"] is True for r in statuses)
    assert {r["status_label"] for r in statuses} == {"On a call", "After call work"}
    # Not in call_records: it stays one row per call.
    assert len(run.records("call_records")) == CALLS


def test_report_jobs_never_exceed_max_concurrent_jobs_across_every_report(sandbox, run_reports):
    _, config = week_config(sandbox, window_days=1, max_concurrent_jobs=2)
    sandbox.configure("talkdesk", job_duration=0.3)

    run = run_reports(config)

    assert run.returncode == 0, run.stderr
    vendor = TALKDESK.stats(sandbox)["vendor"]
    assert vendor["max_concurrent_jobs"] <= 2
    assert vendor["jobs_by_report"] == {"explore_calls": 7, **{report: 7 for report, _, _ in
                                                               REPORT_STREAMS.values()}}
    assert vendor["undeleted_files"] == 0 and vendor["running_jobs"] == 0


def test_a_report_the_account_is_not_entitled_to_ends_that_stream_with_one_line(sandbox, run_reports):
    _, config = week_config(sandbox)
    sandbox.configure("talkdesk", forbidden_reports=["user_status"])

    run = run_reports(config)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    refused = [line for line in run.stderr.splitlines() if "HTTP 403" in line]
    assert len(refused) == 1
    assert "talkdesk_user_status" in refused[0] and "user_status report" in refused[0]
    assert "Deselect it" in refused[0]
    assert run.records("talkdesk_user_status") == []
    assert "replication_key_value" not in run.final_state["bookmarks"].get("talkdesk_user_status", {})
    for stream, (report, key, _) in REPORT_STREAMS.items():
        if stream != "talkdesk_user_status":
            assert len({r[key] for r in run.records(stream)}) == rows_in_data_set(report, CALLS)
    assert len(run.records("talkdesk_calls")) == CALLS


def test_without_a_catalog_only_the_calls_report_runs(sandbox, run_tap):
    _, config = week_config(sandbox)

    run = run_tap(config)
    discovered = run_tap(config, options=("--discover",))

    assert run.returncode == 0, run.stderr
    assert {m["stream"] for m in run.messages if m["type"] == "RECORD"} == {"talkdesk_calls", "call_records"}
    assert TALKDESK.stats(sandbox)["vendor"]["jobs_by_report"] == {"explore_calls": 4}
    by_default = {entry["tap_stream_id"]: stream_metadata["metadata"]["selected-by-default"]
                  for entry in json.loads(discovered.stdout)["streams"]
                  for stream_metadata in entry["metadata"] if stream_metadata["breadcrumb"] == []
                  if entry["tap_stream_id"].startswith("talkdesk_")}
    assert by_default == {"talkdesk_calls": True, **{stream: False for stream in REPORT_STREAMS}}
