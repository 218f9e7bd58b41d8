"""Assertions about emitted records that every vendor's tests share."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from jsonschema import Draft7Validator

from tests.conftest import TapRun


def date_time_fields(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the top-level and nested properties declared as ``date-time``."""
    paths: list[tuple[str, ...]] = []
    for name, prop in schema.get("properties", {}).items():
        if prop.get("format") == "date-time":
            paths.append((*prefix, name))
        if "properties" in prop:
            paths.extend(date_time_fields(prop, (*prefix, name)))
    return paths


def assert_records_match_schema(run: TapRun, stream: str) -> None:
    """Every record of ``stream`` validates against its SCHEMA message; date-times are UTC.

    The tap skips the SDK's type conformance for speed, so this is what proves the
    records are typed right: all of them are checked, not a sample.
    """
    schema = run.schemas()[stream]
    validator = Draft7Validator(schema)
    timestamps = date_time_fields(schema)
    records = run.records(stream)
    assert records, f"no records for {stream}"
    for record in records:
        errors = list(validator.iter_errors(record))
        assert not errors, f"{stream} record does not match its schema: {errors[0].message}: {record}"
        for path in timestamps:
            value: Any = record
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                moment = datetime.fromisoformat(value)
                assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0, (
                    f"{'.'.join(path)} is not UTC: {value}"
                )


def assert_unique_keys(records: list[dict[str, Any]], key: str) -> None:
    """Each primary key appears exactly once (the SDK's own test for this cannot fail)."""
    duplicates = [value for value, count in Counter(r[key] for r in records).items() if count > 1]
    assert not duplicates, f"{len(duplicates)} duplicate {key} values, e.g. {duplicates[:3]}"


def assert_one_clear_error(run: TapRun, *fragments: str) -> None:
    """A failed run: non-zero exit, no traceback, exactly one error line saying ``fragments``."""
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert len(run.error_lines) == 1, run.error_lines
    for fragment in fragments:
        assert fragment in run.error_lines[0], run.error_lines[0]
