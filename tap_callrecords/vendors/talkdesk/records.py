"""Talkdesk Explore report rows -> typed records (pure functions, no HTTP): calls and every other report.

The schema says the shape (:mod:`~tap_callrecords.core.records`: booleans from
``"TRUE"``/``"Yes"``, numbers from text, ``""`` kept in text fields since a CSV cannot
tell it from null, unknown keys in ``extra``); this declares what it cannot say:

- **Times** are written ``2022-06-30 16:42:24`` in the job's timezone without an offset:
  the conversion is built per timezone (:func:`records_for`) and emits UTC. Values with
  an offset or ``Z`` are read as such.
- **Durations** (:data:`DAY_FRACTION_FIELDS`) are seconds, rounded to milliseconds, from
  a fraction of a day or from seconds. ``duration_unit="auto"`` (the default) tells the
  two documented styles apart by size: a value below 1 is a fraction of a day (a call
  under 24 hours; the old payload), 1 or more is already seconds (the 2026 payload may
  send integer seconds, as the sibling Calls report does). Zero is zero either way. The
  cost: a call of 24 hours or more sent as a day fraction would be read as seconds, and
  a sub-second duration sent as seconds as a fraction; neither occurs in either style.
  ``"day_fraction"`` or ``"seconds"`` fixes the unit. Text with colons is ``h:mm:ss``,
  as the Explore UI writes durations (``0:00:06``), whatever the unit.
- **CSV headers** may be the Explore UI's display names (``Interaction ID``, ``In
  Business Hours?``) or another case: :func:`column_key` maps a header to the JSON key
  it names.
- **Keys** may end in ``?`` (``in_business_hours?``): they name the field without it.
"""

from __future__ import annotations

import functools
import hashlib
import math
import typing as t

import msgspec

from tap_callrecords.core.convert import as_seconds
from tap_callrecords.core.records import EXTRA, RecordConversion, load_schema
from tap_callrecords.vendors.talkdesk import schemas

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import tzinfo

SCHEMA = load_schema(schemas, "talkdesk_calls.json")
_KEY_ENCODER = msgspec.json.Encoder()
#: The fields Talkdesk sends as a fraction of a day (or, in the 2026 payload, seconds).
DAY_FRACTION_FIELDS = ("talk_time", "waiting_time", "agent_speed_to_answer", "holding_time")
SECONDS_PER_DAY = 86_400
DURATION_UNITS = ("auto", "day_fraction", "seconds")


def duration_converter(unit: str) -> Callable[[t.Any], float | None]:
    """Seconds (float, millisecond precision) from a day fraction or seconds, per ``unit``."""
    if unit not in DURATION_UNITS:
        raise ValueError(f"duration_unit must be one of {', '.join(DURATION_UNITS)}, not {unit!r}")

    def convert(value: t.Any) -> float | None:
        if value is None or value == "" or isinstance(value, bool):
            return None
        if isinstance(value, str) and ":" in value:  # h:mm:ss, as the Explore UI shows it
            seconds = as_seconds(value)
            return None if seconds is None or seconds < 0 else float(seconds)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number) or number < 0:
            return None
        if unit == "day_fraction" or (unit == "auto" and number < 1):
            number *= SECONDS_PER_DAY
        return round(number, 3)

    return convert


class ColumnKeys:
    """The JSON key a CSV header names, for one report's schema."""

    def __init__(self, schema: Mapping[str, t.Any]) -> None:
        names = [name for name in schema["properties"] if name != EXTRA]
        #: Every key a row may carry (``?`` keys too), by its normalised form.
        self.known = {key.lower(): key for key in (*names, *(f"{name}?" for name in names))}
        self._exact = frozenset(self.known.values())

    def __call__(self, header: str) -> str:
        """Itself, or the key it spells as a display name or in another case
        (``Interaction ID`` -> ``interaction_id``); an unknown one as it is."""
        if header in self._exact:
            return header
        normal = "_".join(header.strip().lower().replace("-", " ").split())
        return self.known.get(normal, header)


#: The Calls report's CSV headers.
column_key = ColumnKeys(SCHEMA)


def question_mark_keys(schema: Mapping[str, t.Any]) -> dict[str, str]:
    """``in_business_hours?`` -> ``in_business_hours``, for every field of ``schema``."""
    return {f"{name}?": name for name in schema["properties"] if name != EXTRA}


@functools.lru_cache(maxsize=32)
def records_for(zone: tzinfo, duration_unit: str = "auto") -> RecordConversion:
    """The conversion of rows of jobs in ``zone`` (shared, so its caches serve every job in it)."""
    return report_conversion(SCHEMA, DAY_FRACTION_FIELDS, zone, duration_unit)


def report_conversion(schema: Mapping[str, t.Any], day_fraction_fields: tuple[str, ...], zone: tzinfo,
                      duration_unit: str = "auto", renames: Mapping[str, str] | None = None,
                      ) -> RecordConversion:
    """A report's rows -> typed records: the same rules for every Explore report (see the
    module doc); ``day_fraction_fields``: the durations sent as a fraction of a day;
    ``renames``: Talkdesk's key -> the field, where the two differ."""
    return RecordConversion(
        dict(schema),
        readers=dict.fromkeys(day_fraction_fields, duration_converter(duration_unit)),
        renames={**question_mark_keys(schema), **(renames or {})},
        zone=zone,
    )


class DerivedKey:
    """A conversion that adds a primary key derived from identifying fields, for a report
    whose rows have no ID of their own: SHA-1 (hex) of the typed values (times in the
    tap's UTC form, so a CSV and a JSON file of the same row give the same key) as the
    JSON list ``[value, ...]``."""

    def __init__(self, convert: Callable[[Mapping[str, t.Any]], dict[str, t.Any]], key: str,
                 columns: tuple[str, ...]) -> None:
        self.convert = convert
        self.key = key
        self.columns = columns

    def __call__(self, raw: Mapping[str, t.Any]) -> dict[str, t.Any]:
        record = self.convert(raw)
        identity = _KEY_ENCODER.encode([record.get(column) for column in self.columns])
        record[self.key] = hashlib.sha1(identity, usedforsecurity=False).hexdigest()
        return record


def talkdesk_record(raw: Mapping[str, t.Any], zone: tzinfo, duration_unit: str = "auto") -> dict[str, t.Any]:
    """One Talkdesk row as a ``talkdesk_calls`` record; times in ``raw`` are in ``zone``."""
    return records_for(zone, duration_unit)(raw)
