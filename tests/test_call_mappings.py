"""The vendors' ``call_records`` mappings, called directly, against hand-checked values.

Each vendor's seed samples (the vendor's own documentation, copied into ``fixtures/``) go
through the vendor stream's record function and then its mapping; every column of the
result is compared with a value worked out by hand from the sample and written here
literally. Then every direction and outcome value a vendor can send (its docs, the
sandbox generators), records with only their required fields, the sandbox's data sets,
the phone numbers and the region setting.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import phonenumbers
import pytest
from jsonschema import Draft7Validator

from tap_callrecords.call_records import CHANNELS, DIRECTIONS, FIELDS, OUTCOMES, SCHEMA, CallRow
from tap_callrecords.call_records.values import seconds_before
from tap_callrecords.core import phones
from tap_callrecords.core.phones import check_region, to_e164
from tap_callrecords.sandbox.smartflo import SmartfloAPI
from tap_callrecords.sandbox.talkdesk import Job, TalkdeskAPI
from tap_callrecords.sandbox.voiso import VoisoAPI
from tap_callrecords.sandbox.zoom import ZoomAPI
from tap_callrecords.vendors import smartflo, talkdesk, voiso, zoom
from tap_callrecords.vendors.smartflo.calls import smartflo_call as smartflo_row
from tap_callrecords.vendors.smartflo.records import smartflo_record
from tap_callrecords.vendors.talkdesk.calls import talkdesk_call as talkdesk_row
from tap_callrecords.vendors.talkdesk.records import talkdesk_record
from tap_callrecords.vendors.voiso.calls import voiso_call as voiso_row
from tap_callrecords.vendors.voiso.records import voiso_record
from tap_callrecords.vendors.zoom.calls import charge_currency
from tap_callrecords.vendors.zoom.calls import zoom_call as zoom_row
from tap_callrecords.vendors.zoom.records import zoom_record


def as_columns(row: CallRow) -> dict:
    """A row's columns but ``raw``, in order, as a dict (what these tests compare)."""
    assert isinstance(row, CallRow) and row.raw is None  # the stream, not the mapping, sets raw
    columns = msgspec.structs.asdict(row)
    del columns["raw"]
    return columns


def voiso_call(record, region):
    return as_columns(voiso_row(record, region))


def smartflo_call(record, region):
    return as_columns(smartflo_row(record, region))


def zoom_call(record, region):
    return as_columns(zoom_row(record, region))


def talkdesk_call(record, region):
    return as_columns(talkdesk_row(record, region))


FIXTURES = Path(__file__).parent / "fixtures"
VOISO_SEED = json.loads((FIXTURES / "voiso_seed_cdr.json").read_text())["records"]
SMARTFLO_SEED = json.loads((FIXTURES / "smartflo_record.json").read_text())
ZOOM_SEED = json.loads((FIXTURES / "zoom_seed_voice_calls.json").read_text())["voice_calls"]
TALKDESK_SEED = json.loads((FIXTURES / "talkdesk_seed_calls.json").read_text())
NEW_YORK = ZoneInfo("America/New_York")
VALIDATOR = Draft7Validator(SCHEMA)


def map_voiso(raw, region=None):
    return voiso_call(voiso_record(raw), region)


def map_smartflo(raw, region="IN"):
    return smartflo_call(smartflo_record(raw), region)


def map_zoom(raw, region=None):
    return zoom_call(zoom_record(raw), region)


def map_talkdesk(raw, zone=NEW_YORK, region=None):
    return talkdesk_call(talkdesk_record(raw, zone), region)


def assert_row(row, record):
    """Columns in schema order; with ``raw`` appended, a valid ``call_records`` record."""
    assert tuple(row) == FIELDS
    errors = list(VALIDATOR.iter_errors({**row, "raw": record}))
    assert not errors, f"{errors[0].message}: {row}"
    assert row["outcome"] is None or row["outcome"] in OUTCOMES
    assert row["direction"] is None or row["direction"] in DIRECTIONS
    assert row["channel"] is None or row["channel"] in CHANNELS


# -- The schema ---------------------------------------------------------------------------------

def test_schema_columns_order_and_sets():
    assert list(SCHEMA["properties"]) == [
        "vendor", "call_id", "channel", "direction", "started_at", "ended_at", "duration_seconds",
        "talk_seconds", "wait_seconds", "hold_seconds", "outcome", "vendor_outcome", "agent_id",
        "agent_name", "queue", "team", "customer_number", "business_number", "disposition",
        "recording_url", "cost", "currency", "raw",
    ]
    assert tuple(SCHEMA["properties"])[:-1] == FIELDS
    assert CallRow.__struct_fields__ == (*FIELDS, "raw")
    assert SCHEMA["required"] == ["vendor", "call_id", "started_at"]
    assert SCHEMA["properties"]["started_at"] == {
        "type": ["string"], "format": "date-time",
        "description": SCHEMA["properties"]["started_at"]["description"]}
    assert SCHEMA["properties"]["raw"]["type"] == ["object"]
    props = SCHEMA["properties"]
    assert props["outcome"]["enum"] == [*OUTCOMES, None]
    assert props["direction"]["enum"] == [*DIRECTIONS, None]
    assert props["channel"]["enum"] == [*CHANNELS, None]
    for name in ("duration_seconds", "talk_seconds", "wait_seconds", "hold_seconds", "cost"):
        assert props[name]["type"] == ["number", "null"], name
    for name, prop in props.items():
        assert prop["description"], name
    assert OUTCOMES == ("answered", "missed", "abandoned", "voicemail", "failed")
    assert DIRECTIONS == ("inbound", "outbound", "internal")
    assert CHANNELS == ("voice", "sms", "chat", "messaging")


def test_mapping_vendor_names_are_the_vendor_keys():
    rows = {
        voiso.VOISO.key: map_voiso({"uuid": "u", "timestamp": "2024-07-31T12:43:09.000-03:00"}),
        smartflo.SMARTFLO.key: map_smartflo({"id": "i", "date": "2024-05-09", "time": "11:52:14"}),
        zoom.ZOOM.key: map_zoom({"engagement_id": "e", "start_time": "2024-05-09T06:22:14+00:00"}),
        talkdesk.TALKDESK.key: map_talkdesk({"interaction_id": "t", "start_time": "2022-06-30 16:42:24"}),
    }
    assert {key: row["vendor"] for key, row in rows.items()} == {key: key for key in rows}


# -- Voiso: seed 004 ----------------------------------------------------------------------------

def test_voiso_seed_records():
    rows = [map_voiso(raw) for raw in VOISO_SEED]

    assert rows[0] == {
        "vendor": "voiso",
        "call_id": "5d73e973-4103-48ac-84ad-4861155f86db",
        "channel": "voice",
        "direction": "outbound",
        # timestamp 12:43:09.000-03:00 is the END of the interaction; it lasted 00:01:19.
        "started_at": "2024-07-31T15:41:50.000000+00:00",
        "ended_at": "2024-07-31T15:43:09.000000+00:00",
        "duration_seconds": 79,  # "00:01:19"
        "talk_seconds": None,
        "wait_seconds": None,
        "hold_seconds": None,
        "outcome": "answered",
        "vendor_outcome": "answered",
        "agent_id": "56215",
        "agent_name": "Mike A",
        "queue": None,
        "team": None,
        # Outbound: the customer is "to", the business "from"; without a region, numbers
        # without a + are kept as given.
        "customer_number": "31208112500",
        "business_number": "15557571011",
        "disposition": "0101",
        "recording_url": None,
        "cost": 0.3972,
        "currency": "USD",
    }
    assert rows[1] == {
        "vendor": "voiso",
        "call_id": "c61c6ebb-d216-4caa-927a-461c8c8cc705",
        "channel": "voice",
        "direction": "outbound",  # click_to_call: the agent calls the customer
        "started_at": "2024-07-31T14:14:00.000000+00:00",  # 30 s before its end
        "ended_at": "2024-07-31T14:14:30.000000+00:00",
        "duration_seconds": 30,
        "talk_seconds": None,
        "wait_seconds": None,
        "hold_seconds": None,
        "outcome": "answered",
        "vendor_outcome": "answered",
        "agent_id": "52715",
        "agent_name": "Chandra Agarwal",
        "queue": None,
        "team": None,
        "customer_number": "155555554236",
        "business_number": "155535189249",
        "disposition": "1007",
        "recording_url": None,
        "cost": 0.0032,
        "currency": "USD",
    }
    assert rows[2] == {
        "vendor": "voiso",
        "call_id": "7a221595-6dcd-483a-b37f-65e12317756d",
        "channel": "chat",
        "direction": None,  # a chat's type says no direction
        "started_at": "2024-07-24T09:15:40.407000+00:00",  # no duration: the end
        "ended_at": "2024-07-24T09:15:40.407000+00:00",
        "duration_seconds": 0,  # Voiso's own "00:00:00"
        "talk_seconds": None,
        "wait_seconds": None,
        "hold_seconds": None,
        "outcome": None,  # "archived" closes a chat: no call outcome
        "vendor_outcome": "archived",
        "agent_id": None,
        "agent_name": None,
        "queue": None,
        "team": None,
        "customer_number": None,  # "Guest" and "Olek's test" are names, and no direction
        "business_number": None,
        "disposition": None,
        "recording_url": None,
        "cost": 0.0,
        "currency": "USD",
    }
    for raw, row in zip(VOISO_SEED, rows, strict=True):
        assert_row(row, voiso_record(raw))
        assert row["ended_at"] == voiso_record(raw)["timestamp"]


def test_voiso_seed_numbers_with_a_region():
    us = map_voiso(VOISO_SEED[0], "US")
    nl = map_voiso(VOISO_SEED[0], "NL")

    # US: 1 + ten digits is a possible US number; 31208112500 is too long for one.
    assert (us["customer_number"], us["business_number"]) == ("31208112500", "+15557571011")
    # NL: 31 + nine digits is a Dutch number. But 15557571011 has a length Dutch numbers can
    # have, so it is read as one: a region applies to every number without a + (the README
    # says so; Voiso's numbers are international without the +, so its region stays unset).
    assert (nl["customer_number"], nl["business_number"]) == ("+31208112500", "+3115557571011")


# -- Tata Smartflo: seed 003 --------------------------------------------------------------------

def test_smartflo_seed_record():
    record = smartflo_record(SMARTFLO_SEED)
    row = smartflo_call(record, "IN")  # the setting's default

    assert row == {
        "vendor": "smartflo",
        "call_id": "663c6bc92b66f80b611f8f40",
        "channel": "voice",
        "direction": "inbound",
        "started_at": "2024-05-09T06:22:14.000000+00:00",  # 11:52:14 IST
        "ended_at": "2024-05-09T06:23:02.000000+00:00",  # end_stamp 11:53:02 IST
        "duration_seconds": 48,  # call_duration
        "talk_seconds": 31,  # answered_seconds
        "wait_seconds": 18,  # dialer_call_details.call_wait_time
        "hold_seconds": 0,  # total_hold_duration null; the one agent's hold_duration 0
        "outcome": "answered",
        "vendor_outcome": "answered",
        "agent_id": "05047530422",  # the call_flow's Agent step with dialst Answered
        "agent_name": "Parag Yadav",
        "queue": "AHMM",  # department_name null: the dialer's inbound_queue
        "team": None,
        "customer_number": "+919650134255",  # client_number 919650134255, region IN
        "business_number": "+918069651170",  # did_number
        "disposition": "Undisposed",
        "recording_url": "https://cloudphone.tatateleservices.com/file/recording?callId=1715235734.129662"
                         "&type=rec&token=d48061c8381229980fa3dbac677add32",
        "cost": 0,  # charges 0: Smartflo's own figure
        "currency": None,  # Smartflo does not say which currency
    }
    assert datetime.fromisoformat(row["started_at"]) == datetime.fromisoformat("2024-05-09T06:22:14+00:00")
    assert row["started_at"] == record["start_time"]
    assert_row(row, record)


def test_smartflo_seed_numbers_without_a_region_are_kept_as_given():
    row = map_smartflo(SMARTFLO_SEED, region=None)

    assert (row["customer_number"], row["business_number"]) == ("919650134255", "+918069651170")


# -- Zoom: seed 001 ------------------------------------------------------------------------------

#: The seed's two calls are a reference sample with placeholders ("<string>", "<long>"); these
#: fill every placeholder with a concrete value and keep each real value of the seed (direction,
#: legs, types, number types, result, calling party, charge type).
ZOOM_FILLED = [
    {
        "engagement_id": "2mHOm0BNQDWCsKuvSqzDqA",
        "caller_number": "+14155550100",
        "callee_number": "+442071838750",
        "start_time": "2024-05-09T06:22:14+00:00",
        "end_time": "2024-05-09T06:22:21+00:00",
        "total_duration": 7,
        "consumer_number": "+442071838750",
        "consumer_display_name": "Jane Doe",
        "queues": [{"queue_id": "q_sales_01", "queue_name": "Sales"},
                   {"queue_id": "q_support_02", "queue_name": "Support"}],
        "agents": [{"user_id": "kT3uWq8XRu2P1xg0aHbVbA", "display_name": "Ana Souza"},
                   {"user_id": "p0Lr7cYmQ8eKx1vT5sJd2w", "display_name": "Liu Wei"}],
        "flows": [{"flow_id": "f_main_ivr", "flow_name": "Main IVR"},
                  {"flow_id": "f_after_hours", "flow_name": "After hours"}],
        "country_name": "United Kingdom",
        "recorded": False,
        "monitored": False,
        "inbox": False,
        "caller_id": "+14155550100",
        "charge": "$0.019",
        "rates": ["$0.019/min", "$0.019/min"],
    },
    {
        "engagement_id": "Yq8F3cN2Tz2k7wJc1mV0bQ",
        "caller_number": "+919650134255",
        "callee_number": "+918069651170",
        "start_time": "2024-05-09T11:52:14+05:30",
        "end_time": "2024-05-09T11:53:02+05:30",
        "total_duration": 48,
        "consumer_number": "+919650134255",
        "consumer_display_name": "Parag",
        "queues": [{"queue_id": "q_support_02", "queue_name": "Support"},
                   {"queue_id": "q_billing_03", "queue_name": "Billing"}],
        "agents": [],  # the consumer hung up: no agent took the call
        "flows": [{"flow_id": "f_main_ivr", "flow_name": "Main IVR"},
                  {"flow_id": "f_after_hours", "flow_name": "After hours"}],
        "country_name": "India",
        "recorded": False,
        "monitored": True,
        "inbox": False,
        "caller_id": "+919650134255",
        "charge": "$0.048",
        "rates": ["$0.024/min", "$0.024/min"],
    },
]


def zoom_seed_calls():
    calls = []
    for seed, filled in zip(ZOOM_SEED, ZOOM_FILLED, strict=True):
        placeholders = {key for key, value in seed.items() if "<" in json.dumps(value)}
        assert set(filled) == placeholders  # every placeholder filled, nothing else changed
        calls.append({**seed, **filled})
    return calls


def test_zoom_seed_calls():
    seed_values = [{k: ZOOM_SEED[i][k] for k in ("direction", "types", "result", "calling_party")}
                   for i in range(2)]
    assert seed_values == [
        {"direction": "outbound", "types": ["internal_call", "internal_conference_call"],
         "result": "short_abandoned", "calling_party": "agent"},
        {"direction": "inbound", "types": ["internal_callback_call", "internal_conference_call"],
         "result": "hang_up_calls", "calling_party": "consumer"},
    ]
    rows = [map_zoom(call) for call in zoom_seed_calls()]

    assert rows[0] == {
        "vendor": "zoom",
        "call_id": "2mHOm0BNQDWCsKuvSqzDqA",
        "channel": "voice",
        "direction": "outbound",  # Zoom's direction; the "internal_*" types decide nothing
        "started_at": "2024-05-09T06:22:14.000000+00:00",
        "ended_at": "2024-05-09T06:22:21.000000+00:00",
        "duration_seconds": 7,
        "talk_seconds": None,
        "wait_seconds": None,
        "hold_seconds": None,
        "outcome": "abandoned",
        "vendor_outcome": "short_abandoned",
        "agent_id": "kT3uWq8XRu2P1xg0aHbVbA",  # the first of two agents
        "agent_name": "Ana Souza",
        "queue": "Sales",  # the first of two queues
        "team": None,
        "customer_number": "+442071838750",  # consumer_number
        "business_number": "+14155550100",  # outbound: the caller
        "disposition": None,
        "recording_url": None,
        "cost": 0.019,
        "currency": "USD",
    }
    assert rows[1] == {
        "vendor": "zoom",
        "call_id": "Yq8F3cN2Tz2k7wJc1mV0bQ",
        "channel": "voice",
        "direction": "inbound",
        "started_at": "2024-05-09T06:22:14.000000+00:00",  # 11:52:14+05:30
        "ended_at": "2024-05-09T06:23:02.000000+00:00",
        "duration_seconds": 48,
        "talk_seconds": None,
        "wait_seconds": None,
        "hold_seconds": None,
        "outcome": "abandoned",  # hang_up_calls: the consumer hung up
        "vendor_outcome": "hang_up_calls",
        "agent_id": None,
        "agent_name": None,
        "queue": "Support",
        "team": None,
        "customer_number": "+919650134255",
        "business_number": "+918069651170",  # inbound: the callee
        "disposition": None,
        "recording_url": None,
        "cost": 0.048,
        "currency": "USD",
    }
    for call, row in zip(zoom_seed_calls(), rows, strict=True):
        record = zoom_record(call)
        assert row["started_at"] == record["start_time"]
        assert_row(row, record)


# -- Talkdesk: seeds 000 and 002 -----------------------------------------------------------------

def test_talkdesk_seed_call_legacy_payload():
    record = talkdesk_record(TALKDESK_SEED["legacy"], NEW_YORK)
    row = talkdesk_call(record, None)

    assert row == {
        "vendor": "talkdesk",
        "call_id": "74458c259bc04bf1988697e3c5623ae2",
        "channel": "voice",
        "direction": "inbound",
        # 16:42:24 in the job's timezone, New York (EDT, UTC-4).
        "started_at": "2022-06-30T20:42:24.000000+00:00",
        "ended_at": "2022-06-30T20:42:38.000000+00:00",
        "duration_seconds": 14.0,  # end minus start
        "talk_seconds": 6.0,  # 0.000069444446 of a day
        "wait_seconds": 5.0,  # 0.00005787037 of a day
        "hold_seconds": 0.0,
        "outcome": "answered",  # call_type inbound: an answered inbound call
        "vendor_outcome": "inbound",
        "agent_id": None,
        "agent_name": "Alice Eve",
        "queue": None,
        "team": "Team 2",
        "customer_number": "+17753827775",
        "business_number": "+14704678413",
        "disposition": "Not Interested",
        "recording_url": "/recordings/cads13d23123asdfa413",
        "cost": None,
        "currency": None,
    }
    assert row["talk_seconds"] == 6 and row["wait_seconds"] == 5
    assert row["started_at"] == record["start_time"]
    assert_row(row, record)
    utc = map_talkdesk(TALKDESK_SEED["legacy"], ZoneInfo("UTC"))
    kolkata = map_talkdesk(TALKDESK_SEED["legacy"], ZoneInfo("Asia/Kolkata"))
    assert utc["started_at"] == "2022-06-30T16:42:24.000000+00:00"
    assert kolkata["started_at"] == "2022-06-30T11:12:24.000000+00:00"


def test_talkdesk_seed_call_2026_payload():
    record = talkdesk_record(TALKDESK_SEED["payload_2026"], NEW_YORK)
    row = talkdesk_call(record, None)

    assert row == {
        "vendor": "talkdesk",
        "call_id": "a0c2e9d3b1475f68c7d9a1b2c3d4e5f6",
        "channel": "voice",
        "direction": "outbound",
        "started_at": "2025-10-09T20:59:52.000000+00:00",
        "ended_at": "2025-10-09T21:00:01.000000+00:00",
        "duration_seconds": 9.0,
        "talk_seconds": 7.0,  # 8.1018516E-5 of a day
        "wait_seconds": None,  # null in the file: no figure, not zero
        "hold_seconds": 0.0,
        "outcome": "answered",  # call_type outbound: the customer answered
        "vendor_outcome": "outbound",
        "agent_id": None,
        "agent_name": "Alex Johnson",
        "queue": None,
        "team": "APAC_Support_Tier1",
        "customer_number": "+14085550101",
        "business_number": "+12125550100",
        "disposition": None,
        "recording_url": "https://data.fauxdesk.com/interactions/a0c2e9d3b1475f68c7d9a1b2c3d4e5f6"
                         "/recordings/0.mp3",
        "cost": None,
        "currency": None,
    }
    assert_row(row, record)


# -- Every direction and outcome value ----------------------------------------------------------

VOISO_CALL = {"uuid": "u-1", "timestamp": "2024-07-31T12:43:09.000-03:00", "from": "+15557571011",
              "to": "+31208112500"}


@pytest.mark.parametrize(("kind", "channel", "direction"), [
    ("inbound", "voice", "inbound"),
    ("outbound", "voice", "outbound"),
    ("dialer", "voice", "outbound"),
    ("click_to_call", "voice", "outbound"),
    ("click-to-call", "voice", "outbound"),  # the docs' spelling
    ("queue_callback", "voice", "outbound"),
    ("scheduled_callback", "voice", "outbound"),
    ("outbound SMS", "sms", "outbound"),  # the docs' spelling
    ("outbound_sms", "sms", "outbound"),
    ("whatsapp", "messaging", None),
    ("instagram", "messaging", None),
    ("facebook", "messaging", None),
    ("telegram", "messaging", None),
    ("viber", "messaging", None),
    ("chat", "chat", None),
    ("hlr_lookup", None, None),
    ("hlr_ookup", None, None),  # the docs' typo
    ("something_new", None, None),
    (None, None, None),
])
def test_voiso_types(kind, channel, direction):
    row = map_voiso({**VOISO_CALL, "type": kind})

    assert (row["channel"], row["direction"]) == (channel, direction)
    customer, business = {
        "inbound": ("+15557571011", "+31208112500"),  # the customer called: "from"
        "outbound": ("+31208112500", "+15557571011"),  # the customer was called: "to"
        None: (None, None),
    }[direction]
    assert (row["customer_number"], row["business_number"]) == (customer, business)


@pytest.mark.parametrize(("disposition", "outcome"), [
    ("answered", "answered"),
    ("Answered by VM", "voicemail"),
    ("answered_by_vm", "voicemail"),
    ("voicemail", "voicemail"),  # the sandbox's
    ("machine_answered", "voicemail"),
    ("Machine answered", "voicemail"),
    ("missed", "missed"),
    ("system_abandoned", "missed"),
    ("no_answer", "missed"),
    ("No answer", "missed"),
    ("busy", "missed"),
    ("rejected", "missed"),
    ("abandoned", "abandoned"),
    ("dialer_abandoned", "abandoned"),
    ("failed", "failed"),
    ("system_reject", "failed"),
    ("not_sent", "failed"),
    ("not_delivered", "failed"),
    ("route_unavailable", "failed"),
    ("sent", None),
    ("delivered", None),
    ("waiting", None),
    ("active", None),
    ("archived", None),
    ("initiated", None),
    ("available", None),
    ("absent", None),
    ("something_new", None),
    (None, None),
])
def test_voiso_dispositions(disposition, outcome):
    row = map_voiso({**VOISO_CALL, "type": "inbound", "disposition": disposition})

    assert (row["outcome"], row["vendor_outcome"]) == (outcome, disposition)


@pytest.mark.parametrize(("direction", "expected"), [
    ("inbound", "inbound"), ("outbound", "outbound"), ("Inbound", "inbound"), ("Outbound", "outbound"),
    ("internal", "internal"), (None, None), ("sideways", None),
])
def test_smartflo_directions(direction, expected):
    row = map_smartflo({**SMARTFLO_SEED, "direction": direction})

    assert row["direction"] == expected
    # Both numbers are named whatever the direction.
    assert (row["customer_number"], row["business_number"]) == ("+919650134255", "+918069651170")


@pytest.mark.parametrize(("status", "voicemail", "outcome"), [
    ("answered", False, "answered"),
    ("missed", False, "missed"),
    ("Missed", False, "missed"),
    ("missed", True, "voicemail"),
    ("answered", True, "voicemail"),
    (None, False, None),
    ("something_new", False, None),
    (None, None, None),
])
def test_smartflo_statuses(status, voicemail, outcome):
    row = map_smartflo({**SMARTFLO_SEED, "status": status, "voicemail_recording": voicemail})

    assert (row["outcome"], row["vendor_outcome"]) == (outcome, status)


@pytest.mark.parametrize(("total", "agents", "hold"), [
    (9, {"05047530422": {"hold_duration": 0, "hold_count": 0}}, 9),  # the total wins
    (None, {"a": {"hold_duration": 5}, "b": {"hold_duration": None}, "c": {"hold_duration": 7}}, 12),
    (None, {"a": {"hold_duration": None}, "b": None}, None),  # no agent's figure: no figure
    (None, {}, None),
    (None, None, None),
])
def test_smartflo_hold_seconds(total, agents, hold):
    dialer = {**SMARTFLO_SEED["dialer_call_details"], "total_hold_duration": total,
              "agents_call_details": agents}
    row = map_smartflo({**SMARTFLO_SEED, "dialer_call_details": dialer})

    assert row["hold_seconds"] == hold
    assert row["wait_seconds"] == 18


def test_smartflo_calls_without_dialer_details_have_no_wait_or_hold_figures():
    row = map_smartflo({**SMARTFLO_SEED, "dialer_call_details": None, "department_name": "support"})

    assert (row["wait_seconds"], row["hold_seconds"], row["disposition"]) == (None, None, None)
    assert (row["talk_seconds"], row["queue"]) == (31, "support")


ZOOM_CALL = {"engagement_id": "e-1", "start_time": "2024-05-09T06:22:14+00:00",
             "caller_number": "+14155550100", "callee_number": "+442071838750"}


@pytest.mark.parametrize(("direction", "consumer", "customer", "business"), [
    ("inbound", "+442071838750", "+442071838750", "+442071838750"),
    ("inbound", None, "+14155550100", "+442071838750"),  # no consumer_number: the caller
    ("outbound", "+442071838750", "+442071838750", "+14155550100"),
    ("outbound", None, "+442071838750", "+14155550100"),  # no consumer_number: the callee
    ("internal", None, None, None),
    (None, "+442071838750", "+442071838750", None),
])
def test_zoom_directions_and_numbers(direction, consumer, customer, business):
    row = map_zoom({**ZOOM_CALL, "direction": direction, "consumer_number": consumer})

    assert row["direction"] == direction
    assert (row["customer_number"], row["business_number"]) == (customer, business)


@pytest.mark.parametrize(("result", "inbox", "outcome"), [
    ("completed", False, "answered"),
    ("long_calls", False, "answered"),
    ("short_calls", False, "answered"),
    ("contained", False, "answered"),
    ("short_abandoned", False, "abandoned"),
    ("long_abandoned", False, "abandoned"),
    ("hold_abandoned", False, "abandoned"),
    ("hang_up_calls", False, "abandoned"),
    ("abandon_quit", False, "abandoned"),
    ("callback_abandoned_by_consumer", False, "abandoned"),
    ("missed", False, "missed"),
    ("declined", False, "missed"),
    ("overflowed_to_disconnect", False, "missed"),
    ("overflowed_to_inbox", True, "voicemail"),
    ("overflowed", False, None),
    ("overflowed", True, "voicemail"),
    ("auto_closed", False, None),
    ("answered", False, None),  # not a value Zoom documents
    ("something_new", None, None),
    (None, None, None),
])
def test_zoom_results(result, inbox, outcome):
    row = map_zoom({**ZOOM_CALL, "direction": "inbound", "result": result, "inbox": inbox})

    assert (row["outcome"], row["vendor_outcome"]) == (outcome, result)


@pytest.mark.parametrize(("charge", "amount", "currency"), [
    ("$0.019", 0.019, "USD"),
    ("€1.20", 1.2, "EUR"),
    ("USD 0.50", 0.5, "USD"),
    ("0.50 INR", 0.5, "INR"),
    ("0.019", 0.019, None),  # a bare number names no currency
    (None, None, None),
    ("free", None, None),  # no amount: neither
])
def test_zoom_charges(charge, amount, currency):
    row = map_zoom({**ZOOM_CALL, "charge": charge})

    assert (row["cost"], row["currency"]) == (amount, currency)
    assert charge_currency(charge) == currency


@pytest.mark.parametrize(("call_type", "direction", "outcome"), [
    ("inbound", "inbound", "answered"),
    ("outbound", "outbound", "answered"),
    ("missed", "inbound", "missed"),
    ("abandoned", "inbound", "abandoned"),
    ("short_abandoned", "inbound", "abandoned"),
    ("voicemail", "inbound", "voicemail"),
    ("outbound_missed", "outbound", "missed"),
    ("Outbound Missed", "outbound", "missed"),
    ("something_new", None, None),
    ("", None, None),
    (None, None, None),
])
def test_talkdesk_call_types(call_type, direction, outcome):
    row = map_talkdesk({**TALKDESK_SEED["legacy"], "call_type": call_type})

    assert (row["direction"], row["outcome"]) == (direction, outcome)
    assert row["vendor_outcome"] == (call_type or None)
    # Talkdesk names both sides whatever the call type.
    assert (row["customer_number"], row["business_number"]) == ("+17753827775", "+14704678413")


def test_talkdesk_empty_csv_cells_are_null_not_empty_text():
    cells = {key: "" for key in TALKDESK_SEED["legacy"]}
    row = map_talkdesk({**cells, "interaction_id": "74458c259bc04bf1988697e3c5623ae2",
                     "start_time": "2022-06-30 16:42:24"})

    assert {key: value for key, value in row.items() if value is not None} == {
        "vendor": "talkdesk", "call_id": "74458c259bc04bf1988697e3c5623ae2", "channel": "voice",
        "started_at": "2022-06-30T20:42:24.000000+00:00"}


# -- Only the required fields: nulls stay null, never 0 ---------------------------------------

def test_records_with_only_their_required_fields():
    only_required = {
        "voiso": (voiso_record({"uuid": "u-1", "timestamp": "2024-07-31T12:43:09.000-03:00"}), voiso_call,
                  "u-1", "2024-07-31T15:43:09.000000+00:00", None),
        "smartflo": (smartflo_record({"id": "s-1", "date": "2024-05-09", "time": "11:52:14"}), smartflo_call,
                     "s-1", "2024-05-09T06:22:14.000000+00:00", "voice"),
        "zoom": (zoom_record({"engagement_id": "z-1", "start_time": "2024-05-09T06:22:14+00:00"}), zoom_call,
                 "z-1", "2024-05-09T06:22:14.000000+00:00", "voice"),
        "talkdesk": (talkdesk_record({"interaction_id": "t-1", "start_time": "2022-06-30 16:42:24"},
                                     NEW_YORK),
                     talkdesk_call, "t-1", "2022-06-30T20:42:24.000000+00:00", "voice"),
    }
    for vendor, (record, mapping, call_id, started_at, channel) in only_required.items():
        for region in (None, "IN"):
            row = mapping(record, region)
            assert_row(row, record)
            expected = dict.fromkeys(FIELDS)
            expected.update(vendor=vendor, call_id=call_id, started_at=started_at, channel=channel)
            if vendor == "voiso":
                expected["ended_at"] = started_at  # Voiso's one timestamp is the end
            assert row == expected, vendor


# -- The sandbox's data sets ------------------------------------------------------------------

#: Vendor values whose outcome is null by design (no call outcome).
NO_OUTCOME = {"archived", "overflowed", "auto_closed"}


def sandbox_rows():
    voiso_api = VoisoAPI()
    for index in range(200):
        record = voiso_record(json.loads(voiso_api.record_json(index)))
        yield record, voiso_call(record, None)
    smartflo_api = SmartfloAPI()
    for index in range(200):
        record = smartflo_record(smartflo_api.record(index))
        yield record, smartflo_call(record, "IN")
    zoom_api = ZoomAPI()
    for index in range(200):
        record = zoom_record(zoom_api.record(index, 0, detail=index % 2 == 0))
        yield record, zoom_call(record, None)
    talkdesk_api = TalkdeskAPI()
    talkdesk_api.configure({"count": 200})
    job = Job(id="j", name="n", timezone="Asia/Kolkata", format="json", timespan={}, low_ms=0,
              high_ms=2**62, created=0, duration=0, fails=False)
    document = json.loads(b"".join(talkdesk_api.file_chunks(job)))
    for entry in document["entries"]:
        record = talkdesk_record(entry, ZoneInfo("Asia/Kolkata"))
        yield record, talkdesk_call(record, None)


def test_sandbox_records_map_to_valid_rows():
    seen = {"outcome": set(), "direction": set(), "channel": set()}
    count = 0
    for record, row in sandbox_rows():
        count += 1
        assert_row(row, record)
        assert row["outcome"] is not None or row["vendor_outcome"] in NO_OUTCOME, row
        if row["channel"] == "voice":
            assert row["direction"] in ("inbound", "outbound"), row
            assert row["customer_number"] and row["business_number"], row
        for column in seen:
            seen[column].add((row["vendor"], row[column]))
        if row["vendor"] in ("zoom", "talkdesk", "smartflo"):
            assert phonenumbers.is_possible_number(phonenumbers.parse(row["customer_number"]))
    assert count == 800
    assert {outcome for _, outcome in seen["outcome"]} == {*OUTCOMES, None}
    assert {channel for vendor, channel in seen["channel"] if vendor == "voiso"} == {"voice", "sms", "chat"}


# -- Phone numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize(("number", "region", "expected"), [
    ("+919650134255", None, "+919650134255"),  # E.164 already
    ("+919650134255", "US", "+919650134255"),
    ("919650134255", "IN", "+919650134255"),  # country code without the +
    ("09650134255", "IN", "+919650134255"),  # national, with the trunk 0
    ("096501 34255", "IN", "+919650134255"),
    ("(415) 555-0100", "US", "+14155550100"),
    ("+1 (415) 555-0100", None, "+14155550100"),  # a + is enough without a region
    ("0091 96501 34255", "IN", "+919650134255"),  # India's international prefix
    ("15557571011", "US", "+15557571011"),
    ("15557571011", None, "15557571011"),  # no +, no region: as given
    ("31208112500", "US", "31208112500"),  # a Dutch number is no US number
    ("1001", "US", "1001"),  # an extension
    ("1001", None, "1001"),
    ("Extension-06047530219", "IN", "Extension-06047530219"),  # not +916047530219
    ("sip:+14155550100@pbx.example.com", "US", "sip:+14155550100@pbx.example.com"),
    ("tel:+14155550100", None, "tel:+14155550100"),
    ("1-800-FLOWERS", "US", "1-800-FLOWERS"),  # letters are not read as a keypad
    ("Guest", "US", "Guest"),
    ("5550100", "US", "5550100"),  # local only: no area code, no E.164 form
    ("+0123456789", None, "+0123456789"),  # garbage
    ("++--", "US", "++--"),
    ("+1", None, "+1"),
    ("anonymous", None, "anonymous"),
    ("", "IN", None),
    (None, "IN", None),
    (919650134255, "IN", "+919650134255"),  # a number sent as a JSON number
])
def test_to_e164(number, region, expected):
    assert to_e164(number, region) == expected


def test_e164_and_region_less_numbers_are_returned_without_parsing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(phones.phonenumbers, "parse", refuse)
    phones._parsed.cache_clear()
    number = "+919650134255"

    assert to_e164(number, "IN") is number
    assert to_e164("15557571011", None) == "15557571011"
    assert phones._parsed.cache_info().currsize == 0


def test_parsed_numbers_are_cached():
    phones._parsed.cache_clear()
    for _ in range(3):
        assert to_e164("919650134255", "IN") == "+919650134255"
    info = phones._parsed.cache_info()

    assert (info.misses, info.hits, info.maxsize) == (1, 2, 1 << 16)


@pytest.mark.parametrize(("value", "message"), [
    ("IN", None),
    ("US", None),
    (None, None),
    ("in", "x.default_phone_region is 'in'; write it in upper case: 'IN'."),
    ("India", "x.default_phone_region is 'India'; it must be a two-letter region code known to "
              "phonenumbers, in upper case, such as IN, US or GB (ISO 3166-1 alpha-2), or be left out to "
              "keep numbers without a country code as given."),
    ("XX", "x.default_phone_region is 'XX'; it must be a two-letter region code"),
    ("", "x.default_phone_region is ''; it must be a two-letter region code"),
    (91, "x.default_phone_region is 91; it must be a two-letter region code"),
])
def test_check_region(value, message):
    result = check_region("x.default_phone_region", value)

    if message is None:
        assert result is None
    else:
        assert result is not None and result.startswith(message)


@pytest.mark.parametrize("vendor", [voiso.VOISO, smartflo.SMARTFLO, zoom.ZOOM, talkdesk.TALKDESK],
                         ids=lambda vendor: vendor.key)
def test_default_phone_region_setting(vendor):
    prop = vendor.settings.to_dict()["properties"]["default_phone_region"]
    bad = vendor.validate({"default_phone_region": "Mars"})

    assert prop["type"] == ["string", "null"]
    assert "ISO 3166-1 two-letter region" in prop["description"]
    assert prop.get("default") == ("IN" if vendor.key == "smartflo" else None)
    expected = f"{vendor.key}.default_phone_region is 'Mars'; it must be a two-letter region code"
    assert any(message.startswith(expected) for message in bad), bad
    for good in ({"default_phone_region": "GB"}, {}):
        assert not any("default_phone_region" in message for message in vendor.validate(good))
    assert set(phonenumbers.SUPPORTED_REGIONS) >= {"IN", "US", "GB", "NL"}


@pytest.mark.parametrize(("moment", "seconds"), [
    ("2024-07-31T15:43:09.000000+00:00", 79),  # within the hour
    ("2024-07-31T15:00:05.250000+00:00", 6),  # into the hour before
    ("2024-03-01T00:00:00.000000+00:00", 1),  # the leap day
    ("2025-01-01T00:00:00.123456+00:00", 86_401),  # the year before
    ("1970-01-01T00:00:10.000000+00:00", 11),  # before the epoch
    ("2024-07-31T15:43:09.000000+00:00", -3600),  # a negative duration adds
    ("2024-07-03T12:41:50-03:00", 10),  # not the tap's form: the offset kept
    ("2024-07-03T12:41:50+00:00", 10),  # no fraction
    ("2024-07-31T15:43:09.000000+00:00", 2.5),  # not whole seconds
])
def test_seconds_before_is_datetime_arithmetic(moment, seconds):
    assert seconds_before(moment, seconds) == (
        datetime.fromisoformat(moment) - timedelta(seconds=seconds)).isoformat(timespec="microseconds")
