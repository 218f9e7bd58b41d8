"""``call_records``: one normalised row per call of every vendor, read in the same pass as
the vendor streams (never a second fetch), with a bookmark per vendor.

These tests run the tap as users do (a subprocess, a catalog to select streams) against
the sandbox, and count what the sandbox served. The normalised fields themselves are
checked against hand-checked expectations in tests/test_call_mappings.py.
"""

from __future__ import annotations

import random
import subprocess
from collections import Counter
from datetime import datetime, timedelta

import pytest

from tap_callrecords.sandbox.client import vendor_config
from tests.assertions import assert_one_clear_error, assert_records_match_schema
from tests.conftest import ROOT, TapRun, catalog_path, every_vendor_config, tap_command, write_json
from tests.test_call_mappings import (
    NEW_YORK,
    SMARTFLO_SEED,
    TALKDESK_SEED,
    VOISO_SEED,
    map_smartflo,
    map_talkdesk,
    map_voiso,
    map_zoom,
    zoom_seed_calls,
)

VENDOR_STREAMS = {
    "voiso": ("voiso_cdr", "uuid"),
    "smartflo": ("smartflo_call_records", "id"),
    "zoom": ("zoom_voice_calls", "engagement_id"),
    "talkdesk": ("talkdesk_calls", "interaction_id"),
}
COUNT = 2_000


def configure_all(sandbox, count: int = COUNT, vendors: tuple[str, ...] = tuple(VENDOR_STREAMS)) -> dict:
    return every_vendor_config(sandbox, count, vendors)


def fetched(sandbox) -> dict[str, Counter]:
    """What each vendor served: its paths, and for Talkdesk (whose job ids and polls
    differ from run to run) the jobs created, downloads and rows served."""
    stats = sandbox.stats()
    served = {vendor: Counter(stats[vendor]["paths"]) for vendor in ("voiso", "smartflo", "zoom")}
    talkdesk = stats["talkdesk"]["vendor"]
    served["talkdesk"] = Counter({name: talkdesk[name] for name in
                                  ("jobs_created", "downloads_completed", "rows_served")})
    return served


def rows_by_vendor(run: TapRun) -> dict[str, dict[str, dict]]:
    rows: dict[str, dict[str, dict]] = {vendor: {} for vendor in VENDOR_STREAMS}
    for row in run.records("call_records"):
        assert row["call_id"] not in rows[row["vendor"]], row["call_id"]
        rows[row["vendor"]][row["call_id"]] = row
    return rows


def partition_bookmarks(state: dict) -> dict[str, str]:
    """``call_records``' bookmark per vendor."""
    return {partition["context"]["vendor"]: partition.get("replication_key_value")
            for partition in state["bookmarks"].get("call_records", {}).get("partitions", [])}


def test_call_records_beside_the_vendor_streams_fetches_nothing_twice_and_changes_none_of_them(
    sandbox, run_tap, tmp_path
):
    config = configure_all(sandbox)
    vendors_only = run_tap(config, options=(
        "--catalog", str(catalog_path(run_tap, tmp_path, config, {s for s, _ in VENDOR_STREAMS.values()}))))
    alone = fetched(sandbox)
    sandbox.reset()
    config = configure_all(sandbox)
    # The vendor streams and call_records (zoom_voice_call_legs would ask Zoom for the detail view).
    streams = {s for s, _ in VENDOR_STREAMS.values()} | {"call_records"}
    both = run_tap(config, options=("--catalog", str(catalog_path(run_tap, tmp_path, config, streams))))

    assert vendors_only.returncode == 0 and both.returncode == 0, both.stderr
    assert fetched(sandbox) == alone  # the same requests: each vendor read once
    assert alone["talkdesk"]["rows_served"] == COUNT
    rows = rows_by_vendor(both)
    for vendor, (stream, key) in VENDOR_STREAMS.items():
        records = both.records(stream)
        assert records == vendors_only.records(stream)  # the vendor stream is as it was, record for record
        assert len(records) == COUNT
        # One row per call, whose raw is the vendor stream's record exactly.
        assert {str(record[key]): record for record in records} == {
            call_id: row["raw"] for call_id, row in rows[vendor].items()}
    assert_records_match_schema(both, "call_records")
    bookmarks = partition_bookmarks(both.final_state)
    assert set(bookmarks) == set(VENDOR_STREAMS)
    for vendor, (stream, _) in VENDOR_STREAMS.items():
        assert bookmarks[vendor] == both.bookmark(stream) == vendors_only.bookmark(stream)


def test_call_records_alone_reads_each_vendor_once_for_itself(sandbox, run_tap, tmp_path):
    config = configure_all(sandbox)
    vendor_streams = catalog_path(run_tap, tmp_path, config, {s for s, _ in VENDOR_STREAMS.values()})
    call_records = catalog_path(run_tap, tmp_path, config, {"call_records"})
    vendors_only = run_tap(config, options=("--catalog", str(vendor_streams)))
    alone = fetched(sandbox)
    sandbox.reset()
    config = configure_all(sandbox)

    run = run_tap(config, options=("--catalog", str(call_records)))

    assert vendors_only.returncode == 0 and run.returncode == 0, run.stderr
    assert fetched(sandbox) == alone  # what the vendor streams fetch, once
    assert {m["stream"] for m in run.messages if m["type"] in ("SCHEMA", "RECORD")} == {"call_records"}
    rows = rows_by_vendor(run)
    for vendor, (stream, key) in VENDOR_STREAMS.items():
        assert {str(record[key]): record for record in vendors_only.records(stream)} == {
            call_id: row["raw"] for call_id, row in rows[vendor].items()}
        assert len(rows[vendor]) == COUNT
    assert set(run.final_state["bookmarks"]) == {"call_records"}
    assert partition_bookmarks(run.final_state) == {
        vendor: vendors_only.bookmark(stream) for vendor, (stream, _) in VENDOR_STREAMS.items()}


def test_each_vendor_keeps_its_own_bookmark_so_a_failing_one_moves_no_other(sandbox, run_tap, tmp_path):
    config = configure_all(sandbox, count=1_000, vendors=("voiso", "zoom"))
    config["zoom"]["client_secret"] = "wrong-secret-for-this-test"
    catalog = catalog_path(run_tap, tmp_path, config, {"call_records"})
    lagging = "2024-07-20T00:00:00.000000+00:00"
    state = {"bookmarks": {"call_records": {"partitions": [
        {"context": {"vendor": "voiso"}, "replication_key": "started_at", "replication_key_value": lagging},
    ]}}}

    run = run_tap(config, state=state, options=("--catalog", str(catalog)))

    assert_one_clear_error(run, "Zoom")
    bookmarks = partition_bookmarks(run.final_state)
    assert bookmarks["voiso"] == "2024-07-31T00:00:00.000000+00:00"  # read from its own bookmark, to the end
    assert bookmarks.get("zoom") is None  # the failed vendor claims nothing
    voiso_rows = [row for row in run.records("call_records") if row["vendor"] == "voiso"]
    # From its bookmark less the lookback, by the Voiso stream's replication key (the end).
    assert voiso_rows and min(row["raw"]["timestamp"] for row in voiso_rows) >= "2024-07-19T15:00:00"
    assert not [row for row in run.records("call_records") if row["vendor"] == "zoom"]


@pytest.mark.parametrize("selection", ["with-vendor-streams", "alone"])
def test_a_sync_killed_at_any_line_resumes_without_losing_a_call(sandbox, run_tap, tmp_path, selection):
    config = configure_all(sandbox, count=3_000, vendors=("voiso", "zoom"))
    options: tuple[str, ...] = ()
    if selection == "alone":
        options = ("--catalog", str(catalog_path(run_tap, tmp_path, config, {"call_records"})))
    args = [*tap_command(), *options, "--config", str(write_json(tmp_path / "config.json", config))]
    for seed in range(3):
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   cwd=ROOT)
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if len(lines) >= random.Random(seed).randrange(10, 7_000):
                process.kill()
                break
        process.wait(timeout=30)
        killed = TapRun(process.returncode, "".join(line for line in lines if line.endswith("\n")), "")
        resumed = run_tap(config, state=killed.states[-1] if killed.states else None, options=options)

        assert resumed.returncode == 0, resumed.stderr
        seen = {(row["vendor"], row["call_id"])
                for run in (killed, resumed) for row in run.records("call_records")}
        assert Counter(vendor for vendor, _ in seen) == {"voiso": 3_000, "zoom": 3_000}


@pytest.mark.parametrize("value", ["yesterday", "2999-01-01T00:00:00+00:00"])
def test_a_bad_call_records_bookmark_is_one_clear_line_before_any_request(sandbox, run_tap, value):
    config = configure_all(sandbox, count=100, vendors=("voiso",))
    state = {"bookmarks": {"call_records": {"partitions": [
        {"context": {"vendor": "voiso"}, "replication_key": "started_at", "replication_key_value": value},
    ]}}}

    run = run_tap(config, state=state)

    assert_one_clear_error(run, "the state's bookmark for call_records", "bookmarks.call_records")
    assert sandbox.stats()["voiso"]["requests"] == 0


# -- The seed samples, served by the sandbox --------------------------------------------------

def seed_range(rows: list[dict]) -> dict[str, str]:
    """Whole UTC days around the rows' times, for the sandbox data set and the sync."""
    moments = [datetime.fromisoformat(row[name]) for row in rows for name in ("started_at", "ended_at")
               if row[name]]
    start = min(moments).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    end = max(moments).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    return {"start": start.isoformat(), "end": end.isoformat()}


def talkdesk_served(seed: dict) -> dict:
    """The seed's local New York times as instants, which the sandbox renders back in the
    job's timezone (America/New_York), exactly as the seed's report has them."""
    return {name: (datetime.fromisoformat(value).replace(tzinfo=NEW_YORK).isoformat()
                   if name in ("start_time", "end_time", "csat_survey_time") and value else value)
            for name, value in seed.items()}


SEEDS = {  # vendor: (records served, each one's call_records row by the pure mapping, settings)
    "voiso": (VOISO_SEED, [map_voiso(raw) for raw in VOISO_SEED], {}),
    "smartflo": ([SMARTFLO_SEED], [map_smartflo(SMARTFLO_SEED)], {}),
    "zoom": (zoom_seed_calls(), [map_zoom(raw) for raw in zoom_seed_calls()], {}),
    "talkdesk": ([talkdesk_served(TALKDESK_SEED["legacy"])], [map_talkdesk(TALKDESK_SEED["legacy"])],
                 {"timezone": "America/New_York"}),
}


@pytest.mark.parametrize("vendor", list(SEEDS))
def test_the_seed_samples_served_by_the_sandbox_land_as_their_hand_checked_rows(sandbox, run_tap, vendor):
    served, expected, settings = SEEDS[vendor]
    window = seed_range(expected)
    sandbox.configure(vendor, count=0, **window)
    sandbox.add_records(vendor, *served)
    config = vendor_config(sandbox.url, vendor, window)
    config[vendor].update(settings)

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    stream, key = VENDOR_STREAMS[vendor]
    records = {str(record[key]): record for record in run.records(stream)}
    rows = rows_by_vendor(run)[vendor]
    # tests/test_call_mappings.py holds each of these rows field by field, worked by hand.
    assert rows == {row["call_id"]: {**row, "raw": records[row["call_id"]]} for row in expected}
    assert_records_match_schema(run, "call_records")
    if vendor == "talkdesk":  # seed 000: 16:42:24 in New York, a 6 s talk after a 5 s wait
        [row] = rows.values()
        assert (row["started_at"], row["talk_seconds"], row["wait_seconds"]) == (
            "2022-06-30T20:42:24.000000+00:00", 6.0, 5.0)
    if vendor == "smartflo":  # seed 003: 11:52:14 in India
        [row] = rows.values()
        assert (row["customer_number"], row["started_at"]) == (
            "+919650134255", "2024-05-09T06:22:14.000000+00:00")


def test_stream_maps_apply_to_call_records_and_leave_the_vendor_stream_alone(sandbox, run_tap):
    config = configure_all(sandbox, count=300, vendors=("voiso",))
    plain = run_tap(config)
    mapped = run_tap({**config, "stream_maps": {"call_records": {
        "raw": "__NULL__", "call_id": "vendor + '/' + call_id"}}})

    assert plain.returncode == mapped.returncode == 0, mapped.stderr
    assert mapped.records("voiso_cdr") == plain.records("voiso_cdr")
    rows, unmapped = mapped.records("call_records"), plain.records("call_records")
    assert len(rows) == 300 and not any("raw" in row for row in rows)
    assert [row["call_id"] for row in rows] == ["voiso/" + row["call_id"] for row in unmapped]
    assert [row["started_at"] for row in rows] == [row["started_at"] for row in unmapped]
