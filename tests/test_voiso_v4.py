"""What only Voiso's API v4 does, end to end through the tap's CLI: exact ``started_at``
windows (nothing read twice beyond the lookback), scoped keys, cursors Voiso rejects,
and one call history across a move from v2 to v4. Everything every vendor must do is
in tests/test_contract.py (the ``voiso_v4`` profile)."""

from __future__ import annotations

import base64
import re

import pytest

from tap_callrecords.sandbox import voiso_v4 as sandbox_v4
from tests.assertions import assert_one_clear_error, assert_unique_keys
from tests.vendors import VOISO, VOISO_V4

SUMMARY = re.compile(r"done: ([\d,]+) records.*?([\d,]+) skipped \(outside their window\), ([\d,]+) re-read")


def summary(stderr: str, stream: str) -> tuple[int, int, int]:
    """(records read, skipped outside their window, re-read by the lookback) of a stream's run."""
    line = next(line for line in stderr.splitlines() if f"{stream}: done:" in line)
    found = SUMMARY.search(line)
    assert found, line
    read, skipped, reread = (int(value.replace(",", "")) for value in found.groups())
    return read, skipped, reread


def test_a_backfill_reads_each_record_once_and_v2_reads_the_same_calls_with_padding(sandbox, run_tap):
    options = {"count": 3_000, "start": "2024-07-01T00:00:00+00:00", "end": "2024-07-29T00:00:00+00:00"}
    runs = {}
    for profile in (VOISO, VOISO_V4):
        profile.configure(sandbox, **options)
        runs[profile.key] = run_tap(profile.config(sandbox, options, settings={"window_days": 7}))
        assert runs[profile.key].returncode == 0, runs[profile.key].stderr

    v4 = runs["voiso_v4"]
    records = v4.records(VOISO_V4.stream)
    assert len(records) == 3_000
    assert_unique_keys(records, "id")
    assert summary(v4.stderr, VOISO_V4.stream) == (3_000, 0, 0)  # read = emitted: no padding
    assert {r["type"] for r in records} == {"call", "sms", "conversation", "hlr_lookup"}
    lookups = [r for r in records if r["type"] == "hlr_lookup"]
    assert all(r["data"]["network"] and r["data"]["status"] == "available" for r in lookups)
    assert v4.bookmark(VOISO_V4.stream) == "2024-07-29T00:00:00.000000+00:00"

    v2 = runs["voiso"]
    read, skipped, _ = summary(v2.stderr, VOISO.stream)
    assert len(v2.records(VOISO.stream)) == 3_000 and read == 3_000 and skipped > 0  # v2 pads by a day
    rows = {row["call_id"]: row for row in v4.records("call_records")}
    assert {(rows[r["id"]]["channel"], rows[r["id"]]["direction"]) for r in lookups} == {(None, None)}
    # One call history: the same calls under the same call_id, whichever API read them.
    ids = {name: {row["call_id"] for row in run.records("call_records")} for name, run in runs.items()}
    assert ids["voiso"] == ids["voiso_v4"] and len(ids["voiso"]) == 3_000


def test_an_incremental_run_rereads_only_the_lookback(sandbox, run_tap):
    options = VOISO_V4.configure(sandbox, count=2_800)
    config = VOISO_V4.config(sandbox, options, settings={"window_days": 1}, lookback_minutes=90)
    first = run_tap({**config, "end_date": "2024-07-15T00:00:00+00:00"})
    assert first.returncode == 0, first.stderr
    assert first.bookmark(VOISO_V4.stream) == "2024-07-15T00:00:00.000000+00:00"
    in_lookback = [r for r in first.records(VOISO_V4.stream) if r["started_at"] >= "2024-07-14T22:30"]

    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    records = second.records(VOISO_V4.stream)
    assert_unique_keys(records, "id")
    read, skipped, reread = summary(second.stderr, VOISO_V4.stream)
    assert in_lookback and reread == len(in_lookback) and skipped == 0
    assert read == len(records) == 2_800 - len(first.records(VOISO_V4.stream)) + len(in_lookback)


def test_a_v2_key_on_v4_says_which_key_v4_takes(sandbox, run_tap):
    options = VOISO_V4.configure(sandbox, count=10)
    v2_key = "a387aaf1f101fcfe284aaf61-user-key"
    run = run_tap(VOISO_V4.config(sandbox, options, settings={"api_key": v2_key}))

    assert_one_clear_error(run, "HTTP 401", "scoped API key", "API keys page", "reporting.cdrs.read")
    assert v2_key not in run.stdout + run.stderr
    assert VOISO_V4.stats(sandbox)["statuses"] == {"401": 1}


def test_a_key_without_the_cdr_scope_names_the_scope(sandbox, run_tap):
    options = VOISO_V4.configure(sandbox, count=10)
    run = run_tap(VOISO_V4.config(sandbox, options, settings={"api_key": sandbox_v4.UNSCOPED_KEY}))

    assert_one_clear_error(run, exactly=(
        "Voiso refused the API key (HTTP 403): a v4 key needs the scope reporting.cdrs.read; an "
        "administrator adds it to the key (or generates one with it) on Voiso's API keys page, "
        "then set it in voiso.api_key."))
    assert sandbox_v4.UNSCOPED_KEY not in run.stdout + run.stderr
    assert VOISO_V4.stats(sandbox)["statuses"] == {"403": 1}


def test_cursors_page_past_10000_and_a_rejected_cursor_there_is_one_clear_error(sandbox, run_tap):
    options = VOISO_V4.configure(sandbox, count=12_000)
    config = VOISO_V4.config(sandbox, options, settings={"window_days": 31})
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    assert len(run.records(VOISO_V4.stream)) == 12_000
    assert_unique_keys(run.records(VOISO_V4.stream), "id")

    VOISO_V4.configure(sandbox, **options, reject_cursors=True)
    rejected = run_tap(config)
    assert_one_clear_error(rejected, "HTTP 400", "rejected the paging cursor")
    assert "replication_key_value" not in str(rejected.states)  # nothing claimed


def test_call_records_rows_of_a_call_a_conversation_and_an_sms():
    from tap_callrecords.vendors.voiso.v4.calls import voiso_v4_call
    from tap_callrecords.vendors.voiso.v4.records import voiso_v4_record

    def row(raw):
        return voiso_v4_call(voiso_v4_record(raw), "US")

    call = row({"id": "c1", "type": "call", "subtype": "inbound", "started_at": "2024-07-03T12:41:50-03:00",
                "ended_at": "2024-07-03T12:43:09-03:00", "disposition": "answered_by_vm", "user_id": 56215,
                "data": {"from": "15557571011", "to": "31208112500", "talk_time": 60, "cost": 0.4,
                         "currency": "USD", "future_key": 1}})
    assert (call.call_id, call.channel, call.direction, call.outcome, call.duration_seconds) == (
        "c1", "voice", "inbound", "voicemail", 79.0)
    # A region reads only its own country's numbers written without the +, as for v2.
    assert (call.customer_number, call.business_number, call.agent_id) == (
        "+15557571011", "31208112500", "56215")
    assert (call.started_at, call.talk_seconds, call.cost, call.currency) == (
        "2024-07-03T15:41:50.000000+00:00", 60, 0.4, "USD")

    chat = row({"id": "c2", "type": "conversation", "subtype": "whatsapp",
                "started_at": "2024-07-03T12:00:00Z", "disposition": "archived",
                "data": {"channel": "whatsapp", "from": "Guest"}})
    assert (chat.channel, chat.direction, chat.outcome, chat.customer_number) == (
        "messaging", None, None, None)

    sms = row({"id": "c3", "type": "sms", "subtype": "outbound", "started_at": "2024-07-03T12:00:00Z",
               "disposition": "not_delivered", "data": {"from": "VOISO", "to": "15557571011"}})
    assert (sms.channel, sms.direction, sms.outcome, sms.customer_number, sms.business_number) == (
        "sms", "outbound", "failed", "+15557571011", "VOISO")


def test_the_documented_429_is_waited_out_and_no_call_lost(sandbox, run_tap):
    """Voiso documents no limit but a 429 ``{"error":"Too many requests"}``: a cap set
    above what the account allows costs retries, never a call."""
    options = VOISO_V4.configure(sandbox, count=3_000, requests_per_second=4)
    config = VOISO_V4.config(sandbox, options, settings={"window_days": 7, "limit": 100,
                                                         "max_requests_per_second": 50})
    run = run_tap({**config, "retry_initial_wait_seconds": 1})

    assert run.returncode == 0, run.stderr
    assert_unique_keys(run.records(VOISO_V4.stream), "id")
    assert len(run.records(VOISO_V4.stream)) == 3_000
    stats = VOISO_V4.stats(sandbox)
    assert stats["vendor"]["rate_limited"] > 0 and stats["statuses"]["429"] == stats["vendor"]["rate_limited"]
    assert "Traceback" not in run.stderr


def v4_page(records: list[dict], cursor: str | None) -> dict:
    return {"status": 200, "body": {"data": records, "metadata": {"total": None, "next_cursor": cursor}}}


CALL = {"id": "v4-guard-1", "type": "call", "subtype": "inbound", "started_at": "2024-07-02T10:00:00Z",
        "ended_at": "2024-07-02T10:01:00Z", "duration": 60, "data": {}}


@pytest.mark.parametrize(("pages", "says"), [
    ([v4_page([], "QQ=="), v4_page([], "Qg=="), v4_page([], "QQ==")], "led back to a page already read"),
    ([v4_page([CALL], "QQ=="), v4_page([CALL], "Qg==")], "served the same 1 records again"),
    ([v4_page([], f"cursor-{n}") for n in range(12)], "pages in a row held no records"),
], ids=["cursor-seen-before", "same-records-again", "empty-pages-forever"])
def test_cursors_that_make_no_progress_stop_with_one_clear_line_claiming_nothing(
        sandbox, run_tap, pages, says):
    options = VOISO_V4.configure(sandbox, count=500)
    config = VOISO_V4.config(sandbox, options, settings={"window_days": 7, "max_parallel_windows": 1})
    sandbox.faults("voiso_v4", *pages)

    run = run_tap(config, timeout=60)

    assert_one_clear_error(run, "stopped making progress", says)
    assert "replication_key_value" not in str(run.states)  # the first window never completed


def test_an_empty_page_that_gives_a_cursor_is_followed(sandbox, run_tap):
    options = VOISO_V4.configure(sandbox, count=500)
    config = VOISO_V4.config(sandbox, options, settings={"window_days": 7, "max_parallel_windows": 1})
    sandbox.faults("voiso_v4", v4_page([], base64.urlsafe_b64encode(b"cdr:0").decode()))

    run = run_tap(config, timeout=60)

    assert run.returncode == 0, run.stderr
    assert len({r["id"] for r in run.records(VOISO_V4.stream)}) == 500
