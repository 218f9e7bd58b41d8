"""talkdesk_calls under each reading of what Talkdesk leaves undocumented, end to end
through the CLI: whether the job's timezone or the timespan's offset wins, a CSV header
of display names, ``h:mm:ss`` durations, and json as the default format."""

from __future__ import annotations

import pytest

from tests.assertions import assert_records_match_schema, assert_unique_keys
from tests.test_talkdesk import KEY, STREAM, comparable, config_for, configure, talkdesk_stats


@pytest.mark.parametrize("timespan_zone", ["offset_wins", "timezone_wins"])
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_the_timespan_means_the_same_whether_the_timezone_or_the_offset_wins(
        sandbox, run_tap, zone, timespan_zone):
    options = configure(sandbox, count=3_000, timespan_zone=timespan_zone)

    run = run_tap(config_for(sandbox, options, talkdesk={"timezone": zone}))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 3_000  # none lost at a shifted window's edge
    assert_unique_keys(records, KEY)
    spans = talkdesk_stats(sandbox)["timespans"]
    first = {"America/New_York": "2024-06-30T20:00:00-04:00", "Asia/Kolkata": "2024-07-01T05:30:00+05:30"}
    assert spans[0]["from"] == first[zone]  # the wall time in the job's zone, with its offset
    assert all(span["timezone"] == zone for span in spans)


def test_json_is_the_default_format(sandbox, run_tap):
    options = configure(sandbox, count=500)
    config = config_for(sandbox, options)
    config["talkdesk"].pop("report_format", None)

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 500
    assert {span["format"] for span in talkdesk_stats(sandbox)["timespans"]} == {"json"}


def without_extra(records):
    return {key: {name: value for name, value in record.items() if name != "extra"}
            for key, record in comparable(records).items()}


@pytest.mark.parametrize("report_format", ["csv", "json"])
def test_display_name_headers_and_h_mm_ss_durations_read_as_the_keys_and_seconds(
        sandbox, run_tap, report_format):
    options = configure(sandbox, count=2_000, duration_unit="seconds")
    reference = run_tap(config_for(sandbox, options, talkdesk={"report_format": "json"}))
    assert reference.returncode == 0, reference.stderr
    sandbox.reset()
    configure(sandbox, count=2_000, duration_unit="hms", csv_header="display_names")

    run = run_tap(config_for(sandbox, options, talkdesk={"report_format": report_format}))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    records = run.records(STREAM)
    assert len(records) == 2_000
    assert without_extra(records) == without_extra(reference.records(STREAM))
    assert any(record["talk_time"] and record["talk_time"] >= 60 for record in records)
    if report_format == "csv":  # a column whose key is unknown keeps the name it came under
        assert all("Mood" in record["extra"] for record in records)
