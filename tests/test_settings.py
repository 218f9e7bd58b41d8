"""Bad tap-level settings end with one clear message naming the setting, before any
request (each vendor's own settings: tests/test_contract.py and tests/vendors.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import yaml

from tap_callrecords.sandbox.client import vendor_config
from tests.conftest import ROOT

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
    import sys

    about = subprocess.run([sys.executable, "-m", "tap_callrecords", "--about", "--format=json"],
                           capture_output=True, text=True, check=True)
    settings = json.loads(about.stdout)["settings"]["properties"]
    assert settings["voiso"]["properties"]["api_key"]["secret"] is True
    assert settings["voiso"]["properties"]["per_page"]["default"] == 1000
    assert "start_date" in json.loads(about.stdout)["settings"]["required"]


# -- Keys the tap does not know ----------------------------------------------------------------


def warnings(run) -> list[str]:
    """The text of each WARNING line the run logged."""
    return [line.split(" | ")[-1] for line in run.stderr.splitlines() if "| WARNING " in line]


def test_a_misspelt_key_is_a_warning_naming_the_closest_known_key(sandbox, run_tap):
    sandbox.configure("voiso", count=50, **JULY)
    config = voiso(sandbox, start_dat="2024-06-01", lookback=60, window_days=7)
    config["voiso"]["windowdays"] = 3

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records("voiso_cdr")) == 50  # nothing else changed
    assert warnings(run) == [
        "start_dat is not a setting of this tap and is ignored; did you mean start_date?",
        "lookback is not a setting of this tap and is ignored; did you mean lookback_minutes?",
        "window_days is not a setting of this tap and is ignored; did you mean voiso.window_days?",
        "voiso.windowdays is not a Voiso setting and is ignored; did you mean window_days?",
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"genesys": {"api_key": "g-key"}},
         "genesys is not a vendor this tap reads; the vendors are voiso, smartflo, zoom, talkdesk."),
        ({"voisoo": {"api_key": "v-key"}},
         "voisoo is not a vendor this tap reads; did you mean voiso? The vendors are voiso, smartflo, "
         "zoom, talkdesk."),
        ({"talkdessk": "x"}, "talkdessk is not a vendor this tap reads; did you mean talkdesk?"),
        ({"stream_map": {"voiso_cdr": None}},
         "stream_map is not a setting of this tap; did you mean stream_maps? A settings object it "
         "does not know is refused, not ignored."),
    ],
)
def test_an_unknown_vendor_or_settings_object_is_an_error(sandbox, run_tap, changes, expected):
    run = run_tap(voiso(sandbox, **changes))

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert expected in run.stderr, run.stderr
    assert "No vendor is configured" not in run.stderr
    assert run.stdout == ""
    assert sandbox.stats()["voiso"]["requests"] == 0


def test_an_unknown_vendor_alone_is_named_rather_than_no_vendor(sandbox, run_tap):
    run = run_tap(voiso(sandbox, voiso=None, genesys={"api_key": "g-key"}))

    assert run.returncode != 0
    assert "genesys is not a vendor this tap reads; the vendors are voiso" in run.stderr
    assert "No vendor is configured" not in run.stderr


def test_the_sdk_s_settings_for_the_tap_s_capabilities_are_known(sandbox, run_tap, tmp_path):
    sandbox.configure("voiso", count=20, **JULY)
    config = voiso(sandbox, stream_maps={"voiso_cdr": {"uuid_again": "uuid"}}, stream_map_config={"x": 1},
                   flattening_enabled=True, flattening_max_depth=1, faker_config={"seed": 1},
                   log_level="INFO", metrics_log_level="WARNING",
                   batch_config={"encoding": {"format": "jsonl", "compression": "gzip"},
                                 "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"}})

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert warnings(run) == []


def test_a_meltano_config_raises_no_warning(sandbox, run_tap, tmp_path):
    """What Meltano writes as the tap's config (``meltano config print`` is the same
    dictionary ``meltano run`` writes to the tap's config file): only settings with a value,
    the SDK's own among them, nothing Meltano adds."""
    meltano = os.environ.get("MELTANO") or str(ROOT / ".venv-meltano" / "bin" / "meltano")
    if not shutil.which(meltano):
        pytest.fail("meltano not found: `make setup` installs it")
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    [extractor] = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-callrecords"]
    extractor.update(
        select=["voiso_cdr.*"], metadata={"voiso_cdr": {"replication-method": "INCREMENTAL"}},
        config={"start_date": JULY["start"], "flattening_enabled": True, "flattening_max_depth": 1,
                "stream_maps": {"voiso_cdr": {"uuid_again": "uuid"}}},
    )
    (tmp_path / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    sandbox.configure("voiso", count=20, **JULY)
    settings = voiso(sandbox)
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
           "TAP_CALLRECORDS_END_DATE": settings["end_date"]}
    env.update({f"TAP_CALLRECORDS_VOISO_{name}".upper(): str(value)
                for name, value in settings["voiso"].items()})
    printed = subprocess.run([meltano, "--environment=dev", "config", "--unsafe", "print", "tap-callrecords"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert printed.returncode == 0, printed.stderr
    config = json.loads(printed.stdout)
    assert config["voiso"]["api_url"] == settings["voiso"]["api_url"]

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records("voiso_cdr")) == 20
    assert warnings(run) == []


# -- Short secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["k", "Zq7", "Sm4rt#7"])
def test_a_short_secret_is_accepted_and_masked_as_a_value_only(sandbox, run_tap, secret):
    sandbox.configure("voiso", count=100, api_key=secret, **JULY)
    sandbox.faults("voiso", {"status": 500, "body": {"echo": f"key={secret} {secret}"}})
    config = voiso(sandbox, retry_initial_wait_seconds=0.01)
    config["voiso"]["api_key"] = secret

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records("voiso_cdr")) == 100
    [retry] = [line for line in warnings(run) if "HTTP 500" in line]
    assert '{"echo":"key=*** ***"}' in retry
    assert f" {secret} " not in run.stderr and f"={secret}" not in run.stderr
    assert [line for line in run.stderr.splitlines() if "***" in line] == [
        line for line in run.stderr.splitlines() if '"echo":"key=*** ***"' in line]  # nothing else masked
    assert "voiso_cdr: done: 100 records" in run.stderr


def test_a_seven_character_smartflo_password_logs_in(sandbox, run_tap):
    password = "Pa55w0r"
    sandbox.configure("smartflo", count=30, password=password, **JULY)
    config = vendor_config(sandbox.url, "smartflo", JULY)
    config["smartflo"]["password"] = password

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert len(run.records("smartflo_call_records")) == 30
    assert password not in run.stdout + run.stderr
