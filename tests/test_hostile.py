"""Hostile vendors and hostile inputs: bounded time, one clear line, honest STATE.

Each test serves one kind of reply nobody plans for (or passes one kind of bad input)
and checks what a user relies on: the run ends in bounded time (every run here has a
timeout well under a minute), with the right exit code, one clear line on stderr and
no traceback, no STATE past what was emitted, and no record with a null key.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from urllib.parse import quote, quote_plus

import pytest

from tap_callrecords.sandbox.client import vendor_config
from tests.assertions import assert_one_clear_error
from tests.conftest import ROOT, tap_command, write_json
from tests.postgres import free_port

STREAM = "voiso_cdr"
JULY = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-29T00:00:00+00:00"}
FIRST_WEEK_END = "2024-07-08T00:00:00.000000+00:00"
FAST = {"retry_initial_wait_seconds": 0.01, "max_retries": 3}


def voiso(sandbox, count=2_000, **settings):
    """A Voiso config over four one-week windows, failing fast."""
    sandbox.configure("voiso", count=count, **JULY)
    config = vendor_config(sandbox.url, "voiso", JULY, **FAST)
    config["voiso"].update({"window_days": 7, **settings})
    return config


def assert_honest(run, bookmark=FIRST_WEEK_END):
    """No bookmark past the last complete window (``bookmark``). Records of a later window
    that a padded reply held may have been emitted early (the reader hands them out once);
    no bookmark claims them, so the next run reads their window again."""
    if bookmark is None:
        assert not any(STREAM in s.get("bookmarks", {}) and s["bookmarks"][STREAM].get(
            "replication_key_value") for s in run.states)
    else:
        assert run.final_state["bookmarks"][STREAM]["replication_key_value"] == bookmark
    assert all(r["uuid"] and r["timestamp"] for r in run.records(STREAM))


def first_week(run) -> list[dict]:
    """The records of the first (one-week) window."""
    return [r for r in run.records(STREAM) if r["timestamp"] < FIRST_WEEK_END]


# -- Replies of the wrong shape: retried like a malformed body, then one clear line ------

@pytest.mark.parametrize(("fault", "says"), [
    ({"status": 200, "body": {"records": None, "search_token": None}}, 'its "records" list is null'),
    ({"status": 200, "body": {"search_token": None}}, 'its "records" list is missing'),
    ({"status": 200, "body": [1, 2, 3]}, "the reply is a JSON list, not an object"),
    ({"status": 200, "body": {"records": [1, "two"]}}, "holds items that are not objects"),
    ({"status": 200, "body": {"records": {"uuid": "x"}}}, 'its "records" is a dict, not a list'),
    ({"status": 200, "raw": "\xff\xfe{not utf-8 \x80"}, "malformed JSON body"),
], ids=["null-list", "missing-list", "json-array", "items-not-objects", "object-not-list",
        "not-utf8"])
def test_a_reply_of_the_wrong_shape_is_never_an_empty_page(sandbox, run_tap, fault, says):
    config = voiso(sandbox)
    sandbox.faults("voiso", {**fault, "after": 1, "repeat": 100})

    run = run_tap(config, timeout=60)

    assert_one_clear_error(run, "Voiso: giving up on /api/v2/cdr after 3 attempts", says)
    assert len(first_week(run)) == 500  # the first window whole
    assert_honest(run)


def test_an_error_body_on_a_200_is_one_line_quoting_it_never_retried(sandbox, run_tap):
    config = voiso(sandbox)
    sandbox.faults("voiso", {"status": 200, "body": {"error": "Internal"}, "after": 1, "repeat": 100})

    run = run_tap(config, timeout=60)

    assert_one_clear_error(run, "Voiso: /api/v2/cdr answered: Internal (HTTP 200)")
    assert len(first_week(run)) == 500
    assert_honest(run)


def test_a_wrong_shape_that_heals_is_retried_and_nothing_is_lost(sandbox, run_tap):
    config = voiso(sandbox)
    sandbox.faults("voiso", {"status": 200, "body": {"records": None}, "after": 1})

    run = run_tap(config, timeout=60)

    assert run.returncode == 0, run.stderr
    assert len({r["uuid"] for r in run.records(STREAM)}) == 2_000


# -- Paging that goes nowhere ----------------------------------------------------------

def test_a_search_token_that_never_ends_stops_with_one_clear_line(sandbox, run_tap):
    config = voiso(sandbox, per_page=10_000)
    sandbox.configure("voiso", endless_search_token=True)

    run = run_tap(config, timeout=60)

    assert_one_clear_error(run, "Voiso: voiso_cdr stopped making progress in the window",
                           "the vendor served the same 572 records again")
    assert len(first_week(run)) == 500
    assert_honest(run, bookmark=None)


def test_a_page_token_seen_before_stops_with_one_clear_line(sandbox, run_tap):
    config = voiso(sandbox, per_page=100)
    sandbox.faults("voiso", *[{"status": 200, "body": {"records": [], "search_token": token}}
                              for token in ("QQ==", "Qg==", "QQ==")])

    run = run_tap(config, timeout=60)

    assert_one_clear_error(run, "stopped making progress", "led back to a page already read")
    assert_honest(run, bookmark=None)


# -- Records that cannot be trusted -------------------------------------------------------

@pytest.mark.parametrize(("record", "says"), [
    ({"uuid": "no-time", "timestamp": None}, "'no-time' in voiso_cdr window 2024-07-01T00:00:00+00:00"
                                             " to 2024-07-08T00:00:00+00:00 has no readable timestamp"),
    ({"uuid": "garbage-time", "timestamp": "yesterday-ish"}, "'garbage-time' in voiso_cdr window"),
    ({"uuid": "number-time", "timestamp": 1720000000}, "could not be read"),
    ({"timestamp": "2024-07-02T10:00:00+00:00"}, "has no readable uuid"),
], ids=["null-timestamp", "garbage-timestamp", "number-timestamp", "no-key"])
def test_a_record_without_a_readable_key_is_never_emitted(sandbox, run_tap, record, says):
    config = voiso(sandbox)
    sandbox.add_records("voiso", {"type": "inbound", "duration": "00:00:01",
                                  "timestamp": "2024-07-02T10:00:00+00:00", **record})

    stopped = run_tap(config, timeout=60)
    skipped = run_tap({**config, "skip_invalid_records": True}, timeout=60)

    assert_one_clear_error(stopped, says, "Set skip_invalid_records to true")
    assert stopped.records(STREAM) == [] or all(r["uuid"] for r in stopped.records(STREAM))
    assert_honest(stopped, bookmark=None)
    assert skipped.returncode == 0, skipped.stderr
    assert len(skipped.records(STREAM)) == 2_000
    assert all(r["uuid"] and r["timestamp"] for r in skipped.records(STREAM))
    assert re.search(r"skipped [1-9]\d* invalid records", skipped.stderr)


# -- Requests that never end, bodies that never stop --------------------------------------

def test_a_trickling_body_is_cut_at_the_request_deadline(sandbox, run_tap):
    config = voiso(sandbox, count=100)
    config["request_timeout_seconds"] = 2
    sandbox.faults("voiso", {"status": 200, "body": {"records": []}, "trickle": 0.5, "repeat": 10})

    started = time.monotonic()
    run = run_tap(config, timeout=60)

    assert time.monotonic() - started < 30
    assert_one_clear_error(run, "giving up on /api/v2/cdr after 3 attempts", "timed out")
    assert_honest(run, bookmark=None)


def test_a_gzip_bomb_is_refused_with_memory_bounded(sandbox, tmp_path):
    sandbox.configure("voiso", count=100, **JULY)
    config = vendor_config(sandbox.url, "voiso", JULY, **FAST)
    sandbox.faults("voiso", {"status": 200, "gzip_bomb": 1 << 30})
    process = subprocess.Popen([*tap_command(), "--config", str(write_json(tmp_path / "c.json", config))],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as status:
                peak = max(peak, next(int(line.split()[1]) for line in status if line.startswith("VmRSS")))
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            pass
        time.sleep(0.02)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 1
    assert "Traceback" not in stderr
    assert "larger than 128 MB once decompressed" in stderr
    assert peak < 600 * 1024, f"peak RSS {peak // 1024} MB"


def test_a_redirect_loop_and_a_huge_retry_after_are_one_clear_line(sandbox, run_tap):
    config = voiso(sandbox, count=100)
    sandbox.faults("voiso", {"status": 302, "headers": {"Location": "/voiso/api/v2/cdr"}})
    redirected = run_tap(config, timeout=60)
    sandbox.reset()
    config = voiso(sandbox, count=100)
    sandbox.faults("voiso", {"status": 429, "retry_after": "9" * 40})
    waited = run_tap(config, timeout=60)

    assert_one_clear_error(redirected, "Voiso: HTTP 302")
    assert_one_clear_error(waited, "rate limit reached")


# -- Signals and a closed output -----------------------------------------------------------

@pytest.mark.parametrize("during", ["stalled-request", "backoff-wait"])
def test_sigterm_ends_the_run_within_seconds_with_honest_state(sandbox, tmp_path, during):
    # One window at a time and one page per window, so the first request is the first
    # window's whole read and its STATE comes before the stall (else the test would wait
    # the stall out first).
    config = voiso(sandbox, count=400, max_parallel_windows=1)
    config["retry_initial_wait_seconds"] = 1
    stall = {"delay": 60} if during == "stalled-request" else {"status": 429, "retry_after": "60"}
    sandbox.faults("voiso", {**stall, "after": 1})
    process = subprocess.Popen([*tap_command(), "--config", str(write_json(tmp_path / "c.json", config))],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # up to the first window's STATE: the second request is stuck
        lines.append(line)
        if line.startswith('{"type":"STATE"'):
            break
    time.sleep(1)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    rest, stderr = process.communicate(timeout=20)

    assert time.monotonic() - signalled < 5
    assert process.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stderr
    states = [json.loads(line)["value"] for line in [*lines, *rest.splitlines()]
              if line.startswith('{"type":"STATE"')]
    # call_records is synced first (by name): its Voiso partition holds the first week, and
    # voiso_cdr, whose records were kept for its own sync, claims nothing yet.
    [partition] = states[-1]["bookmarks"]["call_records"]["partitions"]
    assert partition["context"] == {"vendor": "voiso"}
    assert partition["replication_key_value"] == FIRST_WEEK_END
    assert "replication_key_value" not in states[-1]["bookmarks"].get(STREAM, {})


def test_a_closed_output_ends_the_run_quietly_with_one_line(sandbox, tmp_path):
    config = voiso(sandbox, count=50_000)
    process = subprocess.Popen([*tap_command(), "--config", str(write_json(tmp_path / "c.json", config))],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.read(10_000)
    process.stdout.close()
    _, stderr = process.communicate(timeout=30)

    text = stderr.decode()
    assert process.returncode == 1
    assert "Traceback" not in text
    assert text.count("tap-callrecords: error:") == 1
    assert "the output was closed (the target stopped reading)" in text


# -- Bad files and bad bookmarks ---------------------------------------------------------------

@pytest.mark.parametrize(("option", "content", "says"), [
    ("--config", None, "the config file {path} (--config) does not exist."),
    ("--config", "{not json", "the config file {path} (--config) is not JSON (line 1, column 2)."),
    ("--config", "[1, 2]", "the config file {path} (--config) holds a JSON list, not an object."),
    ("--state", "{oops", "the state file {path} (--state) is not JSON (line 1, column 2)."),
    ("--state", None, "the state file {path} (--state) does not exist."),
], ids=["config-missing", "config-not-json", "config-not-object", "state-not-json", "state-missing"])
def test_a_bad_file_is_one_clear_line(sandbox, tmp_path, option, content, says):
    # Nothing listens at the API URL: a request before the error would be another error
    # (the shared sandbox's counters could also see a request of an earlier test's tap).
    unreachable = {**voiso(sandbox), "voiso": {**voiso(sandbox)["voiso"],
                                               "api_url": f"http://127.0.0.1:{free_port()}"}}
    config = write_json(tmp_path / "config.json", unreachable)
    path = tmp_path / "given.json"
    if content is not None:
        path.write_text(content)
    args = ["--config", str(config)] if option == "--state" else []
    completed = subprocess.run([*tap_command(), *args, option, str(path)], cwd=ROOT,
                               capture_output=True, text=True, timeout=30)

    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines() == [f"tap-callrecords: error: {says.format(path=path)}"]


@pytest.mark.parametrize(("value", "says"), [
    ("not-a-date", "the state's bookmark for voiso_cdr is 'not-a-date', which is not a date-time"),
    (12345, "the state's bookmark for voiso_cdr is 12345, which is not a date-time"),
    ("2999-01-01T00:00:00+00:00", "the state's bookmark for voiso_cdr is 2999-01-01T00:00:00.000000+00:00,"
                                  " later than now"),
], ids=["garbage", "number", "future"])
def test_a_bad_bookmark_is_one_clear_line_saying_how_to_reset_it(sandbox, run_tap, value, says):
    state = {"bookmarks": {STREAM: {"replication_key": "timestamp", "replication_key_value": value}}}

    run = run_tap(voiso(sandbox), state=state, timeout=60)

    assert_one_clear_error(run, says, "remove bookmarks.voiso_cdr from the state")
    assert run.records(STREAM) == []
    assert sandbox.stats()["voiso"]["requests"] == 0


# -- --test -----------------------------------------------------------------------------------

def test_connection_test_says_one_line_per_stream_and_exits_by_the_result(sandbox, run_tap, tmp_path):
    sandbox.configure("voiso", count=100, **JULY)
    sandbox.configure("zoom", count=100, **JULY)
    config = {"start_date": JULY["start"],
              "voiso": vendor_config(sandbox.url, "voiso", JULY)["voiso"],
              "zoom": vendor_config(sandbox.url, "zoom", JULY)["zoom"]}
    path = write_json(tmp_path / "config.json", config)
    good = subprocess.run([*tap_command(), "--config", str(path), "--test"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    config["zoom"]["client_secret"] = "definitely-the-wrong-secret"
    write_json(path, config)
    bad = subprocess.run([*tap_command(), "--config", str(path), "--test"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)

    assert good.returncode == 0, good.stderr
    assert "ERROR" not in good.stderr and "error" not in good.stderr.lower().replace("errors", "")
    assert "tap-callrecords: voiso_cdr: ok: Voiso accepted the credentials" in good.stderr
    assert ("tap-callrecords: zoom_voice_calls: ok: Zoom Contact Center accepted the credentials"
            in good.stderr)
    assert good.stdout == ""
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "tap-callrecords: error: Zoom Contact Center rejected the credentials" in bad.stderr


# -- Secrets in every form ----------------------------------------------------------------------

def test_secrets_are_masked_url_encoded_and_json_escaped_and_short_ones_masked(sandbox, run_tap):
    secret = 'SECRET key/with "odd" chars+&='
    sandbox.configure("voiso", count=100, api_key=secret, **JULY)
    config = voiso(sandbox, count=100, api_key=secret)
    sandbox.configure("voiso", api_key=secret)
    sandbox.faults("voiso", {"status": 500, "repeat": 10, "body": {
        "echo": secret, "query": "cdr?key=" + quote(secret, safe=""), "form": quote_plus(secret)}})
    debug = {"LOGLEVEL": "DEBUG", "TAP_CALLRECORDS_LOGLEVEL": "DEBUG"}
    run = run_tap(config, env=debug, timeout=60)
    short = run_tap({**config, "voiso": {**config["voiso"], "api_key": "abc123"}}, env=debug, timeout=60)

    assert run.returncode != 0
    for text in (run.stdout, run.stderr):
        assert "SECRET" not in text
    assert short.returncode != 0
    assert "a secret must have at least" not in short.stderr  # a short secret is accepted:
    assert "HTTP 500" in short.error_lines[0]  # the run reached Voiso (and its faults),
    assert "abc123" not in short.stdout + short.stderr  # masked there, even at DEBUG


# -- Counts checked, not trusted (issue 17) -------------------------------------------------


def test_a_smartflo_page_size_cap_below_limit_costs_no_call(sandbox, run_tap):
    from tests.vendors import SMARTFLO

    options = SMARTFLO.configure(sandbox, count=600, hidden_page_cap=10)

    run = run_tap(SMARTFLO.config(sandbox, options, settings={"window_hours": 24}))

    assert run.returncode == 0, run.stderr
    records = run.records(SMARTFLO.stream)
    assert len(records) == 600
    assert len({record["id"] for record in records}) == 600


def test_smartflo_rows_moving_between_pages_are_re_read_and_nothing_is_lost(sandbox, run_tap):
    from tests.vendors import SMARTFLO

    options = SMARTFLO.configure(sandbox, count=600, unstable_order_requests=3)

    run = run_tap(SMARTFLO.config(sandbox, options, settings={"window_hours": 24, "page_size": 100}))

    assert run.returncode == 0, run.stderr
    records = run.records(SMARTFLO.stream)
    assert len(records) == 600
    assert len({record["id"] for record in records}) == 600
    assert "served twice (the rows moved between pages)" in run.stderr
    assert "reading the window again (re-read 1 of at most 2)" in run.stderr


def test_smartflo_rows_that_keep_moving_stop_the_run_and_claim_nothing(sandbox, run_tap):
    from tests.vendors import SMARTFLO

    options = SMARTFLO.configure(sandbox, count=600, unstable_order_requests=10_000)

    run = run_tap(SMARTFLO.config(sandbox, options, settings={"window_hours": 24, "page_size": 100},
                                  **FAST))

    assert_one_clear_error(run, "could not read the window", "served twice")
    assert "replication_key_value" not in json.dumps(run.states)


ZOOM_DAY = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-02T00:00:00+00:00"}


def test_a_zoom_total_records_the_pages_never_reach_is_re_read_then_named_in_a_warning(sandbox, run_tap):
    from tests.vendors import ZOOM

    options = ZOOM.configure(sandbox, count=100, total_records_extra=5, **ZOOM_DAY)

    run = run_tap(ZOOM.config(sandbox, options, settings={"page_size": 50}))

    assert run.returncode == 0, run.stderr
    assert len({record["engagement_id"] for record in run.records(ZOOM.stream)}) == 100
    assert ("Zoom Contact Center: the window 2024-07-01T00:00:00+00:00 to 2024-07-02T00:00:00+00:00 held "
            "100 distinct records where the vendor's count says 105, the same in 3 reads") in run.stderr
    assert ZOOM.stats(sandbox)["paths"][ZOOM.fault_targets[0].path] == 3 * 2


def test_zoom_page_tokens_handed_out_without_end_are_bounded_by_the_count(sandbox, run_tap):
    from tests.vendors import ZOOM

    options = ZOOM.configure(sandbox, count=50, endless_pages=True, **ZOOM_DAY)

    run = run_tap(ZOOM.config(sandbox, options, settings={"page_size": 100}, **FAST), timeout=60)

    assert_one_clear_error(run, "kept serving records in the window", "where the vendor's count says 50")
    assert "replication_key_value" not in json.dumps(run.states)
    assert len(run.records(ZOOM.stream)) <= 1101
