"""Talkdesk ``explore_calls`` rows -> typed ``talkdesk_calls`` records (pure functions, no HTTP).

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
import math
import typing as t

from tap_callrecords.core.convert import as_seconds
from tap_callrecords.core.records import EXTRA, RecordConversion, load_schema
from tap_callrecords.vendors.talkdesk import schemas

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import tzinfo

SCHEMA = load_schema(schemas, "talkdesk_calls.json")
#: The fields Talkdesk sends as a fraction of a day (or, in the 2026 payload, seconds).
DAY_FRACTION_FIELDS = ("talk_time", "waiting_time", "agent_speed_to_answer", "holding_time")
SECONDS_PER_DAY = 86_400
DURATION_UNITS = ("auto", "day_fraction", "seconds")
#: ``in_business_hours?`` -> ``in_business_hours``, for every field.
QUESTION_MARK_KEYS = {f"{name}?": name for name in SCHEMA["properties"] if name != EXTRA}


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


#: Every key a row may carry, by its normalised form (see :func:`column_key`).
KNOWN_KEYS = {key.lower(): key for key in (*SCHEMA["properties"], *QUESTION_MARK_KEYS) if key != EXTRA}


def column_key(header: str) -> str:
    """The JSON key a CSV header names: itself, or the key it spells as a display name or
    in another case (``Interaction ID`` -> ``interaction_id``); an unknown one as it is."""
    if header in KNOWN_KEYS.values():
        return header
    normal = "_".join(header.strip().lower().replace("-", " ").split())
    return KNOWN_KEYS.get(normal, header)


@functools.lru_cache(maxsize=32)
def records_for(zone: tzinfo, duration_unit: str = "auto") -> RecordConversion:
    """The conversion of rows of jobs in ``zone`` (shared, so its caches serve every job in it)."""
    return RecordConversion(
        SCHEMA,
        readers=dict.fromkeys(DAY_FRACTION_FIELDS, duration_converter(duration_unit)),
        renames=QUESTION_MARK_KEYS,
        zone=zone,
    )


def talkdesk_record(raw: Mapping[str, t.Any], zone: tzinfo, duration_unit: str = "auto") -> dict[str, t.Any]:
    """One Talkdesk row as a ``talkdesk_calls`` record; times in ``raw`` are in ``zone``."""
    return records_for(zone, duration_unit)(raw)
