"""Tata Smartflo records: the raw record of ``/v1/call/records`` -> the ``smartflo_call_records`` record.

The schema says the shape (:mod:`~tap_callrecords.core.records`); this declares what it
cannot say:

- **Time.** Records carry their start as ``date`` + ``time`` in India time (UTC+05:30,
  no daylight saving); the replication key ``start_time`` is that instant in UTC (or,
  without them, ``call_id``'s epoch), and ``end_time`` the same of ``end_stamp``.
- **Integers** are durations written as numbers as often as ``hh:mm:ss`` text, at every
  depth; ``"N.A."`` is null.
- ``notes`` sent as plain text is kept as ``{"text": ...}``; ``sip_agent_ids`` sent as one
  id is a list of one; an empty ``dialer_call_details`` (``{}``) is null; ``account_id``
  is the older name of ``accountid``. Nested steps and dialer details keep the keys they
  vary by (the schema leaves them open).
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

from tap_callrecords.core.convert import UTC, as_seconds, as_text, utc_times
from tap_callrecords.core.records import RecordConversion, load_schema
from tap_callrecords.vendors.smartflo import schemas

if t.TYPE_CHECKING:
    from collections.abc import Mapping

SCHEMA = load_schema(schemas, "smartflo_call_records.json")
#: India Standard Time: Smartflo's ``date``, ``time``, ``end_stamp`` and date filters.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
INDIA_TIMES = utc_times(IST)


def start_time(raw: Mapping[str, t.Any]) -> str | None:
    """UTC start from ``date`` + ``time`` (India time), else from ``call_id``'s epoch."""
    day, clock = raw.get("date"), raw.get("time")
    if type(day) is str and type(clock) is str:
        start = INDIA_TIMES.read(f"{day}T{clock}")
        if start:
            return start
    try:
        epoch = int(str(raw.get("call_id")).split(".", 1)[0])
    except ValueError:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def end_time(raw: Mapping[str, t.Any]) -> str | None:
    """UTC end from ``end_stamp`` (``YYYY-MM-DD hh:mm:ss``, India time)."""
    stamp = raw.get("end_stamp")
    if type(stamp) is not str or len(stamp) < 19:
        return None
    return INDIA_TIMES.read(f"{stamp[:10]}T{stamp[11:]}")


def note(value: t.Any) -> t.Any:
    """A note sent as plain text, as ``{"text": ...}``; an empty one is null."""
    if value is None or value == "":
        return None
    return value if isinstance(value, dict) else {"text": as_text(value)}


def agent_ids(value: t.Any) -> t.Any:
    """One SIP agent id or several, as a list; an empty one is null."""
    if value is None or value == "":
        return None
    return value if isinstance(value, list) else [value]


def dialer_details(value: t.Any) -> t.Any:
    """``{}`` (a call the dialer did not place) is null."""
    return value or None


#: Schema-typed record: UTC ``start_time``/``end_time``, durations in seconds.
smartflo_record = RecordConversion(
    SCHEMA,
    readers={"notes": note, "sip_agent_ids": agent_ids, "dialer_call_details": dialer_details},
    integer=as_seconds,
    computed={"start_time": start_time, "end_time": end_time},
    renames={"account_id": "accountid"},
)
