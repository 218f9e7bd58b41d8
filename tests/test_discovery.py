"""Discovery always works and lists every stream of every vendor, configured or not; a
sync then syncs the configured vendors only, whatever the catalog names."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from tap_callrecords.about import streams
from tap_callrecords.tap import TapCallRecords
from tests.conftest import ROOT, every_vendor_config, tap_command, write_json

EVERY_STREAM = sorted(info.stream for info in streams())


def discover(*options: str) -> dict:
    result = subprocess.run([*tap_command(), *options, "--discover"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "error" not in result.stderr.lower(), result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("config", [
    None,
    {},
    {"start_date": "2024-07-01"},
    {"start_date": "2024-07-01", "voiso": {}},
    {"start_date": "2024-07-01", "voiso": {"api_key": "a-voiso-key", "per_page": 0}},
], ids=["no-config", "empty", "no-vendor", "vendor-without-its-key", "invalid-vendor-setting"])
def test_discovery_lists_every_stream_of_every_vendor_whatever_is_configured(tmp_path, config):
    options = () if config is None else ("--config", str(write_json(tmp_path / "config.json", config)))

    catalog = discover(*options)

    assert sorted(entry["tap_stream_id"] for entry in catalog["streams"]) == EVERY_STREAM
    for entry in catalog["streams"]:
        assert entry["schema"]["properties"] and entry["key_properties"] and entry["replication_key"]


def test_a_listed_stream_is_the_catalog_entry_of_the_stream_a_sync_builds(sandbox):
    config = every_vendor_config(sandbox, 10)
    built = TapCallRecords(config=config).catalog_dict["streams"]
    # A Voiso settings object builds one API version's stream; discovery lists both.
    v4 = {**config, "voiso": {**config["voiso"], "api_version": "v4"}}
    built += [entry for entry in TapCallRecords(config=v4).catalog_dict["streams"]
              if entry["tap_stream_id"] == "voiso_cdrs_v4"]

    listed = discover()

    by_id = {entry["tap_stream_id"]: entry for entry in json.loads(json.dumps(built))}
    assert sorted(entry["tap_stream_id"] for entry in listed["streams"]) == sorted(by_id)
    assert listed["streams"] == [by_id[entry["tap_stream_id"]] for entry in listed["streams"]]


def test_a_sync_reads_the_configured_vendors_only_whatever_the_catalog_names(sandbox, run_tap, tmp_path):
    catalog = write_json(tmp_path / "catalog.json", discover())  # every stream selected, as Meltano's *.*
    config = every_vendor_config(sandbox, 300, vendors=("voiso",))

    run = run_tap(config, options=("--catalog", str(catalog)))

    assert run.returncode == 0, run.stderr
    assert Counter(message.get("stream") for message in run.messages if message["type"] == "RECORD") == {
        "voiso_cdr": 300, "call_records": 300}
    assert {row["vendor"] for row in run.records("call_records")} == {"voiso"}
    assert set(run.final_state["bookmarks"]) == {"voiso_cdr", "call_records"}
    assert run.error_lines == [] and "WARNING" not in run.stderr
    assert not any(vendor in run.stderr for vendor in ("smartflo", "zoom", "talkdesk")), run.stderr
