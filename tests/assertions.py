"""Assertions about emitted records that every vendor's tests share."""

from __future__ import annotations

import re
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
    """Every record of ``stream`` validates against its SCHEMA message; date-times are UTC,
    written with ``+00:00``.

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
                assert value.endswith("+00:00"), f"{'.'.join(path)} is not written with +00:00: {value}"


def assert_unique_keys(records: list[dict[str, Any]], key: str) -> None:
    """Each primary key appears exactly once (the SDK's own test for this cannot fail)."""
    duplicates = [value for value, count in Counter(r[key] for r in records).items() if count > 1]
    assert not duplicates, f"{len(duplicates)} duplicate {key} values, e.g. {duplicates[:3]}"


ERROR_PREFIX = "tap-callrecords: error: "


def assert_one_clear_error(run: TapRun, *fragments: str, exactly: str | None = None) -> None:
    """A failed run: non-zero exit, no traceback, exactly one error line saying ``fragments``
    (and, with ``exactly``, that line is ``tap-callrecords: error: <exactly>``)."""
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert len(run.error_lines) == 1, run.error_lines
    assert "| ERROR" not in run.stderr, run.stderr[-2000:]  # no other line claims to be the error
    for fragment in fragments:
        assert fragment in run.error_lines[0], run.error_lines[0]
    if exactly is not None:
        assert run.error_lines == [ERROR_PREFIX + exactly]


def assert_nothing_leaked(runs: list[TapRun], secrets: list[str],
                          pattern: re.Pattern[str] | None = None) -> None:
    """None of ``secrets`` (nor text matching ``pattern``) in any run's stdout or stderr."""
    for number, run in enumerate(runs):
        for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            for secret in secrets:
                assert secret not in text, f"run {number} printed a secret on {name}"
            if pattern is not None:
                found = pattern.search(text)
                assert not found, f"run {number} printed {found.group(0)!r} on {name}"
