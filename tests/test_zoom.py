"""zoom_voice_calls against the sandbox's Zoom Contact Center API, end to end through the CLI."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from tap_callrecords.sandbox.client import vendor_config
from tap_callrecords.sandbox.zoom import DEFAULTS, TOKEN_PREFIX
from tap_callrecords.vendors.zoom import DEFAULT_MAX_REQUESTS_PER_SECOND
from tests.assertions import assert_one_clear_error, assert_records_match_schema, assert_unique_keys

STREAM = "zoom_voice_calls"
KEY = "engagement_id"
THREE_MONTHS = {"start": "2024-04-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00"}
TEN_DAYS = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-11T00:00:00+00:00"}
FAST = {"max_requests_per_second": 1000}
FAST_RETRIES = {"retry_initial_wait_seconds": 0.05, "max_retries": 6}
SECRET = DEFAULTS["client_secret"]

# A call shaped like the seed's sample reply, with real values in place of placeholders.
SEED_CALL = {
    "engagement_id": "6dPhc1zUQ2m3JzNkq0Ba8w", "direction": "inbound",
    "call_legs": ["inbound", "outbound"], "distributions": ["acd", "non_acd"],
    "types": ["external_call", "internal_conference_call"],
    "caller_number": "+15557571011", "caller_number_type": "byoc_number",
    "callee_number": "+18005550199", "callee_number_type": "virtual_service_number",
    "start_time": "2024-07-03T07:43:09-05:00", "end_time": "2024-07-03T07:45:14-05:00",
    "total_duration": 125, "consumer_number": "+15557571011", "consumer_display_name": "Mike A",
    "queues": [{"queue_id": "q1", "queue_name": "Support"}, {"queue_id": "q2", "queue_name": "Billing"}],
    "agents": [{"user_id": "u1", "display_name": "Ana Souza"}],
    "flows": [{"flow_id": "f1", "flow_name": "Main IVR"}],
    "country_name": "United States", "recorded": True, "monitored": False, "inbox": False,
    "result": "hang_up_calls", "caller_id": "+18005550199", "calling_party": "consumer",
    "charge": "$0.019", "rates": ["$0.0095/min"], "charge_type": "per_minute",
}


def configure(sandbox, **options):
    options = {**TEN_DAYS, **options}
    sandbox.configure("zoom", **options)
    return options


def config_for(sandbox, options, *, zoom=None, **overrides):
    config = vendor_config(sandbox.url, "zoom", options, **overrides)
    config["zoom"].update({**FAST, **(zoom or {})})
    return config


def zoom_stats(sandbox):
    return sandbox.stats()["zoom"]


def bookmark(run):
    return run.final_state["bookmarks"][STREAM]["replication_key_value"]


def test_three_months_of_calls_are_emitted_once_in_utc(sandbox, run_tap):
    options = configure(sandbox, count=10_000, **THREE_MONTHS)

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 10_000
    assert_unique_keys(records, KEY)
    assert_records_match_schema(run, STREAM)
    assert all(r["start_time"].endswith("+00:00") and r["end_time"].endswith("+00:00") for r in records)
    assert min(r["start_time"] for r in records) >= "2024-04-01T00:00:00"
    assert max(r["start_time"] for r in records) < "2024-07-01T00:00:00"
    assert bookmark(run) == "2024-07-01T00:00:00.000000+00:00"
    stats = zoom_stats(sandbox)
    assert stats["vendor"]["literal_z_requests"] == 0  # from/to always sent with +00:00
    assert stats["vendor"]["tokens_issued"] == 1
    assert "400" not in stats["statuses"]  # no window over Zoom's one-month limit


def test_converts_a_seed_record_exactly(sandbox, run_tap):
    options = configure(sandbox, count=0)
    irregular = {**SEED_CALL, KEY: "irregular", "start_time": "2024-07-03T12:00:00Z", "end_time": None,
                 "total_duration": "61", "recorded": "true", "charge": 0.5, "caller_number": 15557571011,
                 "queues": None, "agents": [{"user_id": 7, "display_name": None}], "unknown": {"x": 1}}
    sandbox.add_records("zoom", SEED_CALL, irregular)

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    record, other = sorted(run.records(STREAM), key=lambda r: r[KEY] == "irregular")
    assert other["start_time"] == "2024-07-03T12:00:00.000000+00:00" and other["end_time"] is None
    assert other["total_duration"] == 61 and other["recorded"] is True
    assert other["charge"] == "0.5" and other["charge_amount"] == 0.5
    assert other["caller_number"] == "15557571011" and other["queues"] is None
    assert other["agents"] == [{"user_id": "7", "display_name": None}]
    assert set(other) == set(run.schemas()[STREAM]["properties"])
    assert record["start_time"] == "2024-07-03T12:43:09.000000+00:00"
    assert record["end_time"] == "2024-07-03T12:45:14.000000+00:00"
    assert record["total_duration"] == 125
    assert record["charge"] == "$0.019" and record["charge_amount"] == 0.019
    assert record["agents"] == [{"user_id": "u1", "display_name": "Ana Souza"}]
    assert record["queues"][1] == {"queue_id": "q2", "queue_name": "Billing"}
    assert record["types"] == ["external_call", "internal_conference_call"]
    assert record["recorded"] is True and record["monitored"] is False
    assert record["voice_call_details"] is None
    assert set(record) == set(run.schemas()[STREAM]["properties"])


def test_filters_are_sent_and_detail_view_is_typed(sandbox, run_tap):
    options = configure(sandbox, count=500)
    filters = {"types": ["external_call", "internal_call"], "user_ids": ["u1", "u2"],
               "cc_queue_ids": ["q1"], "country_iso_codes": ["US", "BR"], "direction": "inbound",
               "view_type": "detail", "team_ids": ["t1"]}

    run = run_tap(config_for(sandbox, options, zoom=filters))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    sent = zoom_stats(sandbox)["vendor"]["last_filters"]
    assert sent == {name: value if isinstance(value, list) else [value] for name, value in filters.items()}
    records = run.records(STREAM)
    assert len(records) == 500
    details = [d for r in records for d in r["voice_call_details"]]
    assert details and all(d["start_time"].endswith("+00:00") for d in details)


def test_window_edges_keep_each_call_exactly_once(sandbox, run_tap):
    """The sandbox reads ``to`` inclusively: calls on a boundary reach two windows."""
    options = configure(sandbox, count=0)
    edges = ["2024-07-01T23:59:59+00:00", "2024-07-02T00:00:00+00:00", "2024-07-01T19:00:00-05:00",
             "2024-07-01T18:59:59-05:00", "2024-07-01T00:00:00+00:00", "2024-07-10T23:59:59+00:00",
             "2024-07-11T00:00:00+00:00", "2024-06-30T23:59:59+00:00"]
    sandbox.add_records("zoom", *[{**SEED_CALL, KEY: f"edge-{i}", "start_time": ts, "end_time": ts}
                                  for i, ts in enumerate(edges)])

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert sorted(r[KEY] for r in run.records(STREAM)) == [f"edge-{i}" for i in range(6)]


def test_expired_page_token_mid_window_restarts_the_window_and_loses_nothing(sandbox, run_tap):
    options = configure(sandbox, count=2_000, page_token_ttl=1,
                        start="2024-07-01T00:00:00+00:00", end="2024-07-03T00:00:00+00:00")
    # The 5th request (page 5 of the first day) waits past its page token's 1 s life.
    sandbox.faults("zoom", {"delay": 1.5, "after": 4})

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 2_000
    assert_unique_keys(records, KEY)
    assert zoom_stats(sandbox)["vendor"]["expired_page_tokens"] == 1
    assert "restarting the window from its first page" in run.stderr
    assert bookmark(run) == "2024-07-03T00:00:00.000000+00:00"


def test_page_tokens_that_always_expire_end_with_one_clear_error(sandbox, run_tap):
    options = configure(sandbox, count=2_000, page_token_ttl=0)

    run = run_tap(config_for(sandbox, options))

    assert_one_clear_error(run, "page tokens kept expiring")
    assert len(run.records(STREAM)) == 100  # the first page, once, despite five restarts
    assert zoom_stats(sandbox)["vendor"]["expired_page_tokens"] == 6


def test_daily_limit_ends_cleanly_and_the_next_run_continues(sandbox, run_tap):
    options = configure(sandbox, count=3_000)
    daily = {"status": 429, "retry_after_iso_in": 5 * 3600, "after": 12,
             "body": {"code": 429, "message": "You have reached the maximum daily rate limit for this API."}}
    sandbox.faults("zoom", daily)
    config = config_for(sandbox, options, lookback_minutes=0)

    first = run_tap(config)

    assert first.returncode != 0
    assert "Traceback" not in first.stderr
    assert len(first.error_lines) == 1
    line = first.error_lines[0]
    assert "rate limit" in line and "Run again after that time" in line
    resume = re.search(r"until (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC", line)
    assert resume, line
    resume_at = datetime.strptime(resume.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    expected = datetime.now(timezone.utc) + timedelta(hours=5)
    assert abs((resume_at - expected).total_seconds()) < 120
    stopped_at = bookmark(first)
    assert "2024-07-01" < stopped_at < "2024-07-11"
    assert_unique_keys(first.records(STREAM), KEY)

    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert all(r["start_time"] >= stopped_at for r in second.records(STREAM))
    assert_unique_keys(second.records(STREAM), KEY)
    seen = {r[KEY] for r in first.records(STREAM)} | {r[KEY] for r in second.records(STREAM)}
    assert len(seen) == 3_000
    assert bookmark(second) == "2024-07-11T00:00:00.000000+00:00"


def test_token_is_renewed_before_it_expires(sandbox, run_tap):
    # 61 s tokens are renewed 60 s early, so every second; the run takes about 2 s.
    options = configure(sandbox, count=6_000, token_lifetime=61,
                        start="2024-07-01T00:00:00+00:00", end="2024-07-04T00:00:00+00:00")

    run = run_tap(config_for(sandbox, options, zoom={"max_requests_per_second": 30}))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 6_000
    stats = zoom_stats(sandbox)
    assert stats["vendor"]["tokens_issued"] >= 2
    assert stats["vendor"]["invalid_access_tokens"] == 0 and "401" not in stats["statuses"]


def test_revoked_token_is_renewed_on_401(sandbox, run_tap):
    options = configure(sandbox, count=3_000, revoke_tokens_after=5)

    run = run_tap(config_for(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 3_000
    assert_unique_keys(records, KEY)
    stats = zoom_stats(sandbox)
    assert stats["statuses"]["401"] >= 1
    assert stats["vendor"]["tokens_issued"] == 2


def test_rejected_credentials_end_with_one_clear_error(sandbox, run_tap):
    options = configure(sandbox, count=100)
    wrong = "zoom-wrong-secret-1e8b77"
    run = run_tap(config_for(sandbox, options, zoom={"client_secret": wrong}), env={"LOGLEVEL": "DEBUG"})

    assert_one_clear_error(run, "rejected the credentials", "zoom.client_secret")
    assert wrong not in run.stdout + run.stderr


def test_incremental_run_rereads_only_the_lookback_and_picks_up_late_calls(sandbox, run_tap):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    options = configure(sandbox, count=3_000, start=(now - timedelta(days=3)).isoformat(),
                        end=(now - timedelta(minutes=10)).isoformat())
    config = config_for(sandbox, options, lookback_minutes=60)
    del config["end_date"]

    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    mark = datetime.fromisoformat(bookmark(first))
    assert now - timedelta(minutes=6) <= mark <= now
    assert len(first.records(STREAM)) == 3_000
    assert_unique_keys(first.records(STREAM), KEY)

    late = (mark - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=-5)))
    sandbox.add_records("zoom", {**SEED_CALL, KEY: "late-call",
                                 "start_time": late.isoformat(timespec="seconds"), "end_time": None})
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    records = second.records(STREAM)
    floor = mark - timedelta(minutes=60)
    assert all(datetime.fromisoformat(r["start_time"]) >= floor for r in records)
    assert "late-call" in {r[KEY] for r in records}
    reread = [r for r in first.records(STREAM) if datetime.fromisoformat(r["start_time"]) >= floor]
    assert len(records) == len(reread) + 1
    assert datetime.fromisoformat(bookmark(second)) >= mark


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_resume_after_sigkill_loses_nothing(sandbox, kill_and_resume, seed):
    options = configure(sandbox, count=10_000)

    _, _, _, seen = kill_and_resume(config_for(sandbox, options), STREAM, expected=10_000, seed=seed)

    assert len(seen) == 10_000


def test_survives_rate_limits_server_errors_drops_and_malformed_bodies(sandbox, run_tap):
    options = configure(sandbox, count=5_000)
    busy = {"code": 429, "message": "You have exceeded the limit of requests per second."}
    sandbox.faults(
        "zoom",
        {"status": 429, "retry_after": "1", "body": busy},
        {"status": 503, "repeat": 3, "after": 3},
        {"drop": True, "after": 8},
        {"status": 429, "retry_after_iso_in": 1, "body": busy, "after": 10},
        {"malformed": True, "after": 12},
        {"status": 429, "body": busy, "after": 14},
        {"status": 500, "after": 16, "body": {"code": 500, "message": "Internal error"}},
    )

    run = run_tap(config_for(sandbox, options, **FAST_RETRIES))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 5_000
    assert_unique_keys(records, KEY)
    statuses = zoom_stats(sandbox)["statuses"]
    assert statuses["429"] == 3 and statuses["503"] == 3 and statuses["500"] == 1 and statuses["0"] == 1
    assert "retrying /contact_center/voice_calls in 1." in run.stderr


def test_persistent_fault_ends_with_one_clear_error_and_honest_state(sandbox, run_tap):
    options = configure(sandbox, count=500)
    # The first day (one page) succeeds; every request after it fails.
    sandbox.faults("zoom", {"status": 503, "repeat": 1000, "after": 1})

    run = run_tap(config_for(sandbox, options, retry_initial_wait_seconds=0.01, max_retries=3))

    assert_one_clear_error(run, "giving up on /contact_center/voice_calls after 3 attempts", "HTTP 503")
    records = run.records(STREAM)
    assert len(records) == 50 and all(r["start_time"] < "2024-07-02" for r in records)
    assert bookmark(run) == "2024-07-02T00:00:00.000000+00:00"


@pytest.mark.parametrize("cap", [None, 8])
def test_request_rate_stays_under_the_cap(sandbox, run_tap, cap):
    """``None``: the default cap, sized below Zoom's shared Pro HEAVY limit of 5/s."""
    options = configure(sandbox, count=700, start="2024-07-01T00:00:00+00:00",
                        end="2024-07-03T00:00:00+00:00")
    config = config_for(sandbox, options, zoom={"max_requests_per_second": cap, "page_size": 50})
    if cap is None:
        del config["zoom"]["max_requests_per_second"]
    limit = cap or DEFAULT_MAX_REQUESTS_PER_SECOND

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 700
    stats = zoom_stats(sandbox)
    assert stats["vendor"]["data_requests"] >= 15
    assert limit - 1 <= stats["vendor"]["data_max_per_second"] <= limit
    assert stats["max_per_second"] <= limit + 1  # plus the one token request


def test_secrets_and_tokens_never_reach_the_output(sandbox, run_tap):
    options = configure(sandbox, count=1_000, revoke_tokens_after=3)
    sandbox.faults("zoom", {"status": 500, "after": 5,
                            "body": {"code": 500, "message": f"echo client_secret={SECRET} {SECRET}"}})

    run = run_tap(config_for(sandbox, options, **FAST_RETRIES), env={"LOGLEVEL": "DEBUG"})

    assert run.returncode == 0, run.stderr
    assert "DEBUG" in run.stderr  # the debug log really was on
    statuses = zoom_stats(sandbox)["statuses"]
    assert statuses["401"] >= 1 and statuses["500"] == 1
    output = run.stdout + run.stderr
    assert SECRET not in output
    assert TOKEN_PREFIX not in output


def test_settings_are_checked_with_clear_messages(sandbox, run_tap):
    options = configure(sandbox, count=10)
    bad = {"page_size": 101, "user_ids": [f"u{i}" for i in range(21)], "view_type": "full",
           "max_requests_per_second": 0}

    run = run_tap(config_for(sandbox, options, zoom=bad))

    assert run.returncode != 0
    for text in ("zoom.page_size", "zoom.user_ids has 21 entries", "zoom.view_type",
                 "zoom.max_requests_per_second"):
        assert text in run.stderr, text
    assert zoom_stats(sandbox)["requests"] == 0


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_sandbox_answers_like_zoom(sandbox):
    configure(sandbox, count=50)
    token_request = urllib.request.Request(
        f"{sandbox.url}/zoom/oauth/token?grant_type=account_credentials&account_id={DEFAULTS['account_id']}",
        data=b"", method="POST",
        headers={"Authorization": "Basic " + base64.b64encode(
            f"{DEFAULTS['client_id']}:{SECRET}".encode()).decode()})
    with urllib.request.urlopen(token_request, timeout=10) as response:
        token = json.loads(response.read())
    assert token["expires_in"] == 3600
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    base = f"{sandbox.url}/zoom/v2/contact_center/voice_calls"

    status, body = _get(f"{base}?from=2024-07-01T00:00:00%2B00:00&to=2024-08-15T00:00:00%2B00:00", auth)
    assert (status, body["code"]) == (400, 300)
    window = "from=2024-06-30T12:00:00-05:00&to=2024-07-30T12:00:00-05:00"
    status, body = _get(f"{base}?{window}", auth)
    assert status == 200 and body["page_size"] == 10 and body["next_page_token"]
    assert body["voice_calls"][0]["start_time"].endswith("-05:00")
    status, body = _get(f"{base}?{window}&page_size=100", auth)
    assert status == 200 and body["next_page_token"] == "" and body["total_records"] == 50
    status, body = _get(f"{base}?{window}")
    assert (status, body["code"]) == (401, 124)
