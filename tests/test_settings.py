"""Bad tap-level settings end with one clear message naming the setting, before any
request (each vendor's own settings: tests/test_contract.py and tests/vendors.py)."""

from __future__ import annotations

import pytest

from tap_callrecords.sandbox.client import vendor_config

JULY = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-08T00:00:00+00:00"}


def voiso(sandbox, **changes):
    """A Voiso config with top-level ``changes`` (``None`` removes a setting)."""
    config = vendor_config(sandbox.url, "voiso", JULY)
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"start_date": None}, "start_date is missing"),
        ({"start_date": "yesterday"}, "start_date is 'yesterday', which is not an ISO 8601 date"),
        ({"end_date": "2024-13-45"}, "end_date is '2024-13-45', which is not an ISO 8601 date"),
        ({"end_date": "2024-06-01"}, "end_date (2024-06-01) is not after start_date"),
        ({"lookback_minutes": -5}, "lookback_minutes is -5; it must be a whole number of at least 0"),
        ({"voiso": None}, "No vendor is configured: add at least one settings object of voiso"),
    ],
)
def test_bad_settings_fail_clearly_before_any_request(sandbox, run_tap, changes, expected):
    run = run_tap(voiso(sandbox, **changes))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert expected in run.stderr, run.stderr
    assert run.stdout == ""
    assert sandbox.stats()["voiso"]["requests"] == 0


def test_start_date_without_offset_is_utc_and_offsets_are_honoured(sandbox, run_tap):
    sandbox.configure("voiso", count=0, **JULY)
    sandbox.add_records("voiso", *[
        {"uuid": f"c{i}", "timestamp": ts, "type": "inbound", "duration": "00:00:01"}
        for i, ts in enumerate(["2024-07-02T05:29:59.000+00:00", "2024-07-02T05:30:00.000+00:00"])
    ])
    ist = run_tap(voiso(sandbox, start_date="2024-07-02T11:00:00+05:30", end_date="2024-07-03"))
    naive = run_tap(voiso(sandbox, start_date="2024-07-02T05:30:00", end_date="2024-07-03"))

    assert [r["uuid"] for r in ist.records("voiso_cdr")] == ["c1"]
    assert [r["uuid"] for r in naive.records("voiso_cdr")] == ["c1"]


def test_about_lists_settings_and_marks_secrets():
    import json
    import subprocess
    import sys

    about = subprocess.run([sys.executable, "-m", "tap_callrecords", "--about", "--format=json"],
                           capture_output=True, text=True, check=True)
    settings = json.loads(about.stdout)["settings"]["properties"]
    assert settings["voiso"]["properties"]["api_key"]["secret"] is True
    assert settings["voiso"]["properties"]["per_page"]["default"] == 1000
    assert "start_date" in json.loads(about.stdout)["settings"]["required"]
