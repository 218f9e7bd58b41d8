"""Several windows in flight (#18): the read-ahead in process, then the paged vendors end
to end against a sandbox that answers each request after a real vendor's latency.

The pace of a backfill is the rate cap's, not the latency's (at least 0.85 of the cap),
the cap is never exceeded over any one-second span (the sandbox's request log), records
leave in window order, each STATE covers only windows handed out in full, and a run
killed with windows in flight resumes without a loss.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tap_callrecords.core import readahead
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.readahead import read_ahead
from tap_callrecords.core.windows import Window
from tests.assertions import assert_unique_keys
from tests.vendors import SMARTFLO, VOISO, ZOOM, Sync, VendorProfile

UTC = timezone.utc
START = datetime(2024, 7, 1, tzinfo=UTC)


def windows(count: int) -> list[Window]:
    return [Window(START + timedelta(days=day), START + timedelta(days=day + 1)) for day in range(count)]


def slow_fetch(sizes: dict[int, int], *, fail_at: dict[int, int] | None = None,
               started: list[int] | None = None):
    """A fetch whose window ``n`` (by day) yields ``sizes[n]`` records, later windows faster
    than earlier ones (so they finish first), failing after ``fail_at[n]`` records."""
    fail_at = fail_at or {}

    def fetch(window: Window, turn: readahead.Turn):
        day = (window.start - START).days
        if started is not None:
            started.append(day)
        for index in range(sizes[day]):
            if index == fail_at.get(day):
                raise RuntimeError(f"window {day} failed")
            if index % 50 == 0:
                time.sleep(0.002 * (len(sizes) - day))
            yield {"id": f"{day}-{index}", "day": day}

    return fetch


# -- The read-ahead, in process ------------------------------------------------------------


@pytest.mark.parametrize("parallel", [1, 2, 4])
def test_records_leave_in_window_order_whatever_finishes_first(monkeypatch, parallel):
    monkeypatch.setattr(readahead, "MEMORY_RECORDS", 7)  # later windows spill to their files
    monkeypatch.setattr(readahead, "SPILL_CHUNK", 64)
    sizes = {day: 200 + 37 * day for day in range(8)}

    seen = [(window.start, [record["id"] for record in records])
            for window, records in read_ahead(windows(8), slow_fetch(sizes), parallel=parallel, name="t")]

    assert [start for start, _ in seen] == [window.start for window in windows(8)]
    for day, (_, ids) in enumerate(seen):
        assert ids == [f"{day}-{index}" for index in range(sizes[day])]


def test_a_failed_window_hands_out_what_it_read_then_raises_and_nothing_after_it_starts():
    sizes = dict.fromkeys(range(12), 120)
    started: list[int] = []
    fetch = slow_fetch(sizes, fail_at={2: 30}, started=started)
    handed: dict[int, int] = {}

    with pytest.raises(RuntimeError, match="window 2 failed"):
        for window, records in read_ahead(windows(12), fetch, parallel=3, name="t"):
            day = (window.start - START).days
            handed[day] = 0
            for _ in records:
                handed[day] += 1

    assert handed == {0: 120, 1: 120, 2: 30}
    assert max(started) < 2 + 2 * 3  # never more windows ahead than the read-ahead allows


def test_stopping_early_stops_the_workers():
    sizes = dict.fromkeys(range(30), 5_000)
    reader = read_ahead(windows(30), slow_fetch(sizes), parallel=4, name="stop-early")
    _, records = next(reader)
    next(iter(records))
    reader.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            thread.name.startswith("stop-early-window") for thread in threading.enumerate()):
        time.sleep(0.01)
    assert not [thread.name for thread in threading.enumerate()
                if thread.name.startswith("stop-early-window")]


def test_while_the_reader_is_the_slower_side_later_windows_wait_for_their_turn(monkeypatch):
    """A fast vendor and a slow reader: reading ahead would only park parsed pages and
    spill them. A window not yet handed out asks for about a page, then waits for its turn
    until the reader needs it; the window handed out asks for its next page early."""
    monkeypatch.setattr(readahead, "MEMORY_RECORDS", 50)
    pages, page_size = 20, 100
    asked_ahead: dict[int, int] = {}  # pages asked for by a window before it was handed out
    asked_early: list[int] = []  # windows that asked while leading

    def fetch(window: Window, turn: readahead.Turn):
        day = (window.start - START).days
        for page in range(pages):
            turn.wait()
            if not turn.leads:
                asked_ahead[day] = asked_ahead.get(day, 0) + 1
            elif day not in asked_early:
                asked_early.append(day)
            time.sleep(0.002)
            for index in range(page_size):
                yield {"id": f"{day}-{page}-{index}"}

    handed: list[str] = []
    for _, records in read_ahead(windows(4), fetch, parallel=4, name="pace"):
        for record in records:
            handed.append(record["id"])
            time.sleep(0.00005)

    assert len(handed) == len(set(handed)) == 4 * pages * page_size
    assert asked_early == [0, 1, 2, 3]
    assert max(asked_ahead.values()) <= 3, asked_ahead  # of 20 pages, without the turn


def gated_fetch(started: list[int], first_may_answer: threading.Event):
    """A fetch whose first window answers only once ``first_may_answer`` is set."""

    def fetch(window: Window, turn: readahead.Turn):
        day = (window.start - START).days
        started.append(day)
        if day == 0:
            first_may_answer.wait(5)
        yield {"id": f"{day}-0", "day": day}

    return fetch


def test_other_windows_wait_for_the_first_reply_unless_the_credentials_are_known_good():
    """A first reply may teach the client something (is the key good, which header form);
    only when the vendor has already accepted the credentials do windows start before it."""
    for opens_early, alone in ((None, True), (lambda: False, True), (lambda: True, False)):
        started: list[int] = []
        answer = threading.Event()
        reader = read_ahead(windows(6), gated_fetch(started, answer), parallel=3, name="gate",
                            opens_early=opens_early)
        _, records = next(reader)
        time.sleep(0.2)  # time for other windows to start, were the gate open
        assert (started == [0]) is alone, (opens_early, started)
        answer.set()
        assert [record["id"] for record in records] == ["0-0"]
        assert [(w.start - START).days for w, _ in reader] == [1, 2, 3, 4, 5]


def test_a_failure_deciding_the_gate_is_the_first_window_s_failure():
    started: list[int] = []

    def refused() -> bool:
        raise RuntimeError("credentials refused")

    reader = read_ahead(windows(6), gated_fetch(started, threading.Event()), parallel=3, name="gate-fail",
                        opens_early=refused)
    with pytest.raises(RuntimeError, match="credentials refused"):
        for _, records in reader:
            list(records)
    assert started == []


@pytest.mark.parametrize("cap", [5, 10, 2.5])
def test_the_limiter_keeps_every_second_to_the_cap_and_reaches_it(cap):
    """Four threads asking as fast as they can: no one-second span holds more requests
    than the cap allows, and the pace stays close to the cap."""
    limiter = RequestRateLimiter(cap)
    sent: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 2.6

    def ask() -> None:
        while time.monotonic() < stop:
            limiter.wait()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.sort()
    busiest = max(sum(1 for other in sent[index:] if other < moment + 1.0)
                  for index, moment in enumerate(sent))
    assert busiest <= math.ceil(cap), sent  # 2.5/s: three in some seconds, never four
    rate = (len(sent) - 1) / (sent[-1] - sent[0])
    assert rate >= 0.9 * cap, (rate, sent)


def test_a_pause_holds_every_request_of_the_account():
    limiter = RequestRateLimiter(1000)
    limiter.pause(0.3)
    began = time.monotonic()
    threads = [threading.Thread(target=limiter.wait) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - began >= 0.29


# -- End to end, at a vendor's latency ----------------------------------------------------------

#: (profile, cap, data set, settings): a short backfill of some tens of requests.
AT_THE_CAP = [
    pytest.param(ZOOM, 10, Sync(800, start="2024-07-01T00:00:00+00:00", end="2024-07-11T00:00:00+00:00"),
                 {"page_size": 20}, id="zoom"),
    pytest.param(SMARTFLO, 5, Sync(240, start="2024-07-01T00:00:00+00:00", end="2024-07-01T12:00:00+00:00"),
                 {"page_size": 10}, id="smartflo"),
]


def share_of_the_cap(profile: VendorProfile, sandbox, cap: float) -> tuple[float, dict[str, Any]]:
    """Requests / wall time / cap, the wall time from the sandbox's first request to its last."""
    stats = profile.stats(sandbox)
    return (stats["requests"] - 1) / stats["span_seconds"] / cap, stats


@pytest.mark.parametrize(("profile", "cap", "sync", "settings"), AT_THE_CAP)
def test_a_backfill_at_250_ms_latency_keeps_the_cap_busy_and_never_exceeds_it(
        sandbox, run_tap, profile, cap, sync, settings):
    options = profile.configure(sandbox, sync)
    sandbox.configure(profile.key, latency=0.25)
    config = profile.config(sandbox, options, settings={**settings, "max_requests_per_second": cap})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(profile.stream)
    assert len(records) == sync.count
    assert_unique_keys(records, profile.primary_key)
    share, stats = share_of_the_cap(profile, sandbox, cap)
    assert stats["requests"] >= 20
    assert share >= 0.85, stats
    assert stats["max_per_second"] <= cap, stats  # over any one-second span, logins included


@pytest.mark.parametrize(("profile", "cap", "sync", "settings"), AT_THE_CAP[:1])
def test_one_window_at_a_time_is_held_back_by_the_latency(sandbox, run_tap, profile, cap, sync, settings):
    """What the concurrency is for: the same backfill, one window at a time, stays far below."""
    options = profile.configure(sandbox, sync)
    sandbox.configure(profile.key, latency=0.25)
    config = profile.config(sandbox, options, settings={**settings, "max_requests_per_second": cap,
                                                        "max_parallel_windows": 1})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(profile.stream)) == sync.count
    share, stats = share_of_the_cap(profile, sandbox, cap)
    assert share < 0.6, stats


def window_of(profile: VendorProfile, record: dict[str, Any]) -> datetime:
    """The UTC day (every profile here reads whole-day or shorter windows in this test)."""
    return profile.moment(record).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("profile", [VOISO, SMARTFLO, ZOOM], ids=str)
def test_output_and_bookmarks_follow_window_order_with_windows_in_flight(sandbox, run_tap, profile):
    window = {"voiso": {"window_days": 1}, "smartflo": {"window_hours": 24}, "zoom": {}}[profile.key]
    sync = Sync(600, start="2024-07-01T00:00:00+00:00", end="2024-07-09T00:00:00+00:00")
    options = profile.configure(sandbox, sync)
    sandbox.configure(profile.key, latency=0.02)
    config = profile.config(sandbox, options, settings={**window, "max_parallel_windows": 4})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(profile.stream)
    assert len(records) == sync.count
    assert_unique_keys(records, profile.primary_key)  # an early record is emitted once only
    moments = sorted(profile.moment(record) for record in records)
    # The output cut at each STATE: the records written before it, and its bookmark.
    segments: list[tuple[list[dict[str, Any]], datetime | None]] = [([], None)]
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == profile.stream:
            segments[-1][0].append(message["record"])
        elif message["type"] == "STATE" and profile.stream in message["value"].get("bookmarks", {}):
            bookmark = datetime.fromisoformat(
                message["value"]["bookmarks"][profile.stream]["replication_key_value"])
            segments[-1] = (segments[-1][0], bookmark)
            segments.append(([], None))
    emitted: list[datetime] = []
    own_days: list[datetime] = []
    for written, bookmark in segments:
        emitted += [profile.moment(record) for record in written]
        if bookmark is None:  # after the last STATE
            own_days += [window_of(profile, record) for record in written]
            continue
        # Every record before the bookmark was written before the STATE claims it; records
        # of later windows may be written earlier ("early" records), unclaimed.
        before = [moment for moment in emitted if moment < bookmark]
        assert len(before) == sum(moment < bookmark for moment in moments), bookmark
        own_days += [window_of(profile, record) for record in written if profile.moment(record) < bookmark]
    # Each window's own records leave in window order (the early ones aside).
    assert own_days == sorted(own_days)


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("profile", [VOISO, SMARTFLO, ZOOM], ids=str)
def test_resume_after_sigkill_with_windows_in_flight_loses_nothing(sandbox, kill_and_resume, profile, seed):
    window = {"voiso": {"window_days": 1}, "smartflo": {"window_hours": 6}, "zoom": {}}[profile.key]
    sync = Sync(3_000, start="2024-07-01T00:00:00+00:00", end="2024-07-09T00:00:00+00:00")
    options = profile.configure(sandbox, sync)
    sandbox.configure(profile.key, latency=0.01)
    config = profile.config(sandbox, options, settings={**window, "max_parallel_windows": 4})

    _, resumed, _, seen = kill_and_resume(config, profile.stream, expected=sync.count, seed=seed)

    assert len(seen) == sync.count
    assert_unique_keys(resumed.records(profile.stream), profile.primary_key)


@pytest.mark.parametrize("profile", [VOISO, ZOOM], ids=str)
def test_connection_test_and_progress_lines_with_windows_in_flight(sandbox, run_tap, profile):
    options = profile.configure(sandbox, Sync(300, start="2024-07-01T00:00:00+00:00",
                                              end="2024-07-05T00:00:00+00:00"))
    config = profile.config(sandbox, options, settings={"max_parallel_windows": 4})

    checked = run_tap(config, options=("--test",))
    run = run_tap(config)

    assert checked.returncode == 0, checked.stderr
    assert run.returncode == 0, run.stderr
    assert len(run.records(profile.stream)) == 300
    assert profile.stream in run.stderr
