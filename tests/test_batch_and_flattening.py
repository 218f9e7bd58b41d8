"""What the tap advertises beyond plain RECORD messages, as a target sees it: BATCH
messages (``batch_config``) and flattened records (``flattening_enabled``).

Every vendor and ``call_records`` run together from the sandbox, as users run them.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from jsonschema import Draft7Validator

from tests.conftest import ROOT, TapRun, every_vendor_config, tap_command, write_json

COUNT = 600
LEGS = "zoom_voice_call_legs"
STREAMS = {"voiso_cdr": "uuid", "smartflo_call_records": "id", "zoom_voice_calls": "engagement_id",
           "talkdesk_calls": "interaction_id"}


def batch_config(root: Path, size: int = 250) -> dict:
    return {"encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": root.as_uri(), "prefix": "batch-"}, "batch_size": size}


def batch_records(message: dict) -> list[dict]:
    rows = []
    for url in message["manifest"]:
        with gzip.open(urlparse(url).path, "rt") as file:
            rows += [json.loads(line) for line in file if line.strip()]
    return rows


def replay(run: TapRun) -> tuple[dict[str, list[dict]], list[str]]:
    """Each stream's records as a target reads them (RECORD lines and BATCH files), and the
    problems found: a STATE whose bookmark claims records not yet delivered."""
    delivered: dict[str, list[dict]] = {}
    keys = {m["stream"]: m.get("bookmark_properties") or [] for m in run.messages if m["type"] == "SCHEMA"}
    problems = []
    for message in run.messages:
        if message["type"] == "RECORD":
            delivered.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "BATCH":
            delivered.setdefault(message["stream"], []).extend(batch_records(message))
        elif message["type"] == "STATE":
            for stream, state in message["value"]["bookmarks"].items():
                for part in [state, *state.get("partitions", [])]:
                    bookmark = part.get("replication_key_value")
                    if not bookmark or stream not in keys:
                        continue
                    [key] = keys[stream]
                    got = [r for r in delivered.get(stream, []) if r[key] < bookmark
                           and all(r.get(k) == v for k, v in part.get("context", {}).items())]
                    problems += [f"{stream} STATE {bookmark} before {len(got)} records"] if not got else []
    return delivered, problems


def test_batch_messages_precede_every_state_that_covers_their_records(sandbox, run_tap, tmp_path):
    config = every_vendor_config(sandbox, COUNT)
    config["batch_config"] = batch_config(tmp_path)

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    assert not [m for m in run.messages if m["type"] == "RECORD"]  # call_records batches too
    delivered, problems = replay(run)
    assert problems == []
    for stream, key in STREAMS.items():
        assert len({r[key] for r in delivered[stream]}) == COUNT == len(delivered[stream])
    assert len(delivered["call_records"]) == 4 * COUNT
    # Each BATCH precedes the STATE that moves its stream's bookmark past its records.
    types = [m["type"] for m in run.messages]
    assert types.count("BATCH") >= 4 * 2 + 4 * 3


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_run_killed_at_any_line_resumes_without_losing_a_call(sandbox, run_tap, run_tap_killed,
                                                                     tmp_path, seed):
    config = every_vendor_config(sandbox, COUNT, ("smartflo", "voiso"))
    config["batch_config"] = batch_config(tmp_path, size=100)
    killed = run_tap_killed(config, after_lines=random.Random(seed).randrange(5, 40))
    resumed = run_tap(config, state=killed.states[-1] if killed.states else None)

    assert resumed.returncode == 0, resumed.stderr
    for stream in ("voiso_cdr", "smartflo_call_records"):
        key = STREAMS[stream]
        seen = {r[key] for run in (killed, resumed) for r in replay(run)[0].get(stream, [])}
        assert len(seen) == COUNT, stream


def test_parquet_batches_hold_every_record(sandbox, run_tap, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.parquet", reason="the parquet extra is part of the test install")
    config = every_vendor_config(sandbox, COUNT, ("voiso",))
    config["batch_config"] = {**batch_config(tmp_path), "encoding": {"format": "parquet"}}

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    rows = {}
    for message in run.messages:
        if message["type"] == "BATCH":
            for url in message["manifest"]:
                table = pyarrow.read_table(urlparse(url).path)
                rows.setdefault(message["stream"], []).extend(table.to_pylist())
    assert len({row["uuid"] for row in rows["voiso_cdr"]}) == COUNT
    assert len(rows["call_records"]) == COUNT


def test_parquet_without_its_extra_is_one_clear_line_before_any_request(sandbox, tmp_path):
    config = every_vendor_config(sandbox, 10, ("voiso",))
    config["batch_config"] = {**batch_config(tmp_path), "encoding": {"format": "parquet"}}
    blocked = "import sys; sys.modules['pyarrow'] = None; from tap_callrecords.tap import main; main()"
    run = subprocess.run([tap_command()[0], "-c", blocked, "--config",
                          str(write_json(tmp_path / "config.json", config))],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)

    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    [error] = [line for line in run.stderr.splitlines() if "batch_config" in line]
    assert "batch_config.encoding.format is parquet, which needs pyarrow" in error
    assert "tap-callrecords[parquet]" in error
    assert run.stdout == "" and sandbox.stats()["voiso"]["requests"] == 0


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_flattened_records_validate_against_the_schema_the_tap_sent(sandbox, run_tap, depth):
    config = every_vendor_config(sandbox, 300)
    config.update(flattening_enabled=True, flattening_max_depth=depth)

    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    schemas = run.schemas()
    assert set(schemas) == {*STREAMS, "call_records", LEGS}
    details = [call["voice_call_details"] for call in run.records("zoom_voice_calls")]
    legs = sum(len(json.loads(d) if isinstance(d, str) else d) for d in details)  # a JSON text when flattened
    for stream, schema in schemas.items():
        validator = Draft7Validator(schema)
        records = run.records(stream)
        assert len(records) == (4 * 300 if stream == "call_records" else legs if stream == LEGS else 300)
        bad = [(error.json_path, error.message)
               for record in records for error in validator.iter_errors(record)]
        assert bad == [], (stream, bad[:5])
        if depth:
            assert not any(isinstance(value, dict) for record in records for key, value in record.items()
                           if key in schema["properties"] and "object" not in str(schema["properties"][key]))


def test_flattening_moves_undeclared_nested_keys_into_extra_and_loses_nothing(sandbox, run_tap):
    config = every_vendor_config(sandbox, 300, ("smartflo",))
    plain = run_tap(config)
    config.update(flattening_enabled=True, flattening_max_depth=1)
    flat = run_tap(config)

    assert plain.returncode == 0 and flat.returncode == 0, flat.stderr
    by_id = {r["id"]: r for r in plain.records("smartflo_call_records")}
    fields = 0
    for record in flat.records("smartflo_call_records"):
        original = by_id[record["id"]]["contact_details"] or {}
        moved = {key: value for key, value in original.items() if key != "id"}
        extra = json.loads(record["extra"]) if record.get("extra") else {}
        assert extra.get("contact_details", {}) == moved
        assert record.get("contact_details__id") == original.get("id")
        fields += len(moved)
    assert fields > 0  # the sandbox's contacts carry custom fields
