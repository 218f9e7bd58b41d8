"""Talkdesk row → ``talkdesk_calls`` record conversion, against hand-checked values.

The two seed records (``fixtures/talkdesk_seed_calls.json``) are the vendor's own samples
of the ``explore_calls`` report: the payload valid until 2026-05-11 and the one after.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft7Validator

from tap_callrecords.sandbox.talkdesk import Job, TalkdeskAPI
from tap_callrecords.vendors.talkdesk.records import (
    DAY_FRACTION_FIELDS,
    SCHEMA,
    duration_converter,
    records_for,
    talkdesk_record,
)

SEEDS = json.loads((Path(__file__).parent / "fixtures" / "talkdesk_seed_calls.json").read_text())
NEW_YORK = ZoneInfo("America/New_York")
UTC_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")
VALIDATOR = Draft7Validator(SCHEMA)
PROPERTIES = SCHEMA["properties"]


def fields_of(json_type, *, date_time=False):
    """The schema's fields of one JSON type, in schema order."""
    return tuple(name for name, prop in PROPERTIES.items() if json_type in prop["type"]
                 and (prop.get("format") == "date-time") == date_time and name != "extra")


TIMESTAMPS = fields_of("string", date_time=True)
TEXTS = fields_of("string")


def assert_valid(record):
    errors = list(VALIDATOR.iter_errors(record))
    assert not errors, f"{errors[0].message}: {record}"
    for name in TIMESTAMPS:
        assert record[name] is None or UTC_FORM.match(record[name]), (name, record[name])
    assert set(record) == set(SCHEMA["properties"])


def as_csv(*rows):
    """Rows written to CSV and read back as Talkdesk's CSV file would be: all text."""
    header = list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row[k] is None else row[k] for k in header])
    reader = csv.reader(io.StringIO(buffer.getvalue(), newline=""))
    return next(reader), list(reader)


def test_field_kinds_come_from_the_schema():
    assert DAY_FRACTION_FIELDS == ("talk_time", "waiting_time", "agent_speed_to_answer", "holding_time")
    said_fraction = {name for name in fields_of("number")
                     if "fraction of a day" in PROPERTIES[name].get("description", "")}
    assert said_fraction == set(DAY_FRACTION_FIELDS)  # the schema says which, the code reads them so
    assert fields_of("boolean") == ("in_business_hours", "callback_from_queue", "transfer",
                                    "agent_disconnected")
    assert TIMESTAMPS == ("start_time", "end_time", "csat_survey_time", "timestamp_custom_field_n1")
    assert fields_of("integer") == ("rating", "csat_score", "int_custom_field_n1", "int_custom_field_n2")
    assert SCHEMA["required"] == ["interaction_id"]
    assert SCHEMA["properties"]["interaction_id"]["type"] == "string"
    assert all("?" not in name for name in SCHEMA["properties"])
    seed_keys = {key.rstrip("?") for seed in SEEDS.values() for key in seed}
    assert seed_keys <= set(PROPERTIES) - {"extra"}, seed_keys - set(PROPERTIES)  # every documented field
    for name in DAY_FRACTION_FIELDS:
        assert "Seconds; Talkdesk sends a fraction of a day" in SCHEMA["properties"][name]["description"]


def test_legacy_seed_record_in_new_york():
    record = talkdesk_record(SEEDS["legacy"], NEW_YORK)

    assert_valid(record)
    assert record["interaction_id"] == "74458c259bc04bf1988697e3c5623ae2"
    assert record["start_time"] == "2022-06-30T20:42:24.000000+00:00"  # EDT, UTC-4
    assert record["end_time"] == "2022-06-30T20:42:38.000000+00:00"
    assert record["csat_survey_time"] == "2022-06-30T20:44:40.000000+00:00"
    assert record["talk_time"] == 6.0
    assert record["waiting_time"] == 5.0
    assert record["agent_speed_to_answer"] == 4.0
    assert record["holding_time"] == 0.0
    assert record["in_business_hours"] is True
    assert record["callback_from_queue"] is False
    assert record["transfer"] is False
    assert record["agent_disconnected"] is True
    assert record["rating"] == 2 and record["csat_score"] == 1
    assert record["ivr_options"] == "1,2,1" and record["tags"] == "agents+rg1"
    assert record["data_status"] is None and record["timestamp_custom_field_n1"] is None
    assert record["extra"] is None


def test_2026_seed_record():
    record = talkdesk_record(SEEDS["payload_2026"], NEW_YORK)

    assert_valid(record)
    assert record["start_time"] == "2025-10-09T20:59:52.000000+00:00"
    assert record["end_time"] == "2025-10-09T21:00:01.000000+00:00"
    assert record["talk_time"] == 7.0  # 8.1018516E-5 of a day
    assert record["holding_time"] == 0.0
    assert record["waiting_time"] is None and record["agent_speed_to_answer"] is None
    assert record["rating"] is None and record["csat_survey_time"] is None
    assert record["in_business_hours"] is True and record["transfer"] is False
    assert record["agent_disconnected"] is False
    assert record["data_status"] == "Valid"
    assert record["nested_disposition"] == "" and record["ivr_options"] == ""
    assert record["disposition_set"] is None and record["int_custom_field_n1"] is None
    assert record["extra"] is None


@pytest.mark.parametrize("seed", ["legacy", "payload_2026"])
def test_csv_rows_of_text_convert_like_json(seed):
    """CSV has no types and no null: every cell is text, an empty cell is null except in
    text fields (which keep ``""``, since the file cannot tell the two apart)."""
    from_json = talkdesk_record(SEEDS[seed], NEW_YORK)
    header, [cells] = as_csv(SEEDS[seed])

    from_mapping = records_for(NEW_YORK)(dict(zip(header, cells, strict=True)))

    assert_valid(from_mapping)
    in_file = set(SEEDS[seed])
    expected = {name: "" if value is None and name in TEXTS and name in in_file else value
                for name, value in from_json.items()}
    assert from_mapping == expected


def test_csv_row_with_empty_cells():
    header = ["interaction_id", "start_time", "end_time", "talk_time", "waiting_time", "rating",
              "in_business_hours?", "transfer?", "float_custom_field_n1", "description", "csat_survey_time"]
    cells = ["f" * 32, "2024-01-15 09:00:00", "", "", "0.0", "", "", "Yes", "", "", ""]

    record = records_for(NEW_YORK)(dict(zip(header, cells, strict=True)))

    assert_valid(record)
    assert record["start_time"] == "2024-01-15T14:00:00.000000+00:00"  # EST, UTC-5
    assert record["end_time"] is None and record["csat_survey_time"] is None
    assert record["talk_time"] is None and record["waiting_time"] == 0.0
    assert record["rating"] is None and record["in_business_hours"] is None
    assert record["transfer"] is True and record["float_custom_field_n1"] is None
    assert record["description"] == ""
    assert record["agent_name"] is None  # not in the file at all


def test_unknown_keys_are_kept_in_extra():
    raw = {**SEEDS["payload_2026"], "mood": "happy", "user_email": "ana@example.com",
           "agent.team.name": "Tier 1", "score_detail": {"a": 1}, "empty": ""}

    record = talkdesk_record(raw, NEW_YORK)

    assert_valid(record)
    assert record["extra"] == {"mood": "happy", "user_email": "ana@example.com", "agent.team.name": "Tier 1",
                               "score_detail": {"a": 1}, "empty": ""}
    header, [cells] = as_csv({**SEEDS["legacy"], "mood": "neutral"})
    assert records_for(NEW_YORK)(dict(zip(header, cells, strict=True)))["extra"] == {"mood": "neutral"}


@pytest.mark.parametrize(("zone", "local", "utc"), [
    ("America/New_York", "2022-03-13 01:59:59", "2022-03-13T06:59:59"),  # last second of EST
    ("America/New_York", "2022-03-13 03:00:00", "2022-03-13T07:00:00"),  # first of EDT
    ("America/New_York", "2022-03-13 02:30:00", "2022-03-13T07:30:00"),  # skipped hour: EST (fold=0)
    ("America/New_York", "2022-11-06 01:30:00", "2022-11-06T05:30:00"),  # repeated hour: first (EDT)
    ("America/New_York", "2022-11-06 02:00:00", "2022-11-06T07:00:00"),
    ("Europe/Lisbon", "2024-10-27 00:59:59", "2024-10-26T23:59:59"),
    ("Asia/Kathmandu", "2024-07-01 05:45:00", "2024-07-01T00:00:00"),  # UTC+05:45
    ("Australia/Lord_Howe", "2024-04-07 01:45:00", "2024-04-06T14:45:00"),  # half-hour DST, +11:00
    ("UTC", "2024-02-29 23:59:59", "2024-02-29T23:59:59"),
])
def test_local_times_are_read_in_the_job_timezone(zone, local, utc):
    record = talkdesk_record({"interaction_id": "a" * 32, "start_time": local}, ZoneInfo(zone))
    assert record["start_time"] == f"{utc}.000000+00:00"


def test_times_with_an_offset_are_read_as_such():
    converter = records_for(NEW_YORK)
    times = {"2022-06-30T16:42:24-04:00": "2022-06-30T20:42:24.000000+00:00",
             "2022-06-30T20:42:24Z": "2022-06-30T20:42:24.000000+00:00",
             "2022-06-30T20:42:24.5Z": "2022-06-30T20:42:24.500000+00:00",
             "2022-06-30 16:42:24.250": "2022-06-30T20:42:24.250000+00:00",
             "2022-06-30T16:42:24": "2022-06-30T20:42:24.000000+00:00",
             "2022-06-31 10:00:00": None, "2022-06-30 24:00:00": None, "yesterday": None, "": None}
    for given, expected in times.items():
        assert converter({"interaction_id": "x", "end_time": given})["end_time"] == expected, given


@pytest.mark.parametrize(("unit", "given", "seconds"), [
    ("auto", "0.000069444446", 6.0),
    ("auto", 0.000069444446, 6.0),
    ("auto", "8.1018516E-5", 7.0),
    ("auto", "0.0", 0.0),
    ("auto", "0", 0.0),
    ("auto", "6", 6.0),       # whole seconds (the 2026 style the Calls report uses)
    ("auto", 6, 6.0),
    ("auto", 1, 1.0),
    ("auto", "125.0", 125.0),
    ("auto", "0.5", 43_200.0),  # below 1: a fraction of a day
    ("day_fraction", "1", 86_400.0),
    ("day_fraction", 0.020833334, 1800.0),
    ("seconds", "0.5", 0.5),
    ("seconds", 42, 42.0),
    ("auto", "", None),
    ("auto", None, None),
    ("auto", "abc", None),
    ("auto", "-1", None),
    ("auto", "nan", None),
    ("auto", "inf", None),
    ("auto", True, None),
    ("auto", [1], None),
])
def test_durations_in_either_unit(unit, given, seconds):
    assert duration_converter(unit)(given) == seconds
    record = talkdesk_record({"interaction_id": "x", "talk_time": given}, NEW_YORK, unit)
    assert record["talk_time"] == seconds


def test_unknown_duration_unit_is_refused():
    with pytest.raises(ValueError, match="duration_unit"):
        records_for(NEW_YORK, "minutes")


def test_values_that_cannot_be_read_become_null_without_raising():
    raw = {**SEEDS["legacy"], "rating": "two", "csat_score": "4.0", "in_business_hours?": "maybe",
           "transfer?": 1, "callback_from_queue?": True, "start_time": "yesterday", "talk_time": [1],
           "holding_time": {"s": 1}, "description": 5, "team": None, "float_custom_field_n1": "nan",
           "int_custom_field_n1": "12", "float_custom_field_n2": "12.5"}

    record = talkdesk_record(raw, NEW_YORK)

    assert_valid(record)
    assert record["rating"] is None and record["csat_score"] == 4
    assert record["in_business_hours"] is None
    assert record["transfer"] is True and record["callback_from_queue"] is True
    assert record["start_time"] is None and record["talk_time"] is None and record["holding_time"] is None
    assert record["description"] == "5" and record["team"] is None
    assert record["float_custom_field_n1"] is None
    assert record["int_custom_field_n1"] == 12 and record["float_custom_field_n2"] == 12.5
    # The next row, of the same shape but ordinary, takes the fast path again.
    assert talkdesk_record(SEEDS["legacy"], NEW_YORK) == talkdesk_record(dict(SEEDS["legacy"]), NEW_YORK)


def test_a_row_without_interaction_id_has_no_key():
    """The stream rejects a record whose primary key is null or empty (``WindowedStream.read``),
    the same way for every vendor."""
    assert talkdesk_record({**SEEDS["legacy"], "interaction_id": ""}, NEW_YORK)["interaction_id"] == ""
    assert talkdesk_record({"start_time": "2022-06-30 16:42:24", "talk_time": "0"}, NEW_YORK)[
        "interaction_id"] is None


@pytest.mark.parametrize("payload", ["2026", "legacy"])
def test_sandbox_files_convert_to_the_same_valid_records_in_every_format(payload):
    """The sandbox's three file formats, converted: the same records (text nulls aside)."""
    api = TalkdeskAPI()
    api.configure({"count": 3000, "payload": payload})
    job = Job(id="j", name="n", timezone="Asia/Kolkata", format="csv", timespan={}, low_ms=0,
              high_ms=2**62, created=0, duration=0, fails=False)
    files = {}
    for file_format in ("csv", "json", "json_bulk"):
        job.format = file_format
        files[file_format] = b"".join(api.file_chunks(job)).decode()
    converter = records_for(ZoneInfo("Asia/Kolkata"))
    reader = csv.reader(io.StringIO(files["csv"], newline=""))
    header = next(reader)
    from_csv = [converter(dict(zip(header, cells, strict=True))) for cells in reader]
    document = json.loads(files["json"])
    from_json = [converter(entry) for entry in document["entries"]]
    from_bulk = [converter(json.loads(line)) for line in files["json_bulk"].splitlines()]

    assert len(from_csv) == document["total"] == 3000
    assert from_json == from_bulk
    for record in from_csv:
        assert_valid(record)
    texts = set(TEXTS)
    columns = set(document["entries"][0])

    def as_in_csv(record):
        """What CSV keeps of a record: a null in a text column (or kept as sent) is ``""``."""
        csv_record = {k: "" if v is None and k in texts and k in columns else v for k, v in record.items()}
        if record["extra"]:
            csv_record["extra"] = {k: "" if v is None else v for k, v in record["extra"].items()}
        return csv_record

    assert from_csv == [as_in_csv(r) for r in from_json]
    assert len({r["interaction_id"] for r in from_csv}) == 3000
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["interaction_id"]) for r in from_csv)
    assert from_csv[0]["start_time"] == "2024-07-01T00:00:00.000000+00:00"
    assert any(r["talk_time"] and r["talk_time"] > 60 for r in from_csv)
    assert (payload == "2026") == all(r["extra"] is not None and "mood" in r["extra"] for r in from_csv)
