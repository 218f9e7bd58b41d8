"""No call lost to the range filter or to completion delay (#16), as a scheduler runs the tap.

No vendor documents whether its range filter selects calls by their start or their end,
and a vendor may list a call only once it has ended. Against every reading of every
vendor's sandbox (its defaults, and every reading switched at once), the tap runs every
15 minutes for a simulated day at its default settings, each run from the state the
last one ended with, over calls of up to eight hours: every call lands once per primary
key (re-reads of the lookback repeat keys the primary key dedupes).

The sandbox and the tap run in this process on one simulated clock (tests/scheduler.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tap_callrecords.core.convert import UTC, to_utc_iso
from tap_callrecords.core.jobs import JobFetcher
from tap_callrecords.sandbox.client import settings_key
from tap_callrecords.sandbox.vendors import SANDBOX_APIS
from tap_callrecords.tap import TapCallRecords
from tests.scheduler import InProcessSandbox, Schedule, quiet_tap_logs
from tests.vendors import PROFILES

DAY = datetime(2024, 7, 1, tzinfo=UTC)
#: Calls start over the first 15 hours, last up to eight: all have ended before the day does.
CALLS, CALLS_SPAN, LONGEST = 40, timedelta(hours=15), timedelta(hours=8)


def every_reading_switched() -> Iterator[object]:
    """Each vendor at its default readings, then with every reading it declares switched
    to its other value at once (each failure mode present in the same day: a day of runs
    per vendor and reading would make the suite minutes longer)."""
    for profile in PROFILES:
        api = SANDBOX_APIS[profile.key]
        yield pytest.param(profile, {}, id=f"{profile}-defaults")
        switched = {name: values[1] for name, values in api.readings.items() if len(values) > 1}
        name = "-".join(f"{reading}_{value}" for reading, value in switched.items())
        yield pytest.param(profile, switched, id=f"{profile}-{name}")


@pytest.fixture(scope="module")
def in_process_sandbox() -> Iterator[InProcessSandbox]:
    quiet_tap_logs()
    with InProcessSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def fast_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Report jobs polled at once: the sandbox's finish in milliseconds."""
    monkeypatch.setattr(JobFetcher, "first_poll_seconds", 0.002)


@pytest.mark.parametrize(("profile", "reading"), list(every_reading_switched()))
def test_runs_every_15_minutes_for_a_day_land_every_call_once_per_key(in_process_sandbox, fast_jobs,
                                                                      profile, reading):
    sandbox, vendor = in_process_sandbox, profile.key
    api = SANDBOX_APIS[vendor]
    sandbox.sandbox.reset()
    sandbox.configure(vendor, **profile.sandbox_options, count=CALLS, start=DAY.isoformat(),
                      end=(DAY + CALLS_SPAN).isoformat(), max_call_minutes=LONGEST // timedelta(minutes=1),
                      **reading)
    settings = {**api.tap_settings(sandbox.url), **profile.fast_settings}
    key = settings_key(vendor)
    if "max_requests_per_second" in TapCallRecords.config_jsonschema["properties"][key]["properties"]:
        settings["max_requests_per_second"] = 1000  # the sandbox has no limit; the clock is simulated
    config = {"start_date": (DAY - timedelta(days=1)).isoformat(), key: settings}
    schedule = Schedule(first=DAY + timedelta(minutes=15), last=DAY + timedelta(days=1))

    state = schedule.run(sandbox, vendor, config)

    records = schedule.records(profile.stream)
    keys = {record[profile.primary_key] for record in records}
    assert len(keys) == CALLS, f"{CALLS - len(keys)} of {CALLS} calls never emitted"
    rows = schedule.records("call_records")
    assert len({(row["vendor"], row["call_id"]) for row in rows}) == CALLS
    assert len(rows) == len(records)
    # The bookmark claims exactly the day less the vendor's data latency.
    bookmark = state["bookmarks"][profile.stream]["replication_key_value"]
    assert bookmark == to_utc_iso(DAY + timedelta(days=1) - profile.data_latency)
