"""What a person reads on stderr: at the default level a start line, progress at most every
~15 s and a closing summary per stream, nothing per request; DEBUG one switch away."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tap_callrecords.core import progress as progress_module
from tap_callrecords.core.convert import to_utc_iso
from tap_callrecords.core.progress import StreamProgress
from tap_callrecords.core.windows import Window, iter_windows
from tests.conftest import DEBUG, every_vendor_config

SUMMARY = re.compile(
    r"\| (?P<stream>\w+): done: (?P<records>[\d,]+) records?, (?P<windows>[\d,]+) windows?.*?, "
    r"(?P<requests>[\d,]+) requests?, (?P<retries>[\d,]+) retr(?:y|ies), (?P<skipped>[\d,]+) skipped "
    r"\(outside their window\), (?P<reread>[\d,]+) re-read \(lookback\); [\d.]+ s, [\d,-]+ records/s"
    r"(?:; zoom_voice_call_legs: (?P<legs>[\d,]+) rows?)?(?:; call_records: (?P<call_records>[\d,]+) rows?)?$"
)


def summaries(stderr: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in stderr.splitlines():
        if match := SUMMARY.search(line):
            values = match.groupdict()
            stream = values.pop("stream")
            found[stream] = {name: int(value.replace(",", "")) for name, value in values.items()
                             if value is not None}
    return found


def test_a_default_sync_of_every_vendor_is_a_short_log_whose_summaries_count_what_was_emitted(
    sandbox, run_tap
):
    calls = 10_000
    run = run_tap(every_vendor_config(sandbox, calls))

    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) < 60, run.stderr
    assert not [line for line in lines if "METRIC" in line or "urllib3" in line or "DEBUG" in line]
    stats = sandbox.stats()
    assert sum(vendor["requests"] for vendor in stats.values()) > 500  # so none is logged per request
    found = summaries(run.stderr)
    streams = {message["stream"] for message in run.messages if message["type"] == "SCHEMA"}
    # The legs are written from the Zoom read: its summary counts them.
    assert set(found) == streams - {"call_records", "zoom_voice_call_legs"} and len(streams) == 6
    assert found["zoom_voice_calls"]["legs"] == len(run.records("zoom_voice_call_legs")) > calls
    assert len(run.records("call_records")) == 4 * calls  # written as the vendor streams read
    for stream, summary in found.items():
        assert summary["records"] == len(run.records(stream)) == summary["call_records"] == calls
        assert summary["retries"] == 0
        [start] = [line for line in lines if f"| {stream} (" in line]
        assert "syncing 2024-07-01 00:00 to 2024-07-31 00:00 UTC in " in start
        assert "(first run, from start_date)" in start
    # Smartflo's hour-long windows: 720 of them, and neither a line nor a STATE is lost.
    assert found["smartflo_call_records"]["windows"] == 720
    assert found["voiso_cdr"]["requests"] == stats["voiso"]["requests"]
    assert found["voiso_cdr"]["skipped"] > 0  # Voiso's one extra day on either side of a window
    assert "Beginning sync of" not in run.stderr  # the SDK's lines that the start line says


def test_an_incremental_run_counts_the_lookback_it_re_reads(sandbox, run_tap):
    config = every_vendor_config(sandbox, 3_000)
    config = {"start_date": config["start_date"], "end_date": config["end_date"], "voiso": config["voiso"]}
    first = run_tap(config)
    second = run_tap({**config, "lookback_minutes": 24 * 60}, state=first.final_state)

    assert second.returncode == 0, second.stderr
    summary = summaries(second.stderr)["voiso_cdr"]
    records = second.records("voiso_cdr")
    assert summary["records"] == len(records) > 0
    assert summary["reread"] == len(records)  # the bookmark is end_date: everything is the lookback
    assert "from the bookmark 2024-07-31 00:00 less 1 day of lookback" in second.stderr


@pytest.mark.parametrize("how", [{"env": DEBUG}, {"options": ("--log-level", "debug")}],
                         ids=["env", "switch"])
def test_debug_brings_back_windows_requests_and_metrics(sandbox, run_tap, how):
    config = every_vendor_config(sandbox, 500)
    config = {"start_date": config["start_date"], "end_date": config["end_date"], "zoom": config["zoom"]}

    run = run_tap(config, **how)

    assert run.returncode == 0, run.stderr
    assert "METRIC: " in run.stderr
    assert run.stderr.count("zoom_voice_calls: window 2024-07-") == 30
    assert "Beginning sync of 'zoom_voice_calls'" in run.stderr  # the SDK's own lines, at DEBUG


def test_metrics_log_level_shows_metric_lines_at_the_default_level(sandbox, run_tap):
    config = every_vendor_config(sandbox, 500)
    config = {"start_date": config["start_date"], "end_date": config["end_date"], "voiso": config["voiso"]}

    shown = run_tap({**config, "metrics_log_level": "INFO"})
    quiet = run_tap({**config, "log_level": "WARNING"})

    assert shown.returncode == quiet.returncode == 0
    assert '"metric":"record_count","value":500' in shown.stderr
    assert "DEBUG" not in shown.stderr
    info = [line for line in quiet.stderr.splitlines() if "INFO" in line]
    assert len(info) == 1 and "Meltano SDK v" in info[0], quiet.stderr  # logged before the config is read


def test_a_stream_stopped_by_an_error_says_how_far_it_got(sandbox, run_tap):
    config = every_vendor_config(sandbox, 5_000)
    # One window at a time: "after 4" requests is then the whole first window (with windows
    # in flight the 4 good replies are shared among them, and none completes).
    config = {"start_date": config["start_date"], "end_date": config["end_date"],
              "voiso": {**config["voiso"], "max_parallel_windows": 1}, "max_retries": 1}
    sandbox.faults("voiso", {"status": 500, "after": 4, "repeat": 50})

    run = run_tap(config)

    assert run.returncode != 0
    [stopped] = [line for line in run.stderr.splitlines() if "voiso_cdr: stopped by an error" in line]
    assert "in 1 window of 3 complete; the last STATE covers calls before 2024-07-15 00:00 UTC" in stopped
    assert run.final_state["bookmarks"]["voiso_cdr"]["replication_key_value"].startswith("2024-07-15")


# -- Progress lines, on a clock the test moves ------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", fake)
    return fake


def fake_stream(caplog, lookback_minutes: int = 180):
    logger = logging.getLogger("tap-callrecords.test_stream")
    caplog.set_level(logging.INFO, logger=logger.name)
    client = SimpleNamespace(label="Vendor", requests_sent=7, retries=1)
    return SimpleNamespace(name="test_stream", logger=logger, client=client, window_step=timedelta(hours=1),
                           config={"lookback_minutes": lookback_minutes})


def hours(count: int) -> tuple[Window, list[Window]]:
    start = datetime(2024, 7, 1, tzinfo=timezone.utc)
    run = Window(start, start + timedelta(hours=count))
    return run, list(iter_windows(run.start, run.end, timedelta(hours=1)))


def test_progress_lines_come_at_most_every_15_seconds_never_per_window(caplog, clock):
    stream = fake_stream(caplog)
    run, windows = hours(720)
    progress = StreamProgress(stream, run, windows, bookmark=None)
    stream.client.requests_sent += 720
    for window in windows:  # 720 hour-long windows over 45 s
        clock.now += 1 / 16
        progress.window_done(window, 10, 0, 1)
    clock.now += 0.5
    progress.finish()

    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == ("test_stream (Vendor): syncing 2024-07-01 00:00 to 2024-07-31 00:00 UTC "
                           "in 720 windows of 1 hour (first run, from start_date)")
    ticks = [m for m in messages if "so far" in m]
    assert len(ticks) == 3, messages
    assert ticks[0] == ("test_stream: 2,400 records so far, 160 records/s; 33% of the range "
                        "(to 2024-07-11 00:00 UTC), 240 windows of 720 done; 15 s")
    assert messages[-1] == ("test_stream: done: 7,200 records, 720 windows, 720 requests, 0 retries, "
                            "720 skipped (outside their window), 0 re-read (lookback); 45.5 s, 158 records/s")
    assert len(messages) == 5


def test_a_long_window_reports_progress_from_inside_it(caplog, clock):
    stream = fake_stream(caplog)
    run, windows = hours(2)
    progress = StreamProgress(stream, run, windows, bookmark=None)
    check_at = progress.check_every
    for emitted in range(1, 150_001):  # the record loop of stream.py, 4,000 records/s
        if emitted == check_at:
            clock.now += progress.check_every / 4000
            check_at = progress.tick(emitted)

    ticks = [r.getMessage() for r in caplog.records if "so far" in r.getMessage()]
    assert len(ticks) == 2
    assert ticks[0] == ("test_stream: 60,000 records so far, 4,000 records/s; 0% of the range "
                        "(to 2024-07-01 00:00 UTC), window 1 of 2; 15 s")


def test_records_before_the_bookmark_are_counted_as_re_read(caplog, clock):
    stream = fake_stream(caplog)
    run, windows = hours(3)
    bookmark = run.start + timedelta(minutes=90)
    progress = StreamProgress(stream, run, windows, bookmark=bookmark)

    assert [progress.new_from(to_utc_iso(w.start), to_utc_iso(w.end)) for w in windows] == [
        "2024-07-01T01:00:00.000000+00:00",  # before the bookmark: every record is re-read
        "2024-07-01T01:30:00.000000+00:00",  # the bookmark's window: up to the bookmark
        "2024-07-01T02:00:00.000000+00:00",  # after it: none
    ]
    assert "from the bookmark 2024-07-01 01:30 less 3 hours of lookback" in caplog.records[0].getMessage()
