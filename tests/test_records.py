"""The vendors' record functions, called directly: one shape per stream, nothing dropped.

Each vendor's conversion is a pure function of the raw record, so these need no
sandbox; the end-to-end tests prove the same records come out of a real sync.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft7Validator

from tap_callrecords.core.records import RecordConversion
from tap_callrecords.vendors.smartflo import schemas as smartflo_schemas
from tap_callrecords.vendors.smartflo.records import smartflo_record
from tap_callrecords.vendors.voiso.records import SCHEMA as VOISO_SCHEMA
from tap_callrecords.vendors.voiso.records import voiso_record
from tap_callrecords.vendors.zoom.records import SCHEMA as ZOOM_SCHEMA
from tap_callrecords.vendors.zoom.records import zoom_record

SMARTFLO_SCHEMA = json.loads((resources.files(smartflo_schemas) / "smartflo_call_records.json").read_text())
FIXTURES = resources.files("tests") / "fixtures"

VOISO_CALL = {"uuid": "u-1", "timestamp": "2024-07-03T12:43:09.000-03:00", "duration": "00:01:19",
              "type": "outbound", "agent_id": 56215, "cpc": 0.3972}
ZOOM_CALL = {"engagement_id": "e-1", "start_time": "2024-07-03T07:43:09-05:00",
             "end_time": "2024-07-03T07:45:14-05:00", "total_duration": 125, "charge": "$0.019",
             "queues": [{"queue_id": "q1", "queue_name": "Support"}]}
SMARTFLO_CALL = json.loads((FIXTURES / "smartflo_record.json").read_text())

CASES = [
    ("voiso", voiso_record, VOISO_SCHEMA, VOISO_CALL),
    ("zoom", zoom_record, ZOOM_SCHEMA, ZOOM_CALL),
    ("smartflo", smartflo_record, SMARTFLO_SCHEMA, SMARTFLO_CALL),
]


@pytest.mark.parametrize(("vendor", "convert", "schema", "raw"), CASES, ids=[c[0] for c in CASES])
def test_every_record_has_exactly_the_schema_fields_and_validates(vendor, convert, schema, raw):
    record = convert(dict(raw))
    assert set(record) == set(schema["properties"])
    assert record["extra"] is None
    assert not list(Draft7Validator(schema).iter_errors(record))


@pytest.mark.parametrize(("vendor", "convert", "schema", "raw"), CASES, ids=[c[0] for c in CASES])
def test_a_key_the_schema_does_not_know_is_kept_in_extra(vendor, convert, schema, raw):
    record = convert({**raw, "added_next_year": {"score": 4}, "mood": "happy"})
    assert record["extra"] == {"added_next_year": {"score": 4}, "mood": "happy"}
    assert set(record) == set(schema["properties"])
    assert not list(Draft7Validator(schema).iter_errors(record))


def test_zoom_conversion_is_derived_from_the_schema():
    typed = zoom_record({"engagement_id": "e", "total_duration": "61", "recorded": "true"})
    assert set(typed) == set(ZOOM_SCHEMA["properties"])
    assert typed["total_duration"] == 61 and typed["recorded"] is True and typed["queues"] is None
    # The key is required: a call without it converts with a null key, which the stream rejects.
    assert zoom_record({"total_duration": 5})["engagement_id"] is None


NULLABLE_TEXT = ["string", "null"]


def test_lenient_conversion_follows_the_schema_types():
    schema = {"properties": {
        "n": {"type": ["integer", "null"]}, "x": {"type": ["number", "null"]},
        "b": {"type": ["boolean", "null"]}, "s": {"type": ["string", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "people": {"type": ["array", "null"], "items": {"type": "object", "additionalProperties": False,
                                                          "properties": {"id": {"type": NULLABLE_TEXT}}}},
        "free": {"type": ["object", "null"]},
        "extra": {"type": ["object", "null"]},
    }}
    convert = RecordConversion(schema)
    assert convert({"n": "12", "x": "1.5", "b": "Yes", "s": 7, "tags": [1, None, "a"],
                    "people": [{"id": 3, "other": 1}], "free": [1]}) == {
        "n": 12, "x": 1.5, "b": True, "s": "7", "tags": ["1", "a"], "people": [{"id": "3"}], "free": None,
        # Kept as sent: a closed object's other key, a list where an object belongs.
        "extra": {"people": [{"id": 3, "other": 1}], "free": [1]},
    }
    assert RecordConversion({"properties": {"extra": {"type": ["object", "null"]}}})({}) == {"extra": None}
