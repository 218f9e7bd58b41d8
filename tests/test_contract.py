"""The contract every vendor stream keeps, written once and run against each vendor's
profile (tests/vendors.py), end to end through the tap's CLI against the sandbox.

Exact counts and unique keys across a multi-window sync, records valid against their
schema with UTC date-times, window edges, incremental runs with a lookback, bookmarks
that never move backwards, resume after SIGKILL, transient faults, Retry-After,
persistent faults, secrets, rejected credentials, timeouts and bad settings. Faults are
aimed at each of a vendor's fault targets in turn (every endpoint a report-job vendor's
calls pass through), and a vendor that keeps report jobs must hold no job of the tap's
still running and no file of its not deleted after any run.
What only one vendor does is tested in that vendor's module (tests/test_<vendor>.py).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.assertions import (
    assert_nothing_leaked,
    assert_one_clear_error,
    assert_records_match_schema,
    assert_unique_keys,
)
from tests.conftest import DEBUG, TapRun
from tests.vendors import (
    FAST_RETRIES,
    PROFILES,
    UTC,
    FaultTarget,
    Sync,
    VendorProfile,
    every_reading_of,
    utc_text,
)

#: Every vendor's default lookback, which a resumed run re-reads.
DEFAULT_LOOKBACK = timedelta(minutes=540)

every_vendor = pytest.mark.parametrize("profile", PROFILES, ids=str)
every_reading = pytest.mark.parametrize(
    ("profile", "reading"),
    [pytest.param(profile, options, id=f"{profile}-{name}")
     for profile in PROFILES for name, options in every_reading_of(profile).items()],
)
#: The readings a sync bounded by ``end_date`` keeps every call under (see BOUNDED_SYNC_GAPS).
every_bounded_reading = pytest.mark.parametrize(
    ("profile", "reading"),
    [pytest.param(profile, options, id=f"{profile}-{name}")
     for profile in PROFILES for name, options in every_reading_of(profile, bounded=True).items()],
)
every_credential = pytest.mark.parametrize(
    ("profile", "credentials"),
    [pytest.param(profile, credentials, id=f"{profile}-{credentials.name}")
     for profile in PROFILES for credentials in profile.credentials],
)


def target_id(profile: VendorProfile, target: FaultTarget, *more: str) -> str:
    """``voiso``, or ``talkdesk-polls`` where a vendor has several fault targets."""
    named = [target.name] if len(profile.fault_targets) > 1 else []
    return "-".join([str(profile), *more, *named])


every_fault_target = pytest.mark.parametrize(
    ("profile", "target"),
    [pytest.param(profile, target, id=target_id(profile, target))
     for profile in PROFILES for target in profile.fault_targets],
)
#: The ways to authenticate that the tap trades for access tokens (each with its token
#: reply's lifetime given as a number, as null and left out).
every_token_credential = pytest.mark.parametrize(
    ("profile", "credentials", "lifetime_form"),
    [pytest.param(profile, credentials, form, id=f"{profile}-{credentials.name}-{form}")
     for profile in PROFILES for credentials in profile.credentials if credentials.token_renewals
     for form in ("null", "missing")],
)
every_credential_and_fault_target = pytest.mark.parametrize(
    ("profile", "credentials", "target"),
    [pytest.param(profile, credentials, target, id=target_id(profile, target, credentials.name))
     for profile in PROFILES for credentials in profile.credentials for target in profile.fault_targets],
)


def bookmark_at(profile: VendorProfile, moment: datetime) -> dict[str, Any]:
    return {"replication_key": profile.replication_key, "replication_key_value": utc_text(moment)}


def assert_nothing_left_behind(sandbox, profile: VendorProfile, jobs: slice = slice(None)) -> None:
    """No report job of the tap's (among ``jobs``) still running at the vendor, and no file
    of its not deleted (nothing to check for a vendor without report jobs)."""
    left = profile.left_behind(sandbox, jobs)
    assert left == {}, f"left at {profile}: {left}; job statuses, oldest first: {profile.jobs(sandbox)}"


# -- Full sync and windows ------------------------------------------------------------------------


@every_bounded_reading
def test_full_sync_emits_every_record_once_typed_in_utc_inside_the_range(sandbox, run_tap, profile, reading):
    sync = profile.full_sync
    options = profile.configure(sandbox, sync, **reading)

    run = run_tap(profile.config(sandbox, options, settings=sync.settings))

    assert run.returncode == 0, run.stderr
    records = run.records(profile.stream)
    assert len(records) == sync.count
    assert_unique_keys(records, profile.primary_key)
    assert_records_match_schema(run, profile.stream)  # all records; every date-time in UTC
    low, high = datetime.fromisoformat(options["start"]), datetime.fromisoformat(options["end"])
    for record in records:
        assert low <= profile.moment(record) < high, record[profile.replication_key]
    assert run.final_state["bookmarks"][profile.stream] == bookmark_at(profile, high)
    assert_nothing_left_behind(sandbox, profile)


def first_local_midnight_after(moment: datetime, zone: Any) -> datetime:
    local = moment.astimezone(zone)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(UTC)


@every_reading
def test_window_edges_keep_each_record_exactly_once(sandbox, run_tap, profile, reading):
    """Records on either side of the range's ends, of window boundaries and of the local
    midnight after each, each written in UTC and in the vendor's local time."""
    edges, step = profile.edges, profile.resolution
    start, end = datetime.fromisoformat(edges.start), datetime.fromisoformat(edges.end)
    instants = {"before-range": start - step, "range-start": start,
                "range-last": end - step, "range-end": end}
    for boundary in map(datetime.fromisoformat, edges.boundaries):
        midnight = first_local_midnight_after(boundary, profile.local_tz)
        assert start < boundary < midnight < end - step
        at = boundary.strftime("%m%dT%H%M")
        instants.update({
            f"before-{at}": boundary - step, f"on-{at}": boundary, f"after-{at}": boundary + step,
            f"before-local-midnight-after-{at}": midnight - step, f"local-midnight-after-{at}": midnight,
        })
    expected: dict[str, datetime] = {}
    records = []
    for name, instant in instants.items():
        for written, zone in (("utc", UTC), ("local", profile.local_tz)):
            records.append(profile.record_at(f"{name}-{written}", instant.astimezone(zone)))
            if name not in ("before-range", "range-end"):
                expected[f"{name}-{written}"] = instant
    profile.configure(sandbox, count=0, **reading)
    sandbox.add_records(profile.key, *records)

    run = run_tap(profile.config(sandbox, {"start": edges.start, "end": edges.end}, settings=edges.settings))

    assert run.returncode == 0, run.stderr
    emitted = run.records(profile.stream)
    assert sorted(r[profile.primary_key] for r in emitted) == sorted(expected)
    for record in emitted:
        assert record[profile.replication_key] == utc_text(expected[record[profile.primary_key]]), record
    assert_nothing_left_behind(sandbox, profile)


# -- Incremental runs and state ---------------------------------------------------------------------


@every_vendor
def test_incremental_run_rereads_only_the_lookback_and_picks_up_a_late_record(sandbox, run_tap, profile):
    now = datetime.now(UTC).replace(microsecond=0)
    sync, latency = profile.incremental, profile.data_latency
    options = profile.configure(sandbox, count=sync.count,
                                start=(now - timedelta(days=profile.incremental_days)).isoformat(),
                                end=(now - latency - timedelta(minutes=5)).isoformat())
    config = profile.config(sandbox, options, settings=sync.settings, lookback_minutes=60)
    del config["end_date"]

    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    bookmark = datetime.fromisoformat(first.bookmark(profile.stream))
    # A run without end_date ends the vendor's data latency before now.
    assert now - latency - timedelta(minutes=1) <= bookmark <= now - latency + timedelta(minutes=1)
    assert len(first.records(profile.stream)) == sync.count
    assert_unique_keys(first.records(profile.stream), profile.primary_key)

    late = (bookmark - timedelta(minutes=30)).astimezone(profile.local_tz)
    sandbox.add_records(profile.key, profile.record_at("late-call", late))
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    records = second.records(profile.stream)
    floor = bookmark - timedelta(minutes=60)
    assert all(profile.moment(r) >= floor for r in records)
    assert "late-call" in {r[profile.primary_key] for r in records}
    expected_reread = [r for r in first.records(profile.stream) if profile.moment(r) >= floor]
    assert len(records) == len(expected_reread) + 1
    assert_unique_keys(records, profile.primary_key)
    assert datetime.fromisoformat(second.bookmark(profile.stream)) >= bookmark
    assert_nothing_left_behind(sandbox, profile)


@every_vendor
def test_bookmark_never_moves_backwards(sandbox, run_tap, profile):
    options = profile.configure(sandbox, count=100)
    start, end = (datetime.fromisoformat(options[name]) for name in ("start", "end"))
    state = {"bookmarks": {profile.stream: bookmark_at(profile, end)}}
    config = profile.config(sandbox, options, end_date=(start + (end - start) / 2).isoformat())

    run = run_tap(config, state=state)

    assert run.returncode == 0, run.stderr
    assert run.records(profile.stream) == []
    assert run.bookmark(profile.stream) == utc_text(end)
    assert_nothing_left_behind(sandbox, profile)


@pytest.mark.parametrize("seed", [1, 2, 3])
@every_vendor
def test_resume_after_sigkill_loses_nothing(sandbox, kill_and_resume, profile, seed):
    sync = profile.resume
    config = profile.sync_config(sandbox, sync)
    killed_jobs: list[str] = []

    def after_kill(_: TapRun) -> None:
        # Let the killed run's last requests land and its jobs run their course.
        time.sleep(profile.job_settle_seconds)
        killed_jobs[:] = profile.jobs(sandbox)

    _, resumed, state, seen = kill_and_resume(config, profile.stream, expected=sync.count, seed=seed,
                                              after_kill=after_kill)

    assert len(seen) == sync.count
    # The resumed run starts at the bookmark less the lookback.
    if state and profile.stream in state["bookmarks"]:
        floor = datetime.fromisoformat(state["bookmarks"][profile.stream]["replication_key_value"])
        assert all(profile.moment(r) >= floor - DEFAULT_LOOKBACK for r in resumed.records(profile.stream))
    # The resumed run cleans up after itself. A SIGKILLed run cannot cancel its jobs or
    # delete their files: its files are left at the vendor to expire there, but none of
    # its jobs still runs once their time has passed (nothing holds the job quota).
    killed = slice(len(killed_jobs))
    assert_nothing_left_behind(sandbox, profile, slice(len(killed_jobs), None))
    assert "running" not in profile.left_behind(sandbox, killed), profile.jobs(sandbox)


# -- Faults ---------------------------------------------------------------------------------------------


@every_fault_target
def test_survives_rate_limits_server_errors_drops_and_malformed_bodies(sandbox, run_tap, profile, target):
    sync = profile.faults
    config = profile.sync_config(sandbox, sync, **FAST_RETRIES)
    busy = dict(profile.busy_body)
    profile.inject(  # spread over the run with ``after`` (requests let through first)
        sandbox, target,
        {"status": 429, "retry_after": "1", "body": busy},
        {"status": 503, "repeat": 3, "after": 3},
        {"drop": True, "after": 8},
        {"status": 429, "retry_after_http_date_in": 1, "body": busy, "after": 10},
        {"malformed": True, "after": 12},
        {"status": 429, "body": busy, "after": 14},
        {"status": 500, "after": 16, "body": profile.error_body(500, "Internal error")},
        {"status": 429, "retry_after_iso_in": 1, "body": busy, "after": 18},
    )

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records(profile.stream)
    assert len(records) == sync.count
    assert_unique_keys(records, profile.primary_key)
    statuses = profile.stats(sandbox)["statuses"]
    assert (statuses["429"], statuses["503"], statuses["500"], statuses["0"]) == (4, 3, 1, 1)
    assert f"retrying {target.label} in 1." in run.stderr  # Retry-After: 1 honoured
    assert_nothing_left_behind(sandbox, profile)


@every_fault_target
def test_retry_after_is_honoured(sandbox, run_tap, profile, target):
    config = profile.sync_config(sandbox, Sync(10), retry_initial_wait_seconds=0.01)
    profile.inject(sandbox, target, {"status": 429, "retry_after": "2", "body": dict(profile.busy_body)})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(profile.stream)) == 10
    assert f"retrying {target.label} in 2." in run.stderr
    assert_nothing_left_behind(sandbox, profile)


@every_fault_target
def test_persistent_fault_ends_with_one_clear_error_and_honest_state(sandbox, run_tap, profile, target):
    first_window = profile.first_window
    config = profile.sync_config(sandbox, first_window.sync, retry_initial_wait_seconds=0.01, max_retries=3)
    # The first window succeeds; every request to the target after it fails.
    profile.inject(sandbox, target, {"status": 503, "repeat": 1000, "after": first_window.requests})

    run = run_tap(config)

    assert_one_clear_error(run, f"giving up on {target.label} after 3 attempts", "HTTP 503")
    records = run.records(profile.stream)
    assert_unique_keys(records, profile.primary_key)
    # The first window whole; records of later windows a reply held may be emitted early
    # (the reader hands them out once), but no bookmark claims them.
    window_end = datetime.fromisoformat(first_window.end)
    assert len([r for r in records if profile.moment(r) < window_end]) == first_window.records
    assert run.bookmark(profile.stream) == first_window.end
    assert_nothing_left_behind(sandbox, profile)  # the error path cleans up too


@every_fault_target
def test_survives_a_request_that_times_out(sandbox, run_tap, profile, target):
    sync = profile.timeout
    config = profile.sync_config(sandbox, sync, request_timeout_seconds=0.5, **FAST_RETRIES)
    profile.inject(sandbox, target, {"delay": 3, "after": 1})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records(profile.stream)) == sync.count
    assert f"the request timed out; retrying {target.label}" in run.stderr
    assert_nothing_left_behind(sandbox, profile)


# -- Credentials and secrets ----------------------------------------------------------------------------


@every_token_credential
def test_a_token_reply_without_a_lifetime_is_used_and_renewed_on_401(sandbox, run_tap, profile, credentials,
                                                                      lifetime_form):
    sync = profile.secrets
    options = profile.configure(sandbox, sync, expires_in_reply=lifetime_form, **profile.token_churn)
    settings = {**sync.settings, **credentials.settings}
    config = profile.config(sandbox, options, settings=settings, **FAST_RETRIES)

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len({record[profile.primary_key] for record in run.records(profile.stream)}) == sync.count
    stats = profile.stats(sandbox)
    assert credentials.token_renewals(stats) >= 1 and stats["statuses"]["401"] >= 1
    assert_nothing_left_behind(sandbox, profile)


@every_credential_and_fault_target
def test_secrets_never_printed_even_at_debug_and_on_errors(sandbox, run_tap, profile, credentials, target):
    secret = f"SECRET-{profile}-{credentials.name}-1234abcd"
    wrong = f"SECRET-wrong-{profile}-{credentials.name}-5678efgh"
    sync = profile.secrets
    options = profile.configure(sandbox, sync, **{credentials.sandbox_option: secret}, **profile.token_churn)
    settings = {**sync.settings, **credentials.settings, credentials.secret: secret}
    config = profile.config(sandbox, options, settings=settings, **FAST_RETRIES)
    echo = profile.error_body(500, f"echo {credentials.secret}={secret} {secret}")
    profile.inject(sandbox, target, {"drop": True}, {"status": 500, "after": 1, "body": echo},
                   {"malformed": True, "after": 2}, {"status": 429, "after": 3})

    runs = [run_tap(config, env=DEBUG)]

    assert runs[0].returncode == 0, runs[0].stderr
    assert len(runs[0].records(profile.stream)) == sync.count
    assert "DEBUG" in runs[0].stderr  # the debug level was really on
    stats = profile.stats(sandbox)
    assert (stats["statuses"]["0"], stats["statuses"]["500"], stats["statuses"]["429"]) == (1, 1, 1)
    if credentials.token_renewals:  # tokens were issued, and renewed mid-run
        assert credentials.token_renewals(stats) >= 1 and stats["statuses"]["401"] >= 1

    assert_nothing_left_behind(sandbox, profile)

    profile.inject(sandbox, target, {"status": 500, "repeat": 100})
    runs.append(run_tap({**config, "max_retries": 2}, env=DEBUG))
    assert_one_clear_error(runs[-1], "HTTP 500")
    assert_nothing_left_behind(sandbox, profile)

    sandbox.reset()
    profile.configure(sandbox, **options)
    key = profile.settings_key
    wrong_config = {**config, key: {**config[key], credentials.secret: wrong}}
    runs.append(run_tap(wrong_config, env=DEBUG))
    assert_one_clear_error(runs[-1], exactly=credentials.rejected)

    assert_nothing_leaked(runs, [secret, wrong, "SECRET"], profile.issued_token)


@every_credential
def test_rejected_credentials_are_one_clear_error(sandbox, run_tap, profile, credentials):
    options = profile.configure(sandbox, count=10)
    wrong = f"not-the-{credentials.secret}-5e1f"
    config = profile.config(sandbox, options, settings={**credentials.settings, credentials.secret: wrong})

    run = run_tap(config)  # at the default log level (the secrets test runs one at DEBUG)

    assert_one_clear_error(run, exactly=credentials.rejected)
    assert run.records(profile.stream) == []
    assert wrong not in run.stdout + run.stderr
    # A refusal is not retried; Smartflo's is tried once in the other Authorization form.
    both_forms = (profile.key, credentials.secret) == ("smartflo", "api_token")
    assert profile.stats(sandbox)["statuses"]["401"] == (2 if both_forms else 1)
    assert_nothing_left_behind(sandbox, profile)


# -- Settings ----------------------------------------------------------------------------------------------


def changes_id(changes: dict[str, Any]) -> str:
    return "+".join(name if isinstance(value, list) else f"{name}={value}" for name, value in changes.items())


@pytest.mark.parametrize(
    ("profile", "changes", "messages"),
    [pytest.param(profile, changes, messages, id=f"{profile}-{changes_id(changes)}")
     for profile in PROFILES for changes, messages in profile.bad_settings],
)
def test_bad_settings_fail_clearly_before_any_request(sandbox, run_tap, profile, changes, messages):
    start, end = profile.data_range
    run = run_tap(profile.config(sandbox, {"start": start, "end": end}, settings=changes))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    for message in messages:
        assert message in run.stderr, (message, run.stderr)
    assert run.stdout == ""
    assert profile.stats(sandbox)["requests"] == 0


@pytest.mark.parametrize(
    ("profile", "target"),
    [pytest.param(profile, target, id=target_id(profile, target))
     for profile in PROFILES if profile.key != "talkdesk" for target in profile.fault_targets],
)
def test_a_reply_nested_past_the_parsers_depth_is_one_clear_line(sandbox, run_tap, profile, target):
    first_window = profile.first_window
    config = profile.sync_config(sandbox, first_window.sync, retry_initial_wait_seconds=0.01, max_retries=3)
    profile.inject(sandbox, target, {"nest": 100_000, "after": first_window.requests})

    run = run_tap(config)

    assert_one_clear_error(run, "nests deeper than the JSON parser allows")
    assert run.bookmark(profile.stream) == first_window.end
