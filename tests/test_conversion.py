"""The one record conversion (``core/records.py``), in process: the schema's rules, each
vendor's per-field readers, unknown keys in ``extra``, and which values may fail a record.

The vendors' records themselves are checked against hand-checked values in
``test_records.py``, ``test_talkdesk_records.py`` and ``test_call_mappings.py``.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft7Validator

from tap_callrecords.core import convert
from tap_callrecords.core.convert import Lookup, UtcTimes, as_seconds, parse_iso_datetime, to_utc_iso
from tap_callrecords.core.records import MAX_LAYOUTS, RecordConversion
from tap_callrecords.sandbox.smartflo import SmartfloAPI
from tap_callrecords.sandbox.voiso import VoisoAPI
from tap_callrecords.sandbox.zoom import ZoomAPI
from tap_callrecords.vendors.smartflo.records import SCHEMA as SMARTFLO_SCHEMA
from tap_callrecords.vendors.smartflo.records import smartflo_record
from tap_callrecords.vendors.talkdesk.records import SCHEMA as TALKDESK_SCHEMA
from tap_callrecords.vendors.talkdesk.records import talkdesk_record
from tap_callrecords.vendors.voiso.records import SCHEMA as VOISO_SCHEMA
from tap_callrecords.vendors.voiso.records import voiso_record
from tap_callrecords.vendors.zoom.records import SCHEMA as ZOOM_SCHEMA
from tap_callrecords.vendors.zoom.records import zoom_record

NULLABLE = ["string", "null"]
SCHEMA = {
    "type": "object",
    "required": ["id", "start"],
    "properties": {
        "id": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": ["string", "null"], "format": "date-time"},
        "seen": {"type": ["string", "null"], "format": "date-time"},
        "count": {"type": ["integer", "null"]},
        "price": {"type": ["number", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "note": {"type": NULLABLE},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "closed": {"type": ["object", "null"], "additionalProperties": False,
                   "properties": {"a": {"type": NULLABLE}, "n": {"type": ["integer", "null"]}}},
        "open": {"type": ["object", "null"], "properties": {"n": {"type": ["integer", "null"]}}},
        "texts": {"type": ["object", "null"], "properties": {"id": {"type": ["integer", "null"]}},
                  "additionalProperties": {"type": NULLABLE}},
        "steps": {"type": ["array", "null"], "items": {"type": ["object", "null"], "properties": {
            "at": {"type": ["number", "null"]}}}},
        "free": {"type": ["object", "null"]},
        "extra": {"type": ["object", "null"], "additionalProperties": True},
    },
}
VALIDATOR = Draft7Validator(SCHEMA)
CONVERT = RecordConversion(SCHEMA)
START = "2024-07-03T12:43:09Z"


def test_every_field_in_schema_order_and_nothing_sent_dropped():
    record = CONVERT({"count": 3, "id": "a", "start": START, "mood": {"x": 1}, "why?": "", "extra": 5})

    assert list(record) == list(SCHEMA["properties"])
    assert record["id"] == "a" and record["count"] == 3 and record["note"] is None
    assert record["extra"] == {"mood": {"x": 1}, "why?": "", "extra": 5}  # as sent, in the order sent
    assert list(record["extra"]) == ["mood", "why?", "extra"]
    assert CONVERT({"id": "a", "start": START})["extra"] is None
    assert not list(VALIDATOR.iter_errors(record))


def test_scalars_take_their_schema_type():
    record = CONVERT({"id": 7, "start": START, "count": "12", "price": "1.5", "flag": "Yes", "note": 3.5})
    assert (record["id"], record["count"], record["price"], record["flag"], record["note"]) == (
        "7", 12, 1.5, True, "3.5")
    readings = [("TRUE", True), ("False", False), ("no", False), (1, True), (0, False), ("maybe", None)]
    for sent, read in readings:
        assert CONVERT({"id": "a", "start": START, "flag": sent})["flag"] is read, sent
    odd = CONVERT({"id": "a", "start": START, "count": [1], "price": "nan", "flag": {}, "note": None})
    assert (odd["count"], odd["price"], odd["flag"], odd["note"]) == (None, None, None, None)
    assert odd["extra"] == {"count": [1], "flag": {}}  # containers kept as sent; "nan" is no number


def test_arrays_and_objects_follow_the_schema():
    record = CONVERT({
        "id": "a", "start": START, "tags": ["x", 1, None], "closed": {"a": 1, "n": "2", "more": 3},
        "open": {"n": "4", "kept": [1]}, "texts": {"id": "9", "field_0": 5, "field_1": "b"},
        "steps": [{"at": "1.5", "who": "me"}, None, {"at": 2}], "free": {"any": ["thing"]},
    })
    assert record["tags"] == ["x", "1"]  # typed; null items dropped
    assert record["closed"] == {"a": "1", "n": 2}  # its properties, typed
    assert record["extra"] == {"closed": {"a": 1, "n": "2", "more": 3}}  # and as sent: "more" kept
    assert record["open"] == {"n": 4, "kept": [1]}  # keys as sent, declared ones typed
    assert record["texts"] == {"id": 9, "field_0": "5", "field_1": "b"}  # others by additionalProperties
    assert record["steps"] == [{"at": 1.5, "who": "me"}, {"at": 2}]
    assert record["free"] == {"any": ["thing"]}
    assert not list(VALIDATOR.iter_errors(record))
    assert CONVERT({"id": "a", "start": START, "closed": {"a": "x"}})["closed"] == {"a": "x", "n": None}


def test_values_of_an_unexpected_shape_are_kept_as_sent_in_extra():
    sent = {"tags": "x", "closed": [1], "open": "o", "free": 1, "count": [3], "note": {"t": 1},
            "steps": [{"at": 1}, "junk"], "texts": {"id": [9]}}
    record = CONVERT({"id": "a", "start": START, "mood": 1, **copy.deepcopy(sent)})
    assert [record[name] for name in sent] == [None] * len(sent)  # the typed columns cannot hold them
    assert record["extra"] == {"mood": 1, **sent}  # never dropped: every one as sent
    assert not list(VALIDATOR.iter_errors(record))
    # The same shapes inside a vendor's record: Voiso's sla as a list, Smartflo's
    # agent_hangup_data as text.
    voiso = voiso_record({"uuid": "u", "timestamp": START, "sla": [{"time_to_first_response": "00:01:00"}]})
    assert voiso["sla"] is None and voiso["extra"] == {"sla": [{"time_to_first_response": "00:01:00"}]}
    smartflo = smartflo_record({"id": "1", "call_id": "1700000000.1", "agent_hangup_data": "Agent hung up"})
    assert smartflo["agent_hangup_data"] is None
    assert smartflo["extra"] == {"agent_hangup_data": "Agent hung up"}


def test_times_in_utc_and_only_an_unreadable_required_one_fails_the_record():
    local = RecordConversion(SCHEMA, zone=ZoneInfo("America/New_York"))
    record = local({"id": "a", "start": "2022-06-30 16:42:24", "end": "2022-06-30T16:42:38.5-04:00",
                    "seen": "2022-06-30T20:44:40Z"})
    assert (record["start"], record["end"], record["seen"]) == ("2022-06-30T20:42:24.000000+00:00",
                                                                "2022-06-30T20:42:38.500000+00:00",
                                                                "2022-06-30T20:44:40.000000+00:00")
    # A time that is not one is null, unless it is the required one (the replication key).
    assert CONVERT({"id": "a", "start": START, "end": "yesterday", "seen": 5})["end"] is None
    with pytest.raises(ValueError):
        CONVERT({"id": "a", "start": "yesterday"})
    with pytest.raises(TypeError):
        CONVERT({"id": "a", "start": 1720000000})
    # Missing or empty, it is null, and the stream rejects the record as keyless.
    assert CONVERT({"id": "a"})["start"] is None and CONVERT({"id": "a", "start": ""})["start"] is None
    assert CONVERT({"start": START})["id"] is None


HOSTILE = [None, "", "N.A.", "12", "12.5", 12, 12.7, True, "Yes", "00:01:19", "2024-07-03 12:43:09",
           "garbage", [1, "a", None], {"a": 1}, [], {}, "nan", float("inf"), -3]


def _variants(raw, rng, count):
    """``raw`` with random fields (nested ones too) replaced by hostile values."""
    for _ in range(count):
        changed = copy.deepcopy(raw)
        for _ in range(rng.randint(1, 5)):
            target = changed
            key = rng.choice(list(target))
            if isinstance(target[key], dict) and target[key] and rng.random() < 0.5:
                target = target[key]
                key = rng.choice(list(target))
            elif isinstance(target[key], list) and target[key] and isinstance(target[key][0], dict):
                target = target[key][0]
                key = rng.choice(list(target)) if target else key
            target[key] = copy.deepcopy(rng.choice(HOSTILE))
        yield changed


def _talkdesk(raw):
    return talkdesk_record(raw, ZoneInfo("America/New_York"))


TALKDESK_ROW = {"interaction_id": "a" * 32, "start_time": "2024-07-01 10:00:00",
                "end_time": "2024-07-01 10:00:06", "talk_time": "0.000069444446",
                "in_business_hours?": "TRUE", "rating": "2", "team": "Tier 1", "float_custom_field_n1": "1.5"}
VENDORS = [
    ("voiso", voiso_record, VOISO_SCHEMA, lambda: [json.loads(VoisoAPI().record_json(i))
                                                   for i in range(40)], "timestamp"),
    ("smartflo", smartflo_record, SMARTFLO_SCHEMA, lambda: [SmartfloAPI().record(i) for i in range(40)],
     None),
    ("zoom", zoom_record, ZOOM_SCHEMA, lambda: [ZoomAPI().record(i, 0, i % 2 == 0) for i in range(40)],
     "start_time"),
    ("talkdesk", _talkdesk, TALKDESK_SCHEMA, lambda: [dict(TALKDESK_ROW)], None),
]


@pytest.mark.parametrize(("vendor", "conversion", "schema", "records", "key_time"), VENDORS,
                         ids=[vendor for vendor, *_ in VENDORS])
def test_no_field_but_the_key_time_fails_a_record_and_every_record_validates(
        vendor, conversion, schema, records, key_time):
    validator = Draft7Validator(schema)
    rng = random.Random(vendor)
    for raw in records():
        for changed in _variants(raw, rng, 25):
            try:
                record = conversion(copy.deepcopy(changed))
            except (TypeError, ValueError):  # the key time alone may fail a record
                assert key_time is not None, changed
                record = conversion(copy.deepcopy({**changed, key_time: START}))
            assert list(record) == list(schema["properties"])
            nulls = {name: None for name in schema.get("required", ()) if record[name] in (None, "")}
            errors = [error.message for error in validator.iter_errors({**record, **nulls})
                      if not (error.validator == "type" and error.instance is None
                              and error.path and error.path[0] in nulls)]
            assert not errors, (changed, errors)


def test_voiso_durations_and_sla_times_are_read_from_hh_mm_ss():
    record = voiso_record({"uuid": "u", "timestamp": "2024-07-03T12:43:09.000-03:00", "duration": "00:01:19",
                           "sla": {"time_to_first_response": "00:01:45", "time_to_resolution": "48:16:27",
                                   "time_to_reply": 30, "other": "00:00:01"}})
    assert record["timestamp"] == "2024-07-03T15:43:09.000000+00:00"
    assert record["duration"] == 79
    assert record["sla"] == {"time_to_first_response": 105, "time_to_resolution": 173_787,
                             "time_to_reply": 30}
    assert [as_seconds(v) for v in ("1:02", " 00:00:07 ", "61", 61.6, "N.A.", "1:x", True, [])] == [
        62, 7, 61, 62, None, None, None, None]


def test_smartflo_india_date_and_time_as_a_utc_start():
    record = smartflo_record({"id": "r", "date": "2024-05-09", "time": "11:52:14",
                              "end_stamp": "2024-05-09 11:53:02", "account_id": "acct",
                              "call_duration": "00:00:48", "agent_ring_time": "N.A.",
                              "notes": "call back", "sip_agent_ids": 7, "dialer_call_details": {}})
    assert record["start_time"] == "2024-05-09T06:22:14.000000+00:00"
    assert record["end_time"] == "2024-05-09T06:23:02.000000+00:00"
    assert (record["date"], record["time"]) == ("2024-05-09", "11:52:14")  # kept as sent
    assert record["accountid"] == "acct" and record["extra"] is None  # the older name, renamed
    assert record["call_duration"] == 48 and record["agent_ring_time"] is None
    assert record["notes"] == {"text": "call back"} and record["sip_agent_ids"] == ["7"]
    assert record["dialer_call_details"] is None
    # Without date and time, the start is call_id's epoch.
    assert smartflo_record({"id": "r", "call_id": "1715235734.129662"})["start_time"] == \
        "2024-05-09T06:22:14.000000+00:00"
    both = smartflo_record({"id": "r", "accountid": "new", "account_id": "old"})
    assert both["accountid"] == "new" and both["extra"] == {"account_id": "old"}


def test_talkdesk_question_mark_keys_local_times_and_day_fractions():
    record = _talkdesk({**TALKDESK_ROW, "transfer?": "Yes", "agent_disconnected": "FALSE"})
    assert record["in_business_hours"] is True and record["transfer"] is True
    assert record["agent_disconnected"] is False
    assert record["start_time"] == "2024-07-01T14:00:00.000000+00:00"  # EDT
    assert record["talk_time"] == 6.0 and record["rating"] == 2
    assert record["extra"] is None and "in_business_hours?" not in record
    assert _talkdesk({**TALKDESK_ROW, "transfer": "No", "transfer?": "Yes"})["extra"] == {"transfer?": "Yes"}


def test_zoom_charge_and_detail_entries():
    record = zoom_record({"engagement_id": "e", "start_time": "2024-07-03T07:43:09-05:00",
                          "charge": "$1,200.5",
                          "voice_call_details": [{"leg": 1, "start_time": "2024-07-03T12:00:00Z"}, 5],
                          "queues": [{"queue_id": 1, "queue_name": "q", "cc_queue_id": "c", "new": 2}]})
    assert record["start_time"] == "2024-07-03T12:43:09.000000+00:00"
    assert record["charge"] == "$1,200.5" and record["charge_amount"] == 1200.5
    assert record["voice_call_details"] is None  # an item of another shape: the list as sent in extra
    # Open: the documented keys typed, one Zoom adds kept as sent.
    assert record["queues"] == [{"queue_id": "1", "queue_name": "q", "cc_queue_id": "c", "new": 2}]
    assert record["extra"] == {
        "voice_call_details": [{"leg": 1, "start_time": "2024-07-03T12:00:00Z"}, 5]}


def test_records_of_other_key_sets_and_types_convert_alike():
    """Layouts are per key set and type plans per pattern: mixing them changes no record."""
    rows = [{"id": "a", "start": START, "count": 1, "note": "x"},
            {"id": "b", "start": START, "count": "2", "flag": "no"},  # the same size, other keys
            {"id": "c", "start": START, "count": "3", "note": 4},  # the first keys, other types
            {"id": "d", "start": START, "price": [1], "tags": ["t", None]}]
    expected = [RecordConversion(SCHEMA)(dict(row)) for row in rows]
    conversion = RecordConversion(SCHEMA)
    for _ in range(3):
        assert [conversion(dict(row)) for row in rows + rows[::-1]] == expected + expected[::-1]
    many = [{"id": str(i), "start": START, f"unknown_{i}": i} for i in range(MAX_LAYOUTS + 5)]
    assert [conversion(row)["extra"] for row in many] == [{f"unknown_{i}": i} for i in range(MAX_LAYOUTS + 5)]


def test_declarations_name_fields_of_the_schema():
    with pytest.raises(ValueError, match="no field"):
        RecordConversion(SCHEMA, readers={"durration": as_seconds})
    with pytest.raises(ValueError, match="no field"):
        RecordConversion(SCHEMA, renames={"old": "missing"})
    with pytest.raises(ValueError, match="extra"):
        RecordConversion({"properties": {"id": {"type": "string"}}})
    declared = RecordConversion(SCHEMA, readers={"count": as_seconds, "closed.n": as_seconds,
                                                 "texts.*": as_seconds, "steps[].at": as_seconds},
                                computed={"note": lambda raw: f"{raw.get('id')}!"})
    record = declared({"id": "a", "start": START, "count": "1:00", "closed": {"n": "0:05"}, "note": "sent",
                       "texts": {"id": "1", "field_0": "1:01"}, "steps": [{"at": "0:02"}]})
    assert record["count"] == 60 and record["closed"] == {"a": None, "n": 5}
    assert record["texts"] == {"id": 1, "field_0": "61"} and record["steps"] == [{"at": 2}]
    assert record["note"] == "a!" and record["extra"] == {"note": "sent"}


def test_lookup_converts_each_text_once_and_stays_bounded(monkeypatch):
    seen = []
    table = Lookup(lambda value: seen.append(value) or convert.as_int(value))
    assert [table["1"], table["1"], table[2], table[2], table.read([1])] == [1, 1, 2, 2, None]
    assert seen == ["1", 2, 2, [1]]
    assert Lookup(lambda value: 1 / 0)["x"] is None  # what it cannot read is None
    monkeypatch.setattr(convert, "CACHE_LIMIT", 3)
    for number in range(10):
        table[str(number)]
    assert len(table) <= 3


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_utc_times_fast_path_agrees_with_parsing(zone):
    times = UtcTimes(ZoneInfo(zone))
    rng = random.Random(zone)
    moment = datetime(2024, 3, 1, tzinfo=timezone.utc)
    for _ in range(2000):
        moment += timedelta(seconds=rng.randint(1, 20_000), microseconds=rng.choice([0, 500_000, 123_456]))
        text = moment.isoformat(sep=rng.choice("T "))[:19]
        text += rng.choice(["", ".5", ".123", ".123456"])
        text += rng.choice(["", "Z", "+05:30", "-03:00", "+00:00"])
        expected = to_utc_iso(parse_iso_datetime(text, ZoneInfo(zone)))
        assert times.read(text) == times.strict(text) == expected, text
        assert times.many([text, None, "x"]) == [expected, None, None]
