"""What only Tata Smartflo does, end to end through the CLI: India time in records and
queries, nested record conversions, filters, the login token and its renewal, API tokens
with or without ``Bearer``, the account-wide rate limit. Everything every vendor must do
is in tests/test_contract.py."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from tests.assertions import assert_records_match_schema, assert_unique_keys
from tests.conftest import DEBUG
from tests.vendors import FAST_RETRIES, IST, SMARTFLO, SMARTFLO_LOGIN_HINT, SMARTFLO_SEED_RECORD

STREAM = SMARTFLO.stream


def with_token(config, token):
    smartflo = {k: v for k, v in config["smartflo"].items() if k not in ("email", "password")}
    return {**config, "smartflo": {**smartflo, "api_token": token}}


# -- India time, conversion, filters -------------------------------------------------------


@pytest.mark.parametrize("to_date_inclusive", [True, False])
def test_date_and_time_are_india_time_in_records_and_in_the_query(sandbox, run_tap, to_date_inclusive):
    options = SMARTFLO.configure(sandbox, count=5_000, to_date_inclusive=to_date_inclusive)

    run = run_tap(SMARTFLO.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 5_000
    for record in records:
        local = datetime.fromisoformat(f"{record['date']}T{record['time']}").replace(tzinfo=IST)
        assert local == datetime.fromisoformat(record["start_time"])  # date + time are India time
    query = SMARTFLO.stats(sandbox)["vendor"]["latest_window_query"]
    assert query["from_date"] == "2024-07-03 04:29:59" and query["to_date"] == "2024-07-03 05:30:00"


def test_nested_records_are_typed_and_converted(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=1_000)
    run = run_tap(SMARTFLO.config(sandbox, options))

    assert run.returncode == 0, run.stderr
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
    SMARTFLO.configure(sandbox, count=0)
    sandbox.add_records("smartflo", SMARTFLO_SEED_RECORD)
    options = {"start": "2024-05-09T00:00:00+00:00", "end": "2024-05-10T00:00:00+00:00"}
    run = run_tap(SMARTFLO.config(sandbox, options))

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


def test_filters_are_sent_as_documented(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=10)
    filters = {"direction": "inbound", "call_type": "c", "did_number": "+918069651170",
               "services": "dialer,ivr"}
    arrays = {"agents": ["agent|0504", "agent|0505"], "department": ["12"], "ivr": ["7", "8"]}
    run = run_tap(SMARTFLO.config(sandbox, options, settings={**filters, **arrays, "window_hours": 24}))

    assert run.returncode == 0, run.stderr
    assert run.records(STREAM) == []  # the sandbox has no call of these agents
    seen = SMARTFLO.stats(sandbox)["vendor"]
    query = seen["last_query"]
    assert {name: query[name] for name in filters} == filters
    assert {name: query[f"{name}[]"] for name in ("agents", "ivr")} == {"agents": arrays["agents"],
                                                                      "ivr": arrays["ivr"]}
    assert query["department[]"] == "12"  # one value, still as a list: agents[]=...
    assert seen["filters_read"] == arrays
    assert query["limit"] == "100"


def _agents_of_the_sandbox_calls(sandbox):
    """Every call of the sandbox's data set, by id, with the agents it names."""
    url = (f"{sandbox.url}/smartflo/v1/call/records?from_date=2000-01-01+00:00:00"
           "&to_date=2100-01-01+00:00:00&limit=10000")
    request = urllib.request.Request(url, headers={"Authorization": "sandbox-smartflo-token"})
    with urllib.request.urlopen(request, timeout=10) as response:
        calls = json.loads(response.read())["results"]
    return {call["id"]: {f"agent|{step['id']}" for step in call["call_flow"] if step["type"] == "Agent"}
            for call in calls}


@pytest.mark.parametrize("array_filters", ["all_values", "last_value"])
def test_array_filters_select_the_same_calls_however_the_server_reads_repeated_keys(
        sandbox, run_tap, array_filters):
    """Smartflo documents agents, department and ivr as arrays, not how they are encoded;
    a PHP server reads a repeated bare key as its last value only."""
    options = SMARTFLO.configure(sandbox, count=2_000, array_filters=array_filters)
    calls = _agents_of_the_sandbox_calls(sandbox)
    first = next(iter(calls.values()))
    second = next(agents for agents in calls.values() if agents.isdisjoint(first))
    wanted = [min(first), min(second)]
    expected = {call_id for call_id, agents in calls.items() if not agents.isdisjoint(wanted)}
    assert 2 <= len(expected) < 2_000

    run = run_tap(SMARTFLO.config(sandbox, options, settings={"agents": wanted, "window_hours": 24}))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert sorted(record["id"] for record in records) == sorted(expected)
    assert SMARTFLO.stats(sandbox)["vendor"]["filters_read"] == {"agents": wanted}


def test_array_filter_form_repeated_sends_bare_repeated_keys(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=10)
    settings = {"agents": ["agent|1", "agent|2"], "array_filter_form": "repeated", "window_hours": 24}
    run = run_tap(SMARTFLO.config(sandbox, options, settings=settings))

    assert run.returncode == 0, run.stderr
    query = SMARTFLO.stats(sandbox)["vendor"]["last_query"]
    assert query["agents"] == ["agent|1", "agent|2"] and "agents[]" not in query


def test_agent_hangup_data_sent_as_text_is_kept_as_sent(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=200, agent_hangup_data="string")
    run = run_tap(SMARTFLO.config(sandbox, options, settings={"window_hours": 24}))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, STREAM)
    records = run.records(STREAM)
    assert len(records) == 200
    assert all(record["agent_hangup_data"] is None for record in records)  # the column holds lists
    kept = [record["extra"]["agent_hangup_data"] for record in records]
    assert all(isinstance(text, str) for text in kept)
    assert any(": ANSWERED" in text for text in kept)


# -- Authentication --------------------------------------------------------------------------


def test_login_token_expiring_mid_sync_is_renewed_without_losing_a_page(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=3_000, token_max_requests=4)

    run = run_tap(SMARTFLO.config(sandbox, options, **FAST_RETRIES))

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 3_000
    assert_unique_keys(records, "id")
    seen = SMARTFLO.stats(sandbox)
    expired = seen["vendor"]["expired_token_401s"]
    assert expired >= 5
    assert seen["statuses"]["401"] == expired
    # One login per expiry at most: windows in flight refused with the same expired token
    # share one renewal.
    assert 2 <= seen["vendor"]["logins"] <= expired + 1


def test_token_is_renewed_before_it_expires(sandbox, run_tap):
    # A token that lives no longer than the renewal margin (60 s) is renewed before each use.
    options = SMARTFLO.configure(sandbox, count=300, token_expires_in=60)

    run = run_tap(SMARTFLO.config(sandbox, options, settings={"window_hours": 24}))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 300
    seen = SMARTFLO.stats(sandbox)
    assert "401" not in seen["statuses"]
    assert seen["vendor"]["logins"] >= seen["paths"]["/v1/call/records"] >= 4


def test_a_login_refused_with_http_200_is_one_clear_error(sandbox, run_tap):
    """Smartflo may refuse a login with a 200 reply (``success: false``); not retried."""
    options = SMARTFLO.configure(sandbox, count=10, login_failure_status=200)
    config = SMARTFLO.config(sandbox, options, settings={"password": "SECRET-wrong-password-42"})

    run = run_tap(config)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1
    assert SMARTFLO_LOGIN_HINT in run.error_lines[0]
    assert "SECRET-wrong-password-42" not in run.stderr + run.stdout
    assert run.records(STREAM) == []
    assert SMARTFLO.stats(sandbox)["vendor"]["failed_logins"] == 1  # refused logins are not retried


@pytest.mark.parametrize("written", ["{}", "Bearer {}", "  bearer {} "],
                         ids=["bare", "bearer", "spaced-lowercase-bearer"])
def test_api_token_works_with_or_without_bearer_prefix_and_is_never_printed(sandbox, run_tap, written):
    token = "SECRET-smartflo-TOKEN-5678efgh"
    options = SMARTFLO.configure(sandbox, count=50, api_token=token)
    config = SMARTFLO.config(sandbox, options, settings={"window_hours": 24})

    run = run_tap(with_token(config, written.format(token)), env=DEBUG)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 50
    assert SMARTFLO.stats(sandbox)["vendor"]["logins"] == 0
    assert "SECRET" not in run.stdout + run.stderr


@pytest.mark.parametrize("token_form", ["bare", "bearer"])
@pytest.mark.parametrize("login", [False, True], ids=["api-token", "login"])
def test_either_authorization_form_is_found_with_at_most_one_401(sandbox, run_tap, token_form, login):
    """Which ``Authorization`` form Smartflo reads is undocumented: a 401 before any
    success is retried once in the other form, which is then kept for the run."""
    options = SMARTFLO.configure(sandbox, count=300, token_form=token_form)
    config = SMARTFLO.config(sandbox, options, settings={"window_hours": 24})
    if not login:
        config = with_token(config, "sandbox-smartflo-token")

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 300
    seen = SMARTFLO.stats(sandbox)
    wrong = 1 if token_form == "bare" else 0  # the tap starts with Bearer
    assert seen["vendor"]["wrong_form_401s"] == wrong
    assert seen["statuses"].get("401", 0) == wrong
    assert seen["vendor"]["logins"] == (1 if login else 0)


def test_a_wrong_token_is_one_clear_error_after_trying_both_forms(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=10)
    config = with_token(SMARTFLO.config(sandbox, options), "SECRET-not-the-token")

    run = run_tap(config)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1 and "smartflo.api_token" in run.error_lines[0]
    seen = SMARTFLO.stats(sandbox)
    assert seen["statuses"]["401"] == 2
    assert (seen["vendor"]["bearer_prefixed"], seen["vendor"]["bare"]) == (1, 1)
    assert "SECRET" not in run.stdout + run.stderr


def test_sandbox_accepts_bare_and_bearer_authorization_headers(sandbox):
    SMARTFLO.configure(sandbox, count=5)
    url = f"{sandbox.url}/smartflo/v1/call/records?from_date=2024-07-01+00:00:00&to_date=2024-07-04+00:00:00"
    for header in ("sandbox-smartflo-token", "Bearer sandbox-smartflo-token"):
        request = urllib.request.Request(url, headers={"Authorization": header})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["count"] == 5
    request = urllib.request.Request(url, headers={"Authorization": "Bearer nope"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


# -- Rate --------------------------------------------------------------------------------------


def test_request_rate_never_exceeds_max_requests_per_second(sandbox, run_tap):
    """Logins count against Smartflo's account-wide limit too; the sandbox enforces it."""
    one_day = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-02T00:00:00+00:00"}
    # The default cap (1/s) with the sandbox limiting at 1/s: one login, three pages.
    options = SMARTFLO.configure(sandbox, count=250, rate_limit_per_second=1, **one_day)
    config = SMARTFLO.config(sandbox, options, settings={"window_hours": 24})
    del config["smartflo"]["max_requests_per_second"]
    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 250
    seen = SMARTFLO.stats(sandbox)
    assert seen["paths"] == {"/v1/auth/login": 1, "/v1/call/records": 3}
    assert seen["max_per_second"] == 1 and seen["vendor"]["rate_limited"] == 0

    # 3/s with tokens expiring every two requests: renewal logins stay under the cap too.
    sandbox.reset()
    options = SMARTFLO.configure(sandbox, count=350, rate_limit_per_second=3, token_max_requests=2, **one_day)
    settings = {"window_hours": 24, "max_requests_per_second": 3}
    run = run_tap(SMARTFLO.config(sandbox, options, settings=settings, **FAST_RETRIES))

    assert run.returncode == 0, run.stderr
    assert len(run.records(STREAM)) == 350
    seen = SMARTFLO.stats(sandbox)
    assert seen["vendor"]["logins"] >= 2
    assert seen["max_per_second"] <= 3 and seen["vendor"]["rate_limited"] == 0


def test_sandbox_rate_limit_429s_are_retried(sandbox, run_tap):
    options = SMARTFLO.configure(sandbox, count=500, rate_limit_per_second=3)
    config = SMARTFLO.config(sandbox, options, settings={"window_hours": 24},
                        **{**FAST_RETRIES, "max_retries": 10})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(STREAM)
    assert len(records) == 500
    assert_unique_keys(records, "id")
    seen = SMARTFLO.stats(sandbox)
    assert seen["statuses"]["429"] == seen["vendor"]["rate_limited"] > 0
    assert "Too many requests." in run.stderr  # Smartflo's 429 body, in the retry warning
