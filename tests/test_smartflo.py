"""smartflo_call_records against the sandbox's Tata Smartflo API, end to end through the CLI."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tap_callrecords.sandbox.client import vendor_config
from tests.assertions import assert_one_clear_error, assert_records_match_schema, assert_unique_keys

STREAM = "smartflo_call_records"
IST = timezone(timedelta(hours=5, minutes=30))
TWO_DAYS = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-03T00:00:00+00:00"}
FAST_RETRIES = {"retry_initial_wait_seconds": 0.05, "max_retries": 6}
SEED_RECORD = json.loads((Path(__file__).parent / "fixtures" / "smartflo_record.json").read_text())
LOGIN_HINT = "check smartflo.email, smartflo.password"


def configure(sandbox, **options):
    options = {**TWO_DAYS, **options}
    sandbox.configure("smartflo", **options)
    return options


def config_for(sandbox, options, *, settings=None, **overrides):
    config = vendor_config(sandbox.url, "smartflo", options, **overrides)
    config["smartflo"].update(settings or {})
    return config


def token_settings(token):
    """Settings that use a portal API token instead of the login."""
    return {"api_token": token, "email": None, "password": None}


def with_token(config, token):
    smartflo = {k: v for k, v in config["smartflo"].items() if k not in ("email", "password")}
    return {**config, "smartflo": {**smartflo, "api_token": token}}


def stats(sandbox):
    return sandbox.stats()["smartflo"]


def call_at(record_id, ist_text, **fields):
    """A record shaped like the seed's, starting at ``ist_text`` (India time)."""
    day, clock = ist_text.split(" ")
    return {**SEED_RECORD, "id": record_id, "date": day, "time": clock, **fields}


# -- Full sync, conversion, windows ---------------------------------------------------------


@pytest.mark.parametrize("to_date_inclusive", [True, False])
def test_full_sync_emits_each_record_once_in_utc_inside_the_range(sandbox, run_tap, to_date_inclusive):
    options = configure(sandbox, count=5_000, to_date_inclusive=to_date_inclusive)

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 5_000
    assert_unique_keys(records, "id")
    low, high = datetime.fromisoformat(TWO_DAYS["start"]), datetime.fromisoformat(TWO_DAYS["end"])
    for record in records:
        start = datetime.fromisoformat(record["start_time"])
        assert record["start_time"].endswith("+00:00") and low <= start < high, record["start_time"]
        local = datetime.fromisoformat(f"{record['date']}T{record['time']}").replace(tzinfo=IST)
        assert local == start  # date + time are India time
    assert run.final_state["bookmarks"][STREAM] == {
        "replication_key": "start_time",
        "replication_key_value": "2024-07-03T00:00:00.000000+00:00",
    }
    query = stats(sandbox)["vendor"]["last_query"]
    assert query["from_date"] == "2024-07-03 04:29:59" and query["to_date"] == "2024-07-03 05:30:00"


def test_records_are_typed_and_converted(sandbox, run_tap):
    options = configure(sandbox, count=1_000)
    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    records = run.records(STREAM)
    missed = next(r for r in records if r["status"] == "missed")
    assert missed["agent_ring_time"] is None and missed["missed_agents"][0]["dialst"] == "Missed"
    dialer = next(r for r in records if r["dialer_call_details"])
    details = dialer["dialer_call_details"]
    assert details["campaign_id"] == "53273" and details["is_short_call"] is False
    assert isinstance(details["agent_talk_time"], int)
    assert details["dialer_queue_details"][0]["answered_by"]["app_id"] == "53273"
    ivr = next(r for r in records if r["service"] == "IVR")
    assert ivr["notes"] == {"text": "Customer asked for a call back"}
    assert all(isinstance(r["agent_ring_time"], int) for r in records if r["service"] == "Dialer")


def test_converts_the_seed_record_exactly(sandbox, run_tap):
    configure(sandbox, count=0)
    sandbox.add_records("smartflo", SEED_RECORD)
    options = {"start": "2024-05-09T00:00:00+00:00", "end": "2024-05-10T00:00:00+00:00"}
    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    [record] = run.records(STREAM)
    assert set(record) == set(run.schemas()[STREAM]["properties"])
    assert record["id"] == "663c6bc92b66f80b611f8f40"
    assert record["start_time"] == "2024-05-09T06:22:14.000000+00:00"  # 11:52:14 IST
    assert record["end_time"] == "2024-05-09T06:23:02.000000+00:00"
    assert (record["date"], record["time"]) == ("2024-05-09", "11:52:14")
    assert record["call_duration"] == 48 and record["answered_seconds"] == 31
    assert record["agent_ring_time"] is None  # "N.A."
    assert record["circle"] == {"operator": "Airtel India", "circle": "Delhi"}
    assert record["contact_details"] == {"id": 35866918, "field_0": "+919650134255", "field_1": "parag"}
    agent = record["call_flow"][3]
    assert agent == {"type": "Agent", "id": "05047530422", "name": "Parag Yadav",
                     "num": "Extension-06047530219", "dialst": "Dialed", "app_id": "53273",
                     "time": 1715235747.393, "readableTime": "09-05-2024 11:52:27"}
    assert record["agent_hangup_data"][0]["disposition"] == "ANSWERED"
    details = record["dialer_call_details"]
    assert details["campaign_id"] == "53273" and details["hangup_cause"] == 16
    assert details["is_short_call"] is False and details["first_call_resolution"] is False
    assert details["agents_call_details"] == {"05047530422": {"hold_duration": 0, "hold_count": 0}}
    assert details["dialer_queue_details"][0]["answered_by"]["app_id"] == "53273"
    assert record["support_api_call"] is False and record["voicemail_recording"] is False


@pytest.mark.parametrize("to_date_inclusive", [True, False])
def test_india_time_window_boundary_loses_and_duplicates_nothing(sandbox, run_tap, to_date_inclusive):
    """Calls around 23:30 IST (18:00 UTC, an hourly window boundary) and the range's edges."""
    configure(sandbox, count=0, to_date_inclusive=to_date_inclusive)
    calls = {
        "before-range": "2024-07-01 17:29:59",  # 11:59:59 UTC
        "range-start": "2024-07-01 17:30:00",  # 12:00:00 UTC
        "before-boundary": "2024-07-01 23:29:59",
        "on-boundary": "2024-07-01 23:30:00",  # 18:00:00 UTC
        "after-boundary": "2024-07-01 23:30:01",
        "ist-midnight": "2024-07-02 00:00:00",
        "range-last": "2024-07-02 05:29:59",  # 23:59:59 UTC
        "range-end": "2024-07-02 05:30:00",  # 00:00:00 UTC: excluded
    }
    sandbox.add_records("smartflo", *[call_at(name, when) for name, when in calls.items()])
    options = {"start": "2024-07-01T12:00:00+00:00", "end": "2024-07-02T00:00:00+00:00"}

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert sorted(r["id"] for r in records) == sorted(set(calls) - {"before-range", "range-end"})
    by_id = {r["id"]: r["start_time"] for r in records}
    assert by_id["on-boundary"] == "2024-07-01T18:00:00.000000+00:00"
    assert by_id["ist-midnight"] == "2024-07-01T18:30:00.000000+00:00"


def test_filters_are_sent_as_documented(sandbox, run_tap):
    options = configure(sandbox, count=10)
    filters = {"direction": "inbound", "call_type": "c", "agents": ["agent|0504", "agent|0505"],
               "department": ["12", "14"], "did_number": "+918069651170", "services": "dialer,ivr"}
    run = run_tap(config_for(sandbox, options, settings={**filters, "window_hours": 24}))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 10
    query = stats(sandbox)["vendor"]["last_query"]
    assert {name: query[name] for name in filters} == filters
    assert query["limit"] == "100"


# -- Authentication --------------------------------------------------------------------------


def test_login_token_expiring_mid_sync_is_renewed_without_losing_a_page(sandbox, run_tap):
    options = configure(sandbox, count=3_000, token_max_requests=4)

    run = run_tap(config_for(sandbox, options, **FAST_RETRIES))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 3_000
    assert_unique_keys(records, "id")
    seen = stats(sandbox)
    expired = seen["vendor"]["expired_token_401s"]
    assert expired >= 5
    assert seen["statuses"]["401"] == expired
    assert seen["vendor"]["logins"] == expired + 1  # one login per expiry, no more


def test_token_is_renewed_before_it_expires(sandbox, run_tap):
    # A token that lives no longer than the renewal margin (60 s) is renewed before each use.
    options = configure(sandbox, count=300, token_expires_in=60)

    run = run_tap(config_for(sandbox, options, settings={"window_hours": 24}))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 300
    seen = stats(sandbox)
    assert "401" not in seen["statuses"]
    assert seen["vendor"]["logins"] >= seen["paths"]["/v1/call/records"] >= 4


@pytest.mark.parametrize("failure_status", [401, 200])
def test_wrong_credentials_end_with_one_clear_error(sandbox, run_tap, failure_status):
    options = configure(sandbox, count=10, login_failure_status=failure_status)
    config = config_for(sandbox, options, settings={"password": "SECRET-wrong-password-42"})

    run = run_tap(config)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1
    assert LOGIN_HINT in run.error_lines[0]
    assert "SECRET-wrong-password-42" not in run.stderr + run.stdout
    assert run.records(STREAM) == []
    assert stats(sandbox)["vendor"]["failed_logins"] == 1  # refused logins are not retried


@pytest.mark.parametrize("token", ["sandbox-smartflo-token", "Bearer sandbox-smartflo-token",
                                   "  bearer sandbox-smartflo-token "])
def test_api_token_works_with_or_without_bearer_prefix(sandbox, run_tap, token):
    options = configure(sandbox, count=50)

    run = run_tap(with_token(config_for(sandbox, options, settings={"window_hours": 24}), token))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 50
    assert stats(sandbox)["vendor"]["logins"] == 0


def test_sandbox_accepts_bare_and_bearer_authorization_headers(sandbox):
    configure(sandbox, count=5)
    url = f"{sandbox.url}/smartflo/v1/call/records?from_date=2024-07-01+00:00:00&to_date=2024-07-04+00:00:00"
    for header in ("sandbox-smartflo-token", "Bearer sandbox-smartflo-token"):
        request = urllib.request.Request(url, headers={"Authorization": header})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["count"] == 5
    request = urllib.request.Request(url, headers={"Authorization": "Bearer nope"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_wrong_api_token_is_one_clear_error(sandbox, run_tap):
    options = configure(sandbox, count=10)

    run = run_tap(with_token(config_for(sandbox, options), "not-the-token"))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert run.error_lines == [
        "tap-callrecords: error: Tata Smartflo rejected the credentials (HTTP 401); "
        "check smartflo.api_token."
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"api_token": "t0ken"}, "smartflo has both an API token and a login; set either "
         "smartflo.api_token, or smartflo.email and smartflo.password, not both."),
        ({"email": None, "password": None}, "smartflo has no credentials; set either "
         "smartflo.api_token, or smartflo.email and smartflo.password."),
        ({"password": None}, "smartflo.password is missing; Tata Smartflo needs it with smartflo.email."),
        ({"page_size": 0, "max_requests_per_second": 0},
         "smartflo.page_size is 0; it must be a whole number from 1 to 10000."),
    ],
)
def test_configuration_errors_are_clear(sandbox, run_tap, settings, message):
    config = config_for(sandbox, TWO_DAYS)
    config["smartflo"] = {k: v for k, v in {**config["smartflo"], **settings}.items() if v is not None}

    run = run_tap(config)

    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert stats(sandbox)["requests"] == 0


# -- Rate --------------------------------------------------------------------------------------


def test_request_rate_never_exceeds_max_requests_per_second(sandbox, run_tap):
    """Logins count against Smartflo's account-wide limit too; the sandbox enforces it."""
    one_day = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-02T00:00:00+00:00"}
    # The default cap (1/s) with the sandbox limiting at 1/s: one login, three pages.
    options = configure(sandbox, count=250, rate_limit_per_second=1, **one_day)
    config = config_for(sandbox, options, settings={"window_hours": 24})
    del config["smartflo"]["max_requests_per_second"]
    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 250
    seen = stats(sandbox)
    assert seen["paths"] == {"/v1/auth/login": 1, "/v1/call/records": 3}
    assert seen["max_per_second"] == 1 and seen["vendor"]["rate_limited"] == 0

    # 3/s with tokens expiring every two requests: renewal logins stay under the cap too.
    sandbox.reset()
    options = configure(sandbox, count=350, rate_limit_per_second=3, token_max_requests=2, **one_day)
    run = run_tap(config_for(sandbox, options, settings={"window_hours": 24, "max_requests_per_second": 3},
                             **FAST_RETRIES))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 350
    seen = stats(sandbox)
    assert seen["vendor"]["logins"] >= 2
    assert seen["max_per_second"] <= 3 and seen["vendor"]["rate_limited"] == 0


def test_sandbox_rate_limit_429s_are_retried(sandbox, run_tap):
    options = configure(sandbox, count=500, rate_limit_per_second=3)
    config = config_for(sandbox, options, settings={"window_hours": 24},
                        **{**FAST_RETRIES, "max_retries": 10})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 500
    assert_unique_keys(records, "id")
    seen = stats(sandbox)
    assert seen["statuses"]["429"] == seen["vendor"]["rate_limited"] > 0
    assert "Too many requests." in run.stderr  # Smartflo's 429 body, in the retry warning


# -- Incremental and resume ----------------------------------------------------------------------


def test_incremental_run_rereads_only_the_lookback_and_picks_up_late_records(sandbox, run_tap):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    options = configure(sandbox, count=3_000, start=(now - timedelta(days=2)).isoformat(),
                        end=(now - timedelta(minutes=20)).isoformat())
    config = config_for(sandbox, options, lookback_minutes=60)
    del config["end_date"]

    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    bookmark = datetime.fromisoformat(first.final_state["bookmarks"][STREAM]["replication_key_value"])
    assert now - timedelta(minutes=16) <= bookmark <= now - timedelta(minutes=14)
    assert len(first.records(STREAM)) == 3_000
    assert_unique_keys(first.records(STREAM), "id")

    late = (bookmark - timedelta(minutes=30)).astimezone(IST)
    sandbox.add_records("smartflo", call_at("late-call", late.strftime("%Y-%m-%d %H:%M:%S")))
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    records = second.records(STREAM)
    floor = bookmark - timedelta(minutes=60)
    assert all(datetime.fromisoformat(r["start_time"]) >= floor for r in records)
    assert "late-call" in {r["id"] for r in records}
    expected_reread = [r for r in first.records(STREAM)
                       if datetime.fromisoformat(r["start_time"]) >= floor]
    assert len(records) == len(expected_reread) + 1
    second_bookmark = second.final_state["bookmarks"][STREAM]["replication_key_value"]
    assert datetime.fromisoformat(second_bookmark) >= bookmark


@pytest.mark.parametrize("seed", [1, 2])
def test_resume_after_sigkill_loses_nothing(sandbox, kill_and_resume, seed):
    options = configure(sandbox, count=5_000)

    _, resumed, state, seen = kill_and_resume(config_for(sandbox, options), STREAM, expected=5_000, seed=seed)

    assert len(seen) == 5_000
    if state:  # the resumed run starts at the bookmark less the lookback (180 minutes)
        bookmark = datetime.fromisoformat(state["bookmarks"][STREAM]["replication_key_value"])
        floor = bookmark - timedelta(minutes=180)
        assert all(datetime.fromisoformat(r["start_time"]) >= floor for r in resumed.records(STREAM))


# -- Faults ---------------------------------------------------------------------------------------


def test_survives_rate_limits_server_errors_drops_and_malformed_bodies(sandbox, run_tap):
    options = configure(sandbox, count=4_000)
    too_many = {"success": "false", "message": "Too many requests."}
    sandbox.faults(  # spread over the run with ``after`` (requests let through first)
        "smartflo",
        {"status": 429, "retry_after": "1", "body": too_many},
        {"status": 503, "repeat": 3, "after": 3},
        {"drop": True, "after": 8},
        {"status": 429, "body": too_many, "after": 10},
        {"malformed": True, "after": 12},
        {"status": 500, "after": 16},
    )
    run = run_tap(config_for(sandbox, options, **FAST_RETRIES))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 4_000
    assert_unique_keys(records, "id")
    statuses = stats(sandbox)["statuses"]
    assert statuses["429"] == 2 and statuses["503"] == 3 and statuses["500"] == 1 and statuses["0"] == 1
    assert "retrying /v1/call/records in 1." in run.stderr  # Retry-After: 1 honoured


def test_persistent_fault_ends_with_one_clear_error_and_honest_state(sandbox, run_tap):
    options = configure(sandbox, count=2_000, start="2024-07-01T00:00:00+00:00",
                        end="2024-07-29T00:00:00+00:00")
    config = config_for(sandbox, options, settings={"window_hours": 24},
                        retry_initial_wait_seconds=0.01, max_retries=3)
    # The first window (one page) succeeds; every request after it fails.
    sandbox.faults("smartflo", {"status": 503, "repeat": 1000, "after": 1})

    run = run_tap(config)

    assert_one_clear_error(run, "giving up on /v1/call/records after 3 attempts", "HTTP 503")
    records = run.records(STREAM)
    first_window_end = "2024-07-02T00:00:00.000000+00:00"
    assert records and all(r["start_time"] < first_window_end for r in records)
    assert len(records) == len({r["id"] for r in records})
    assert run.final_state["bookmarks"][STREAM]["replication_key_value"] == first_window_end


# -- Secrets ----------------------------------------------------------------------------------------

SECRET_PASSWORD = "SECRET-smartflo-PASSWORD-1234abcd"
SECRET_TOKEN = "SECRET-smartflo-TOKEN-5678efgh"
ISSUED_TOKEN = re.compile(r"sf\d+\.[0-9a-f]{32}")


def test_password_and_tokens_never_printed_even_at_debug_and_on_errors(sandbox, run_tap):
    options = configure(sandbox, count=1_000, password=SECRET_PASSWORD, api_token=SECRET_TOKEN,
                        token_max_requests=3)
    debug = {"LOGLEVEL": "DEBUG", "TAP_CALLRECORDS_LOGLEVEL": "DEBUG"}
    config = config_for(sandbox, options, settings={"password": SECRET_PASSWORD}, **FAST_RETRIES)
    sandbox.faults("smartflo", {"drop": True}, {"status": 500, "after": 1},
                   {"malformed": True, "after": 2}, {"status": 429, "after": 3})
    runs = [run_tap(config, env=debug)]
    assert stats(sandbox)["vendor"]["logins"] >= 2  # tokens were issued (and renewed)

    sandbox.faults("smartflo", {"status": 500, "repeat": 100})
    runs.append(run_tap({**config, "max_retries": 2}, env=debug))

    wrong = {**config, "smartflo": {**config["smartflo"], "password": "SECRET-wrong-PASSWORD-9"}}
    runs.append(run_tap(wrong, env=debug))

    sandbox.reset()  # no faults left
    configure(sandbox, **options)
    runs.append(run_tap(with_token(config, f"Bearer {SECRET_TOKEN}"), env=debug))
    runs.append(run_tap(with_token(config, "SECRET-wrong-TOKEN-0"), env=debug))

    assert runs[0].returncode == 0 and len(runs[0].records(STREAM)) == 1_000
    assert runs[1].returncode != 0 and runs[2].returncode != 0 and runs[4].returncode != 0
    assert runs[3].returncode == 0 and len(runs[3].records(STREAM)) == 1_000
    assert LOGIN_HINT in runs[2].error_lines[0]
    assert "check smartflo.api_token" in runs[4].error_lines[0]
    for run in runs:
        for text in (run.stdout, run.stderr):
            for secret in (SECRET_PASSWORD, SECRET_TOKEN, "SECRET-wrong-PASSWORD-9", "SECRET-wrong-TOKEN-0"):
                assert secret not in text
            assert not ISSUED_TOKEN.search(text)
    assert "DEBUG" in runs[0].stderr  # the debug level was really on
