"""What only Voiso does, end to end through the tap's CLI: search_token chains, its
record conversions. Everything every vendor must do is in tests/test_contract.py."""

from __future__ import annotations

import pytest

from tests.assertions import assert_records_match_schema, assert_unique_keys
from tests.vendors import VOISO


@pytest.mark.parametrize("reading", VOISO.readings.values(), ids=list(VOISO.readings))
def test_search_token_chains_are_followed_to_the_end_of_a_window(sandbox, run_tap, reading):
    options = VOISO.configure(sandbox, count=25_000, **reading)
    # One window: several 10,000-record chains.
    run = run_tap(VOISO.config(sandbox, options, settings={"window_days": 31}))

    assert run.returncode == 0, run.stderr
    records = run.records(VOISO.stream)
    assert len(records) == 25_000
    assert_unique_keys(records, VOISO.primary_key)
    assert VOISO.stats(sandbox)["vendor"]["search_token_chains"] >= 2
    assert run.final_state["bookmarks"][VOISO.stream] == {
        "replication_key": "timestamp",
        "replication_key_value": "2024-07-29T00:00:00.000000+00:00",
    }


def test_sms_and_chat_records_are_converted(sandbox, run_tap):
    options = VOISO.configure(sandbox, count=3_000)
    run = run_tap(VOISO.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    records = run.records(VOISO.stream)
    assert all(r["timestamp"].endswith("+00:00") for r in records)
    types = {r["type"] for r in records}
    assert {"outbound SMS", "chat", "inbound"} <= types, types
    chat = next(r for r in records if r["type"] == "chat")
    assert chat["sla"] == {"time_to_first_response": 105, "time_to_resolution": 173787,
                           "time_to_reply": 23}


def test_converts_a_seed_record_exactly(sandbox, run_tap):
    options = VOISO.configure(sandbox, count=0)
    sandbox.add_records("voiso", {
        "agent": "Mike A", "from": "15557571011", "disposition": "answered", "duration": "00:01:19",
        "queue": None, "to": "31208112500", "timestamp": "2024-07-03T12:43:09.000-03:00",
        "uuid": "5d73e973-4103-48ac-84ad-4861155f86db", "wrapup_code": "0101", "type": "outbound",
        "agent_id": 56215, "cpc": 0.3972,
    })
    run = run_tap(VOISO.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    [record] = run.records(VOISO.stream)
    assert record["timestamp"] == "2024-07-03T15:43:09.000000+00:00"
    assert record["duration"] == 79
    assert record["cpc"] == 0.3972 and record["agent_id"] == 56215 and record["type"] == "outbound"


def test_sla_sent_as_a_list_is_kept_as_sent(sandbox, run_tap):
    """``sla`` is documented as an array and sampled as an object: a list is kept, in extra."""
    options = VOISO.configure(sandbox, count=3_000, sla="list")
    run = run_tap(VOISO.config(sandbox, options))

    assert run.returncode == 0, run.stderr
    assert_records_match_schema(run, VOISO.stream)
    records = run.records(VOISO.stream)
    assert len(records) == 3_000
    chats = [r for r in records if r["type"] == "chat"]
    assert chats and all(r["sla"] is None for r in chats)
    assert all(r["extra"] == {"sla": [{"time_to_first_response": "00:01:45", "time_to_resolution": "48:16:27",
                                       "time_to_reply": "00:00:23"}]} for r in chats)


def test_a_per_page_that_does_not_divide_a_chain_is_one_clear_error(sandbox, run_tap):
    options = VOISO.configure(sandbox, count=100)
    run = run_tap(VOISO.config(sandbox, options, settings={"per_page": 3_000}))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "voiso.per_page is 3000; it must divide 10000 (Voiso serves 10,000 records a chain)" in run.stderr
    assert run.stdout == ""
    assert VOISO.stats(sandbox)["requests"] == 0


def test_no_page_reaches_past_the_10000th_record_of_a_chain(sandbox, run_tap):
    options = VOISO.configure(sandbox, count=25_000)
    run = run_tap(VOISO.config(sandbox, options, settings={"window_days": 31, "per_page": 2_500}))

    assert run.returncode == 0, run.stderr
    records = run.records(VOISO.stream)
    assert len(records) == 25_000
    assert_unique_keys(records, VOISO.primary_key)
    seen = VOISO.stats(sandbox)["vendor"]
    assert seen["search_token_chains"] >= 2 and seen["pages_past_chain_cap"] == 0


def test_an_invalid_key_answered_with_200_is_one_credential_error_not_retried(sandbox, run_tap):
    options = VOISO.configure(sandbox, count=100, key_error="body")
    run = run_tap(VOISO.config(sandbox, options, settings={"api_key": "SECRET-wrong-voiso-key"}))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1
    assert "Voiso rejected the API key (Invalid api_key" in run.error_lines[0]
    assert "check voiso.api_key" in run.error_lines[0]
    assert "SECRET" not in run.stdout + run.stderr
    assert VOISO.stats(sandbox)["paths"]["/api/v2/cdr"] == 1  # not retried
