"""What only Zoom Contact Center does, end to end through the CLI: windows within Zoom's
one-month limit, page tokens that expire, the daily rate limit, Server-to-Server OAuth
tokens, the request-rate cap, filters and the detail view. Everything every vendor must
do is in tests/test_contract.py."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from tap_callrecords.sandbox.zoom import DEFAULTS
from tap_callrecords.vendors.zoom import DEFAULT_MAX_REQUESTS_PER_SECOND
from tests.assertions import assert_one_clear_error, assert_records_match_schema, assert_unique_keys
from tests.vendors import ZOOM, ZOOM_SEED_CALL

STREAM = ZOOM.stream
KEY = ZOOM.primary_key
THREE_MONTHS = {"start": "2024-04-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00"}
SECRET = DEFAULTS["client_secret"]


def test_three_months_are_asked_for_in_windows_zoom_accepts(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=10_000, **THREE_MONTHS)

    run = run_tap(ZOOM.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 10_000
    stats = ZOOM.stats(sandbox)
    assert stats["vendor"]["literal_z_requests"] == 0  # from/to always sent with +00:00
    assert stats["vendor"]["tokens_issued"] == 1
    assert "400" not in stats["statuses"]  # no window over Zoom's one-month limit


def test_converts_a_seed_record_exactly(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=0)
    irregular = {**ZOOM_SEED_CALL, KEY: "irregular", "start_time": "2024-07-03T12:00:00Z", "end_time": None,
                 "total_duration": "61", "recorded": "true", "charge": 0.5, "caller_number": 15557571011,
                 "queues": None, "agents": [{"user_id": 7, "display_name": None}], "unknown": {"x": 1}}
    sandbox.add_records("zoom", ZOOM_SEED_CALL, irregular)

    run = run_tap(ZOOM.config(sandbox, options))

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
    options = ZOOM.configure(sandbox, count=500)
    filters = {"types": ["external_call", "internal_call"], "user_ids": ["u1", "u2"],
               "cc_queue_ids": ["q1"], "country_iso_codes": ["US", "BR"], "direction": "inbound",
               "view_type": "detail", "team_ids": ["t1"]}

    run = run_tap(ZOOM.config(sandbox, options, settings=filters))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    sent = ZOOM.stats(sandbox)["vendor"]["last_filters"]
    assert sent == {name: value if isinstance(value, list) else [value] for name, value in filters.items()}
    records = run.records(STREAM)
    assert len(records) == 500
    details = [d for r in records for d in r["voice_call_details"]]
    assert details and all(d["start_time"].endswith("+00:00") for d in details)


def test_expired_page_token_mid_window_restarts_the_window_and_loses_nothing(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=2_000, page_token_ttl=1,
                             start="2024-07-01T00:00:00+00:00", end="2024-07-03T00:00:00+00:00")
    # The 5th request (page 5 of the first day) waits past its page token's 1 s life.
    sandbox.faults("zoom", {"delay": 1.5, "after": 4})

    run = run_tap(ZOOM.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 2_000
    assert_unique_keys(records, KEY)
    assert ZOOM.stats(sandbox)["vendor"]["expired_page_tokens"] == 1
    assert "restarting the window from its first page" in run.stderr
    assert run.bookmark(STREAM) == "2024-07-03T00:00:00.000000+00:00"


def test_page_tokens_that_always_expire_end_with_one_clear_error(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=2_000, page_token_ttl=0)

    # One window at a time: the count below is one window's restarts.
    run = run_tap(ZOOM.config(sandbox, options, settings={"max_parallel_windows": 1}))

    assert_one_clear_error(run, "page tokens kept expiring")
    assert len(run.records(STREAM)) == 100  # the first page, once, despite five restarts
    assert ZOOM.stats(sandbox)["vendor"]["expired_page_tokens"] == 6


def test_daily_limit_ends_cleanly_and_the_next_run_continues(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=3_000)
    daily = {"status": 429, "retry_after_iso_in": 5 * 3600, "after": 12,
             "body": {"code": 429, "message": "You have reached the maximum daily rate limit for this API."}}
    sandbox.faults("zoom", daily)
    # One window at a time: with windows in flight, 12 requests may end before any window
    # is whole, and the run would (rightly) claim nothing.
    config = ZOOM.config(sandbox, options, lookback_minutes=0, settings={"max_parallel_windows": 1})

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
    stopped_at = first.bookmark(STREAM)
    assert "2024-07-01" < stopped_at < "2024-07-11"
    assert_unique_keys(first.records(STREAM), KEY)

    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert all(r["start_time"] >= stopped_at for r in second.records(STREAM))
    assert_unique_keys(second.records(STREAM), KEY)
    seen = {r[KEY] for r in first.records(STREAM)} | {r[KEY] for r in second.records(STREAM)}
    assert len(seen) == 3_000
    assert second.bookmark(STREAM) == "2024-07-11T00:00:00.000000+00:00"


def test_token_is_renewed_before_it_expires(sandbox, run_tap):
    # 61 s tokens are renewed 60 s early, so every second; the run takes about 2 s.
    options = ZOOM.configure(sandbox, count=6_000, token_lifetime=61,
                             start="2024-07-01T00:00:00+00:00", end="2024-07-04T00:00:00+00:00")

    run = run_tap(ZOOM.config(sandbox, options, settings={"max_requests_per_second": 30}))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 6_000
    stats = ZOOM.stats(sandbox)
    assert stats["vendor"]["tokens_issued"] >= 2
    assert stats["vendor"]["invalid_access_tokens"] == 0 and "401" not in stats["statuses"]


def test_revoked_token_is_renewed_on_401(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=3_000, revoke_tokens_after=5)

    run = run_tap(ZOOM.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 3_000
    assert_unique_keys(records, KEY)
    stats = ZOOM.stats(sandbox)
    assert stats["statuses"]["401"] >= 1
    assert stats["vendor"]["tokens_issued"] == 2


@pytest.mark.parametrize("cap", [None, 8])
def test_request_rate_stays_under_the_cap(sandbox, run_tap, cap):
    """``None``: the default cap, sized below Zoom's shared Pro HEAVY limit of 5/s."""
    options = ZOOM.configure(sandbox, count=700, start="2024-07-01T00:00:00+00:00",
                             end="2024-07-03T00:00:00+00:00")
    # None removes the setting (and the profile's lifted cap): the tap's default applies.
    config = ZOOM.config(sandbox, options, settings={"max_requests_per_second": cap, "page_size": 50})
    assert ("max_requests_per_second" in config["zoom"]) == (cap is not None)
    limit = cap or DEFAULT_MAX_REQUESTS_PER_SECOND

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 700
    stats = ZOOM.stats(sandbox)
    assert stats["vendor"]["data_requests"] >= 15
    assert limit - 1 <= stats["vendor"]["data_max_per_second"] <= limit
    assert stats["max_per_second"] <= limit + 1  # plus the one token request


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_sandbox_answers_like_zoom(sandbox):
    ZOOM.configure(sandbox, count=50)
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


DOCUMENTED_RESULTS = {
    "completed", "short_abandoned", "long_abandoned", "hold_abandoned", "long_calls", "short_calls",
    "hang_up_calls", "overflowed_to_disconnect", "overflowed_to_inbox", "overflowed", "abandon_quit",
    "auto_closed", "contained", "missed", "declined", "callback_abandoned_by_consumer"}
DOCUMENTED_NUMBER_TYPES = {"toll_free_number", "virtual_service_number", "byoc_number", None}


def test_documented_fields_at_every_depth_are_typed_and_unknown_nested_keys_kept(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=0)
    agent = {"user_id": "u1", "display_name": "Ana Souza", "user_email": "ana@example.com",
             "user_region": "EMEA", "team_ids": ["t1"], "team_names": ["Front line"], "sip_uri": "sip:ana"}
    leg = {"engagement_id": "documented", "call_leg": "inbound", "distribution": "acd",
           "type": "external_call",
           "start_time": "2024-07-03T12:43:09-05:00", "end_time": "2024-07-03T12:45:14-05:00",
           "total_duration": "125", "queue": {"cc_queue_id": "cq1", "queue_name": "Sales", "new": 1},
           "agents": [agent], "flow": {"flow_id": "f1", "flow_name": "Main"}, "recorded": "true",
           "rate": "$0.019/min", "charge_type": "per_minute", "leg_key_zoom_adds": "x"}
    call = {**ZOOM_SEED_CALL, KEY: "documented", "sub_types": ["callback"],
            "queues": [{"cc_queue_id": "cq1", "queue_id": "q1", "queue_name": "Sales", "new": 1}],
            "agents": [agent], "flows": [{"flow_id": "f1", "flow_name": "Main", "version": 3}],
            "caller_number_type": "toll_free_number", "result": "completed", "voice_call_details": [leg]}
    sandbox.add_records("zoom", call)

    run = run_tap(ZOOM.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    [record] = run.records(STREAM)
    assert record["sub_types"] == ["callback"] and record["extra"] is None
    assert record["queues"] == [{"cc_queue_id": "cq1", "queue_id": "q1", "queue_name": "Sales", "new": 1}]
    assert record["agents"] == [agent]
    assert record["flows"] == [{"flow_id": "f1", "flow_name": "Main", "version": 3}]
    [detail] = record["voice_call_details"]
    assert detail["start_time"] == "2024-07-03T17:43:09.000000+00:00" and detail["total_duration"] == 125
    assert detail["queue"] == {"cc_queue_id": "cq1", "queue_name": "Sales", "new": 1}
    assert detail["agents"] == [agent] and detail["recorded"] is True
    assert detail["leg_key_zoom_adds"] == "x" and detail["rate"] == "$0.019/min"
    [row] = run.records("call_records")
    assert (row["outcome"], row["vendor_outcome"]) == ("answered", "completed")


def test_sandbox_sends_zoom_documented_values_and_every_one_has_its_outcome(sandbox, run_tap):
    options = ZOOM.configure(sandbox, count=400)

    run = run_tap(ZOOM.config(sandbox, options, settings={"view_type": "detail"}))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert {r["result"] for r in records} == DOCUMENTED_RESULTS
    types = {r[f"{side}_number_type"] for r in records for side in ("caller", "callee")}
    assert types == DOCUMENTED_NUMBER_TYPES
    assert any(a["user_email"] and a["team_ids"] for r in records for a in r["agents"])
    assert all(q["cc_queue_id"] for r in records for q in r["queues"])
    legs = [(r[KEY], d) for r in records for d in r["voice_call_details"]]
    assert legs and all(d["call_leg"] and d["engagement_id"] == key for key, d in legs)
    rows = run.records("call_records")
    assert len(rows) == 400
    unread = {row["vendor_outcome"] for row in rows if row["outcome"] is None}
    assert unread == {"overflowed", "auto_closed"}
