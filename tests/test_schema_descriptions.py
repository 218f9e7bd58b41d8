"""Every stream and every field, at every depth, has a description, in the catalog users
see (``--discover``, and so Meltano, the Hub and a warehouse's column comments) and in the
SCHEMA messages a target reads: properties, array items, nested objects and the values of
free-form maps alike. Times say they are UTC (or which zone they keep), and durations say
they are seconds."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

from tap_callrecords.about import streams
from tests.conftest import ROOT, every_vendor_config, tap_command


def catalog() -> dict[str, dict[str, Any]]:
    result = subprocess.run([*tap_command(), "--discover"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return {entry["tap_stream_id"]: entry["schema"] for entry in json.loads(result.stdout)["streams"]}


def nodes(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node under ``schema`` with its path: properties, items, map values, alternatives."""
    yield path, schema
    for name, child in (schema.get("properties") or {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}.*")
    for keyword in ("anyOf", "oneOf"):
        for index, alternative in enumerate(schema.get(keyword) or []):
            yield from nodes(alternative, f"{path}<{keyword}{index}>")


def types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def test_every_stream_and_every_field_at_every_depth_has_a_description():
    schemas = catalog()
    assert sorted(schemas) == sorted(info.stream for info in streams())

    missing = [path for stream, schema in schemas.items() for path, node in nodes(schema, stream)
               if not str(node.get("description") or "").strip()]

    assert missing == []
    assert sum(1 for schema in schemas.values() for _ in nodes(schema, "")) > 300  # every depth was walked


def test_times_say_their_zone_and_durations_their_unit():
    for stream, schema in catalog().items():
        for path, node in nodes(schema, stream):
            name, text = path.rsplit(".", 1)[-1], node.get("description", "")
            if node.get("format") == "date-time":
                assert "UTC" in text, path
            if types(node) & {"integer", "number"} and re.search(r"duration|_seconds$|_time$", name):
                assert re.search(r"[Ss]econds", text), path
            if name == "extra":
                assert "not" in text and "as sent" in text, path  # the keys the schema does not name


def test_the_schema_messages_carry_the_descriptions(sandbox, run_tap):
    run = run_tap(every_vendor_config(sandbox, 20, vendors=("voiso",)))

    assert run.returncode == 0, run.stderr
    discovered = catalog()
    for stream, schema in run.schemas().items():
        assert schema["description"] == discovered[stream]["description"]
        assert [path for path, node in nodes(schema, stream) if not node.get("description")] == []
