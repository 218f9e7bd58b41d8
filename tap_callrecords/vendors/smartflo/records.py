"""Tata Smartflo records: the raw record of ``/v1/call/records`` -> the ``smartflo_call_records`` record.

**Time.** Records carry their start as ``date`` + ``time`` in India time (UTC+05:30,
no daylight saving); the replication key ``start_time`` is that instant in UTC, and
``end_time`` the same of ``end_stamp``.

The JSON schema is the one description of the shape: the string fields and the type
tables of the nested objects are read from it.
"""

from __future__ import annotations

import functools
import json
import typing as t
from datetime import datetime, timedelta, timezone
from importlib import resources

from tap_callrecords.core.convert import UTC, as_bool, as_int, as_number, as_text, hms_to_seconds
from tap_callrecords.core.shape import scalar_kinds, schema_types, unknown_keys
from tap_callrecords.vendors.smartflo import schemas

if t.TYPE_CHECKING:
    from collections.abc import Mapping

SCHEMA: dict[str, t.Any] = json.loads(
    (resources.files(schemas) / "smartflo_call_records.json").read_text()
)
#: India Standard Time: Smartflo's ``date``, ``time``, ``end_stamp`` and date filters.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
@functools.lru_cache(maxsize=65_536)
def _utc_minute(day: str, hour_minute: str) -> str | None:
    """``YYYY-MM-DDTHH:MM`` in UTC of a minute in India time (cached: minutes repeat)."""
    try:
        moment = datetime.fromisoformat(f"{day}T{hour_minute}").replace(tzinfo=IST)
    except ValueError:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def ist_to_utc_iso(day: t.Any, clock: t.Any) -> str | None:
    """A date (``YYYY-MM-DD``) and time (``hh:mm:ss``) in India time, as the tap's UTC form."""
    if type(day) is not str or type(clock) is not str:
        return None
    if len(clock) == 8 and clock[5] == ":" and clock[6] in "012345" and clock[7].isdigit():
        prefix = _utc_minute(day, clock[:5])
        return f"{prefix}:{clock[6:]}.000000+00:00" if prefix else None
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=IST)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _start_time(record: Mapping[str, t.Any]) -> str | None:
    """UTC start from ``date`` + ``time`` (India time), else from ``call_id``'s epoch."""
    start = ist_to_utc_iso(record.get("date"), record.get("time"))
    if start:
        return start
    try:
        epoch = int(str(record.get("call_id")).split(".", 1)[0])
    except ValueError:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def _end_time(end_stamp: t.Any) -> str | None:
    """UTC end from ``end_stamp`` (``YYYY-MM-DD hh:mm:ss``, India time)."""
    if type(end_stamp) is not str or len(end_stamp) < 19:
        return None
    return ist_to_utc_iso(end_stamp[:10], end_stamp[11:])


@functools.lru_cache(maxsize=4096)
def _text_seconds(value: str) -> int | None:
    text = value.strip()
    if ":" in text:
        return hms_to_seconds(text)
    return as_int(text)


def _seconds(value: t.Any) -> int | None:
    """Whole seconds from a number, a numeric string or ``hh:mm:ss``; ``"N.A."`` is null."""
    if value is None or type(value) is int:
        return value
    if type(value) is float:
        return round(value)
    return _text_seconds(value) if type(value) is str else None


# Nested objects are conformed in place (they are freshly decoded and ours): each known
# key whose value is not of its schema type is converted; unknown keys are kept as sent,
# since Smartflo's steps and dialer details vary with the call. The tables come from the
# schema; integers are read with ``_seconds``, since Smartflo writes durations as
# ``hh:mm:ss`` text as often as numbers.
Kinds = dict[str, tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]]]
_PROPERTIES = SCHEMA["properties"]
_DIALER = _PROPERTIES["dialer_call_details"]["properties"]
STEP_KINDS: Kinds = scalar_kinds(_PROPERTIES["call_flow"]["items"]["properties"], integer=_seconds)
DIALER_KINDS: Kinds = scalar_kinds(_DIALER, integer=_seconds)
HOLD_KINDS: Kinds = scalar_kinds(
    _DIALER["agents_call_details"]["additionalProperties"]["properties"], integer=_seconds
)


def _conform(obj: dict, kinds: Kinds) -> dict:
    for key, value in obj.items():
        kind = kinds.get(key)
        if kind is not None and value is not None and type(value) not in kind[0]:
            obj[key] = kind[1](value)
    return obj


def _step(raw: t.Any) -> dict | None:
    return _conform(raw, STEP_KINDS) if type(raw) is dict else None


def _steps(raw: t.Any) -> list[dict] | None:
    if type(raw) is not list:
        return None
    return [_conform(step, STEP_KINDS) for step in raw if type(step) is dict]


def _queue_details(raw: t.Any) -> list[dict] | None:
    if type(raw) is not list:
        return None
    details = [detail for detail in raw if type(detail) is dict]
    for detail in details:
        detail["queue_details"] = _step(detail.get("queue_details"))
        detail["missed_by"] = _steps(detail.get("missed_by"))
        detail["answered_by"] = _step(detail.get("answered_by"))
    return details


def _contact(raw: t.Any) -> dict | None:
    """The contact's integer ``id`` and its ``field_N`` values as strings."""
    if type(raw) is not dict:
        return None
    for key, value in raw.items():
        if key == "id":
            raw[key] = as_int(value)
        elif value is not None and type(value) is not str:
            raw[key] = str(value)
    return raw


def _notes(raw: t.Any) -> dict | None:
    if raw is None or raw == "":
        return None
    return raw if type(raw) is dict else {"text": as_text(raw)}


def _sip_agent_ids(raw: t.Any) -> list[str] | None:
    if raw is None or raw == "":
        return None
    values = raw if type(raw) is list else [raw]
    return [str(value) for value in values if value is not None]


def _dialer(raw: t.Any) -> dict | None:
    """``dialer_call_details``: known keys typed, others kept as sent; ``{}`` is null."""
    if type(raw) is not dict or not raw:
        return None
    _conform(raw, DIALER_KINDS)
    for key in ("dialer_queue_details", "dialer_queue_transfer_details"):
        if key in raw:
            raw[key] = _queue_details(raw[key])
    agents = raw.get("agents_call_details")
    if agents is not None:
        raw["agents_call_details"] = (
            {str(agent): _conform(details, HOLD_KINDS) if type(details) is dict else None
             for agent, details in agents.items()}
            if type(agents) is dict
            else None
        )
    return raw


#: Derived fields and fields read under two names, converted one by one.
CONVERTED_TEXT = frozenset(("id", "start_time", "end_time", "accountid"))
#: Top-level fields typed as strings in the schema and sent as strings.
STRING_FIELDS = tuple(
    name for name, prop in _PROPERTIES.items()
    if schema_types(prop)[0] == "string" and name not in CONVERTED_TEXT
)
KNOWN_KEYS = frozenset(_PROPERTIES) | {"account_id"}
STRING_TYPES = frozenset((str, type(None)))


def smartflo_record(record: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Schema-typed record: UTC ``start_time``/``end_time``, durations in seconds."""
    get = record.get
    # Most fields are strings that arrive as strings: check them all at C speed first.
    texts = list(map(get, STRING_FIELDS))
    if not set(map(type, texts)) <= STRING_TYPES:
        texts = list(map(as_text, texts))
    converted = dict(zip(STRING_FIELDS, texts, strict=True))
    converted.update(
        id=as_text(record["id"]),
        start_time=_start_time(record),
        end_time=_end_time(get("end_stamp")),
        accountid=as_text(get("accountid", get("account_id"))),
        call_duration=_seconds(get("call_duration")),
        answered_seconds=_seconds(get("answered_seconds")),
        minutes_consumed=as_int(get("minutes_consumed")),
        charges=as_number(get("charges")),
        agent_ring_time=_seconds(get("agent_ring_time")),
        notes=_notes(get("notes")),
        contact_details=_contact(get("contact_details")),
        missed_agents=_steps(get("missed_agents")),
        call_flow=_steps(get("call_flow")),
        circle={"operator": as_text(circle.get("operator")), "circle": as_text(circle.get("circle"))}
        if type(circle := get("circle")) is dict
        else None,
        agent_hangup_data=_steps(get("agent_hangup_data")),
        transfer_missed_agent=_steps(get("transfer_missed_agent")),
        support_api_call=as_bool(get("support_api_call")),
        is_incoming_from_broadcast=as_bool(get("is_incoming_from_broadcast")),
        sip_agent_ids=_sip_agent_ids(get("sip_agent_ids")),
        dialer_call_details=_dialer(get("dialer_call_details")),
        voicemail_recording=as_bool(get("voicemail_recording")),
        extra=unknown_keys(record, KNOWN_KEYS),
    )
    return converted
