"""Zoom voice calls: the raw call of ``/contact_center/voice_calls`` -> the ``zoom_voice_calls`` record.

The JSON schema is the one description of the shape: the struct that types the usual
call in one C call and the lenient conversion for irregular ones are derived from it
(:mod:`~tap_callrecords.core.shape`).
"""

from __future__ import annotations

import functools
import json
import re
import typing as t
from importlib import resources

import msgspec

from tap_callrecords.core.convert import as_text, iso_to_utc_iso
from tap_callrecords.core.shape import lenient_record, struct_from_schema, unknown_keys
from tap_callrecords.vendors.zoom import schemas

if t.TYPE_CHECKING:
    from collections.abc import Mapping

SCHEMA: dict[str, t.Any] = json.loads((resources.files(schemas) / "zoom_voice_calls.json").read_text())
KNOWN_KEYS = frozenset(SCHEMA["properties"])
VoiceCall = struct_from_schema("VoiceCall", SCHEMA, required=("engagement_id",))
_lenient = lenient_record(SCHEMA)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_UTC_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")


def utc_time(value: str | None) -> str | None:
    """Zoom's time (any offset) in the tap's UTC form; the usual ``+00:00`` reply without parsing."""
    if value is not None and len(value) == 25 and _UTC_SECONDS.fullmatch(value):
        return value[:19] + ".000000+00:00"
    return iso_to_utc_iso(value)


@functools.lru_cache(maxsize=4096)
def _charge_text_amount(value: str) -> float | None:
    match = _NUMBER.search(value.replace(",", ""))
    return float(match.group()) if match else None


def charge_amount(value: t.Any) -> float | None:
    """``"$0.019"`` -> ``0.019``; numbers pass through; anything unreadable is ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return _charge_text_amount(value) if isinstance(value, str) else None


def _details(value: list[dict[str, t.Any]] | None) -> list[dict[str, t.Any]] | None:
    """Detail-view entries as given, their ``start_time``/``end_time`` in UTC."""
    if value is None:
        return None
    entries = []
    for item in value:
        entry = dict(item)
        for key in ("start_time", "end_time"):
            if isinstance(entry.get(key), str):
                entry[key] = iso_to_utc_iso(entry[key])
        entries.append(entry)
    return entries


def zoom_record(raw: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Schema-typed record: UTC times, integer seconds, ``charge`` also as a number.

    The usual call is checked and typed by ``msgspec`` in one C call (numbers and
    booleans sent as text are coerced); one it rejects (say a number where text is
    expected) goes through the lenient field-by-field conversion instead.
    """
    try:
        typed: dict[str, t.Any] = msgspec.to_builtins(msgspec.convert(raw, VoiceCall, strict=False))
    except msgspec.ValidationError:
        typed = _lenient(raw)  # a call without an engagement_id keeps it null: the stream rejects it
        typed["charge"] = as_text(raw.get("charge"))
    typed["start_time"] = utc_time(typed["start_time"])
    typed["end_time"] = utc_time(typed["end_time"])
    typed["charge_amount"] = charge_amount(raw.get("charge"))
    typed["voice_call_details"] = _details(typed["voice_call_details"])
    typed["extra"] = unknown_keys(raw, KNOWN_KEYS)
    return typed
