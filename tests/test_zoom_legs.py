"""``zoom_voice_call_legs``: one row per leg of a Zoom call, written from the same
``view_type=detail`` requests as ``zoom_voice_calls``, through the CLI and the sandbox."""

from __future__ import annotations

import pytest

from tests.assertions import assert_records_match_schema
from tests.conftest import catalog_path
from tests.vendors import ZOOM

CALLS, LEGS = "zoom_voice_calls", "zoom_voice_call_legs"
DAYS = ("2024-07-01T00:00:00+00:00", "2024-07-02T00:00:00+00:00", "2024-07-03T00:00:00+00:00",
        "2024-07-04T00:00:00+00:00")


def leg_keys(records) -> list[tuple[str, int]]:
    return [(leg["engagement_id"], leg["leg_number"]) for leg in records]


def test_legs_land_exactly_the_sandbox_legs_across_a_backfill_and_two_incremental_runs(
        sandbox, run_tap, tmp_path):
    options = ZOOM.configure(sandbox, count=240, start=DAYS[0], end=DAYS[3])
    config = ZOOM.config(sandbox, options)
    catalog = ("--catalog", str(catalog_path(run_tap, tmp_path, config, {CALLS, LEGS})))
    state, calls, legs = None, {}, set()
    for end in DAYS[1:]:
        run = run_tap({**config, "end_date": end}, state=state, options=catalog)
        assert run.returncode == 0, run.stderr
        assert_records_match_schema(run, LEGS)
        keys = leg_keys(run.records(LEGS))
        assert len(keys) == len(set(keys))
        calls.update({call["engagement_id"]: call for call in run.records(CALLS)})
        legs.update(leg_keys(run.records(LEGS)))
        state = run.final_state
        assert state["bookmarks"][LEGS]["replication_key_value"] == end.replace("+00:00", ".000000+00:00")

    assert len(calls) == 240
    # The sandbox makes one leg per direction in call_legs; the detail view lists them.
    expected = {(key, n) for key, call in calls.items() for n in range(1, len(call["call_legs"]) + 1)}
    assert legs == expected and len(expected) > len(calls)


def test_legs_cost_no_request_of_their_own(sandbox, run_tap, tmp_path):
    """The calls alone in the detail view, the calls with their legs, the legs alone: the
    same requests, each asking for the detail view."""
    requests = {}
    for selected in ({CALLS}, {CALLS, LEGS}, {LEGS}):
        options = ZOOM.configure(sandbox, count=300, start=DAYS[0], end=DAYS[2])
        settings = {"page_size": 50, **({"view_type": "detail"} if selected == {CALLS} else {})}
        config = ZOOM.config(sandbox, options, settings=settings)
        catalog = catalog_path(run_tap, tmp_path, config, selected)
        before = ZOOM.stats(sandbox)["vendor"]["data_requests"]

        run = run_tap(config, options=("--catalog", str(catalog)))

        assert run.returncode == 0, run.stderr
        stats = ZOOM.stats(sandbox)["vendor"]
        requests[frozenset(selected)] = stats["data_requests"] - before
        assert stats["last_filters"] == {"view_type": ["detail"]}
        assert set(run.final_state["bookmarks"]) == selected
        if LEGS in selected:
            keys = leg_keys(run.records(LEGS))
            assert len(keys) == len(set(keys)) > 300
    assert len(set(requests.values())) == 1 and min(requests.values()) >= 6, requests


@pytest.mark.parametrize("after_lines", [40, 700])
def test_a_sync_killed_at_any_line_resumes_without_losing_a_leg(sandbox, run_tap, run_tap_killed,
                                                                after_lines):
    """Killed while call_records (synced first) runs the read, or while the spooled legs
    are replayed: the resumed run writes every leg the killed one did not."""
    options = ZOOM.configure(sandbox, count=300, start=DAYS[0], end=DAYS[3])
    config = ZOOM.config(sandbox, options)

    killed = run_tap_killed(config, after_lines=after_lines)
    resumed = run_tap(config, state=killed.states[-1] if killed.states else None)

    assert killed.returncode != 0 and resumed.returncode == 0, resumed.stderr
    calls = {call["engagement_id"]: call for run in (killed, resumed) for call in run.records(CALLS)}
    assert len(calls) == 300
    expected = {(key, n) for key, call in calls.items() for n in range(1, len(call["call_legs"]) + 1)}
    assert set(leg_keys(killed.records(LEGS))) | set(leg_keys(resumed.records(LEGS))) == expected
