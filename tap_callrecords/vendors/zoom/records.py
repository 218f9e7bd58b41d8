"""Zoom voice calls: the raw call of ``/contact_center/voice_calls`` -> the ``zoom_voice_calls`` record.

The schema says the shape (:mod:`~tap_callrecords.core.records`); Zoom's charge is also
read as a number.
"""

from __future__ import annotations

import functools
import re
import typing as t

from tap_callrecords.core.records import RecordConversion, load_schema
from tap_callrecords.vendors.zoom import schemas

if t.TYPE_CHECKING:
    from collections.abc import Mapping

SCHEMA = load_schema(schemas, "zoom_voice_calls.json")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


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


def _charge_amount_of(raw: Mapping[str, t.Any]) -> float | None:
    return charge_amount(raw.get("charge"))


#: Schema-typed record: UTC times, integer seconds, ``charge`` also as a number.
zoom_record = RecordConversion(SCHEMA, computed={"charge_amount": _charge_amount_of})
