"""voiso_cdr against the sandbox's Voiso API, end to end through the tap's CLI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tap_callrecords.sandbox.client import vendor_config
from tests.assertions import assert_one_clear_error, assert_records_match_schema, assert_unique_keys

STREAM = "voiso_cdr"
JULY = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-29T00:00:00+00:00"}
FAST_RETRIES = {"retry_initial_wait_seconds": 0.05, "max_retries": 6}


def configure(sandbox, **options):
    options = {**JULY, **options}
    sandbox.configure("voiso", **options)
    return options


@pytest.mark.parametrize("filter_timezone", ["utc", "account"])
def test_full_sync_emits_every_record_once_across_search_token_chains(sandbox, run_tap, filter_timezone):
    options = configure(sandbox, count=25_000, filter_timezone=filter_timezone)
    config = vendor_config(sandbox.url, "voiso", options)
    config["voiso"]["window_days"] = 31  # one window: several 10,000-record chains

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 25_000
    assert_unique_keys(records, "uuid")
    assert sandbox.stats()["voiso"]["vendor"]["search_token_chains"] >= 2
    assert run.final_state["bookmarks"][STREAM] == {
        "replication_key": "timestamp",
        "replication_key_value": "2024-07-29T00:00:00.000000+00:00",
    }


def test_records_are_typed_and_converted(sandbox, run_tap):
    options = configure(sandbox, count=3_000)
    run = run_tap(vendor_config(sandbox.url, "voiso", options))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    records = run.records(STREAM)
    assert all(r["timestamp"].endswith("+00:00") for r in records)
    types = {r["type"] for r in records}
    assert {"outbound SMS", "chat", "inbound"} <= types, types
    chat = next(r for r in records if r["type"] == "chat")
    assert chat["sla"] == {"time_to_first_response": 105, "time_to_resolution": 173787,
                           "time_to_reply": 23}


def test_converts_a_seed_record_exactly(sandbox, run_tap):
    configure(sandbox, count=0)
    sandbox.add_records("voiso", {
        "agent": "Mike A", "from": "15557571011", "disposition": "answered", "duration": "00:01:19",
        "queue": None, "to": "31208112500", "timestamp": "2024-07-03T12:43:09.000-03:00",
        "uuid": "5d73e973-4103-48ac-84ad-4861155f86db", "wrapup_code": "0101", "type": "outbound",
        "agent_id": 56215, "cpc": 0.3972,
    })
    run = run_tap(vendor_config(sandbox.url, "voiso", JULY))

    assert run.returncode == 0, run.stderr
    [record] = run.records(STREAM)
    assert record["timestamp"] == "2024-07-03T15:43:09.000000+00:00"
    assert record["duration"] == 79
    assert record["cpc"] == 0.3972 and record["agent_id"] == 56215 and record["type"] == "outbound"


def test_window_edges_keep_each_record_exactly_once(sandbox, run_tap):
    """Records on either side of a window boundary (in UTC and in account time)."""
    configure(sandbox, count=0, filter_timezone="account")
    edges = ["2024-07-07T23:59:59.999+00:00", "2024-07-08T00:00:00.000+00:00",
             "2024-07-07T21:00:00.000-03:00", "2024-07-07T20:59:59.999-03:00",
             "2024-07-01T00:00:00.000+00:00", "2024-07-28T23:59:59.999+00:00",
             "2024-07-29T00:00:00.000+00:00", "2024-06-30T23:59:59.999+00:00"]
    sandbox.add_records("voiso", *[
        {"uuid": f"edge-{i}", "timestamp": ts, "type": "inbound", "duration": "00:00:01"}
        for i, ts in enumerate(edges)
    ])
    run = run_tap(vendor_config(sandbox.url, "voiso", JULY))

    assert run.returncode == 0, run.stderr
    assert sorted(r["uuid"] for r in run.records(STREAM)) == [f"edge-{i}" for i in range(6)]


def test_incremental_run_rereads_only_the_lookback_and_picks_up_late_records(sandbox, run_tap):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    options = configure(sandbox, count=5_000, start=(now - timedelta(days=3)).isoformat(),
                        end=(now - timedelta(minutes=10)).isoformat())
    config = vendor_config(sandbox.url, "voiso", options, lookback_minutes=60)
    del config["end_date"]

    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    bookmark = datetime.fromisoformat(first.final_state["bookmarks"][STREAM]["replication_key_value"])
    assert now - timedelta(minutes=6) <= bookmark <= now
    assert len(first.records(STREAM)) == 5_000
    assert_unique_keys(first.records(STREAM), "uuid")

    late = (bookmark - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=-3)))
    sandbox.add_records("voiso", {"uuid": "late-call", "type": "inbound", "duration": "00:02:00",
                                  "timestamp": late.isoformat(timespec="milliseconds")})
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    records = second.records(STREAM)
    floor = bookmark - timedelta(minutes=60)
    assert all(datetime.fromisoformat(r["timestamp"]) >= floor for r in records)
    assert "late-call" in {r["uuid"] for r in records}
    expected_reread = [r for r in first.records(STREAM) if datetime.fromisoformat(r["timestamp"]) >= floor]
    assert len(records) == len(expected_reread) + 1
    second_bookmark = second.final_state["bookmarks"][STREAM]["replication_key_value"]
    assert datetime.fromisoformat(second_bookmark) >= bookmark


def test_bookmark_never_moves_backwards(sandbox, run_tap):
    options = configure(sandbox, count=100)
    state = {"bookmarks": {STREAM: {"replication_key": "timestamp",
                                    "replication_key_value": "2024-07-29T00:00:00.000000+00:00"}}}
    config = vendor_config(sandbox.url, "voiso", options, end_date="2024-07-20T00:00:00+00:00")

    run = run_tap(config, state=state)

    assert run.returncode == 0, run.stderr
    assert run.records(STREAM) == []
    assert run.final_state["bookmarks"][STREAM]["replication_key_value"] == "2024-07-29T00:00:00.000000+00:00"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_resume_after_sigkill_loses_nothing(sandbox, kill_and_resume, seed):
    options = configure(sandbox, count=20_000)
    config = vendor_config(sandbox.url, "voiso", options)
    config["voiso"]["window_days"] = 1

    _, _, _, seen = kill_and_resume(config, STREAM, expected=20_000, seed=seed)

    assert len(seen) == 20_000


def test_survives_rate_limits_server_errors_drops_and_malformed_bodies(sandbox, run_tap):
    options = configure(sandbox, count=8_000)
    sandbox.faults(  # spread over the run with ``after`` (requests let through first)
        "voiso",
        {"status": 429, "retry_after": "1", "body": {"error": "Too many requests"}},
        {"status": 503, "repeat": 3, "after": 3},
        {"drop": True, "after": 8},
        {"status": 429, "retry_after_http_date_in": 1, "body": {"error": "Too many requests"},
         "after": 10},
        {"malformed": True, "after": 12},
        {"status": 429, "body": {"error": "Too many requests"}, "after": 14},
        {"status": 500, "after": 16},
    )
    config = vendor_config(sandbox.url, "voiso", options, **FAST_RETRIES)
    config["voiso"]["per_page"] = 500
    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 8_000
    assert_unique_keys(records, "uuid")
    statuses = sandbox.stats()["voiso"]["statuses"]
    assert statuses["429"] == 3 and statuses["503"] == 3 and statuses["500"] == 1 and statuses["0"] == 1


def test_retry_after_is_honoured(sandbox, run_tap):
    options = configure(sandbox, count=10)
    sandbox.faults("voiso", {"status": 429, "retry_after": "2"})
    run = run_tap(vendor_config(sandbox.url, "voiso", options, retry_initial_wait_seconds=0.01))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 10
    assert "retrying /api/v2/cdr in 2." in run.stderr


def test_persistent_fault_ends_with_one_clear_error_and_honest_state(sandbox, run_tap):
    options = configure(sandbox, count=2_000)
    config = vendor_config(sandbox.url, "voiso", options, retry_initial_wait_seconds=0.01, max_retries=3)
    config["voiso"]["window_days"] = 7
    # The first window (one page) succeeds; every request after it fails.
    sandbox.faults("voiso", {"status": 503, "repeat": 1000, "after": 1})

    run = run_tap(config)

    assert_one_clear_error(run, "giving up on /api/v2/cdr after 3 attempts", "HTTP 503")
    first_window_end = "2024-07-08T00:00:00.000000+00:00"
    records = run.records(STREAM)
    assert len(records) == 500  # 2,000 calls over 28 days: a quarter in the first week
    assert all(r["timestamp"] < first_window_end for r in records)
    assert run.final_state["bookmarks"][STREAM]["replication_key_value"] == first_window_end


SECRET_KEY = "SECRET-voiso-KEY-1234abcd"


def test_api_key_never_printed_even_at_debug_and_on_errors(sandbox, run_tap):
    options = configure(sandbox, count=3_000, api_key=SECRET_KEY)
    debug = {"LOGLEVEL": "DEBUG", "TAP_CALLRECORDS_LOGLEVEL": "DEBUG"}
    config = vendor_config(sandbox.url, "voiso", options, **FAST_RETRIES)
    config["voiso"]["api_key"] = SECRET_KEY
    config["voiso"]["per_page"] = 500
    sandbox.faults("voiso", {"drop": True}, {"status": 500, "after": 1}, {"malformed": True, "after": 2},
                   {"status": 429, "after": 3})
    runs = [run_tap(config, env=debug)]

    wrong = {**config, "voiso": {**config["voiso"], "api_key": "SECRET-wrong-KEY-5678efgh"}}
    runs.append(run_tap(wrong, env=debug))

    sandbox.faults("voiso", {"status": 500, "repeat": 100})
    runs.append(run_tap({**config, "max_retries": 2}, env=debug))

    assert runs[0].returncode == 0 and len(runs[0].records(STREAM)) == 3_000
    assert runs[1].returncode != 0 and runs[2].returncode != 0
    assert "rejected the credentials (HTTP 401); check voiso.api_key" in runs[1].error_lines[0]
    assert "HTTP 500" in runs[2].error_lines[0]
    for run in runs:
        for text in (run.stdout, run.stderr):
            assert SECRET_KEY not in text and "SECRET-wrong-KEY-5678efgh" not in text
            assert "key=SECRET" not in text
    assert "DEBUG" in runs[0].stderr  # the debug level was really on


def test_unauthorized_key_is_one_clear_error(sandbox, run_tap):
    options = configure(sandbox, count=10)
    config = vendor_config(sandbox.url, "voiso", options)
    config["voiso"]["api_key"] = "not-the-key"

    run = run_tap(config)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert run.error_lines == [
        "tap-callrecords: error: Voiso rejected the credentials (HTTP 401); check voiso.api_key."
    ]


def test_survives_a_request_that_times_out(sandbox, run_tap):
    options = configure(sandbox, count=1_500)
    sandbox.faults("voiso", {"delay": 3, "after": 1})
    config = vendor_config(sandbox.url, "voiso", options, request_timeout_seconds=0.5, **FAST_RETRIES)

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 1_500
    assert "the request timed out; retrying /api/v2/cdr" in run.stderr
