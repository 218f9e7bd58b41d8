"""Talkdesk ``explore_calls`` rows → typed ``talkdesk_calls`` records (pure functions, no HTTP).

A report file holds up to a million rows, so conversion is table-driven and cached:
the schema (``schemas/talkdesk_calls.json``) is the single description of the shape,
and the field lists below are derived from it at import time:

- ``format: date-time`` → timestamp: Talkdesk writes ``2022-06-30 16:42:24`` in the job's
  timezone without an offset; it becomes the tap's UTC form
  (``2022-06-30T20:42:24.000000+00:00``). Offsets change on whole minutes, so the UTC
  minute is computed once per distinct local minute and the seconds are appended.
  Values with an offset or ``Z`` are read as such. An ambiguous local time (the hour
  repeated when DST ends) is read as its first occurrence, a nonexistent one (the hour
  skipped when DST starts) with the offset in force before the change (zoneinfo's
  ``fold=0``): the file does not say which was meant.
- ``boolean`` → ``"TRUE"``/``"FALSE"``, ``"Yes"``/``"No"``, ``"true"``/``"false"`` (any case),
  ``1``/``0``, JSON booleans.
- ``number`` whose description says "fraction of a day" → duration in seconds, rounded
  to milliseconds. ``duration_unit="auto"`` (the default) tells the two documented
  styles apart by size: a value below 1 is a fraction of a day (a call under 24 hours;
  the old payload), 1 or more is already seconds (the 2026 payload may send integer
  seconds, as the sibling Calls report does). Zero is zero either way. The cost: a
  call of 24 hours or more sent as a day fraction would be read as seconds, and a
  sub-second duration sent as seconds as a fraction; neither occurs in either style.
  ``"day_fraction"`` or ``"seconds"`` fixes the unit.
- other ``integer``/``number`` → numbers, from numeric text too.
- ``string`` → text as sent (``""`` stays ``""``: a CSV cannot tell it from null).
- Keys with ``?`` (``in_business_hours?``) lose it; keys the schema does not name go
  into ``extra`` as sent, never dropped.

For every non-text field an empty CSV cell and anything unreadable become ``None``;
conversion never raises for a field other than the primary key.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import typing as t
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from importlib import resources

from tap_callrecords.core.convert import as_bool, as_int, as_number, as_text
from tap_callrecords.vendors.talkdesk import schemas

UTC = timezone.utc
SCHEMA: dict[str, t.Any] = json.loads((resources.files(schemas) / "talkdesk_calls.json").read_text())
KEY = "interaction_id"
EXTRA = "extra"
#: What a duration's schema description says; a plain number's does not.
DURATION_MARK = "fraction of a day"
SECONDS_PER_DAY = 86_400
#: Cached distinct texts per lookup table, so a long sync's memory stays bounded.
CACHE_LIMIT = 1 << 17
DIGITS = "0123456789"
DURATION_UNITS = ("auto", "day_fraction", "seconds")
Convert = Callable[[t.Any], t.Any]


def _kind(name: str, prop: Mapping[str, t.Any]) -> str:
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    if prop.get("format") == "date-time":
        return "timestamp"
    if "boolean" in types:
        return "boolean"
    if "integer" in types:
        return "integer"
    if "number" in types:
        return "duration" if DURATION_MARK in prop.get("description", "") else "number"
    if "string" in types:
        return "text"
    raise ValueError(f"talkdesk_calls.{name}: no conversion for type {types}")


#: Every schema field but ``extra``, by kind: timestamp, boolean, integer, duration, number, text.
FIELD_KINDS: dict[str, str] = {
    name: _kind(name, prop) for name, prop in SCHEMA["properties"].items() if name != EXTRA
}
FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name, k in FIELD_KINDS.items() if k == kind)
    for kind in ("timestamp", "boolean", "integer", "duration", "number", "text")
}


class Lookup(dict[t.Any, t.Any]):
    """Value → converted value, computed once per distinct text; other values are
    converted each time (``1`` and ``True`` are equal keys, so only text is cached).

    A hit is one C-level dict lookup, which is what makes ``map(lookup.__getitem__, ...)``
    cheap. ``cache=False`` keeps only the ``known`` values (for mostly-unique texts).
    """

    def __init__(self, convert: Convert, known: Mapping[t.Any, t.Any], *, cache: bool = True) -> None:
        super().__init__(known)
        self.convert = convert
        self.limit = CACHE_LIMIT if cache else 0

    def __missing__(self, value: t.Any) -> t.Any:
        result = self.convert(value)
        if type(value) is str and len(self) < self.limit:
            self[value] = result
        return result


def _finite(value: float | int | None) -> float | int | None:
    return value if value is None or math.isfinite(value) else None


def _number(value: t.Any) -> float | int | None:
    return _finite(as_number(value))


def _text(value: t.Any) -> str | None:
    return as_text(value)


def duration_converter(unit: str) -> Convert:
    """Seconds (float, millisecond precision) from a day fraction or seconds, per ``unit``."""
    if unit not in DURATION_UNITS:
        raise ValueError(f"duration_unit must be one of {', '.join(DURATION_UNITS)}, not {unit!r}")

    def convert(value: t.Any) -> float | None:
        if value is None or value == "" or isinstance(value, bool):
            return None
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


class Timestamps:
    """The tap's UTC form of Talkdesk times written in ``zone`` (or carrying an offset).

    ``YYYY-MM-DD HH:MM:SS`` (the file's form) and ``YYYY-MM-DDTHH:MM:SSZ`` take a fast
    path: the UTC minute comes from a per-minute cache and the seconds are appended.
    """

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._local_minutes = Lookup(self._utc_minute, {})
        self._utc_minutes = Lookup(self._checked_utc_minute, {})

    def _utc_minute(self, local_minute: str) -> str | None:
        try:
            moment = datetime.fromisoformat(local_minute)
        except ValueError:
            return None
        return moment.replace(tzinfo=self.zone).astimezone(UTC).isoformat()[:16]

    @staticmethod
    def _checked_utc_minute(minute: str) -> str | None:
        try:
            return datetime.fromisoformat(minute).isoformat()[:16]
        except ValueError:
            return None

    def general(self, value: t.Any) -> str | None:
        """Any ISO 8601 date-time (the slow path); ``None`` if unreadable."""
        if type(value) is not str:
            return None
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC).isoformat(timespec="microseconds")

    def one(self, value: t.Any) -> str | None:
        """One value."""
        return self.many((value,))[0]

    def many(self, values: Iterable[t.Any]) -> list[str | None]:
        """A row's times, converted in one call (a Python call per value costs more)."""
        local_minutes, utc_minutes = self._local_minutes, self._utc_minutes
        converted: list[str | None] = []
        append = converted.append
        for value in values:
            if not value:
                append(None)
            elif type(value) is str and len(value) == 19 and value[16] == ":" \
                    and value[17] in "012345" and value[18] in DIGITS:
                prefix = local_minutes[value[:16]]
                append(None if prefix is None else prefix + value[16:] + ".000000+00:00")
            elif type(value) is str and len(value) == 20 and value[19] in "Zz" and value[16] == ":" \
                    and value[17] in "012345" and value[18] in DIGITS:
                prefix = utc_minutes[value[:16]]
                append(None if prefix is None else prefix + value[16:19] + ".000000+00:00")
            else:
                append(self.general(value))
        return converted


TEXT_TYPES = frozenset({str, type(None)})
#: Distinct key sets remembered per converter (rows of one file share one or two).
MAX_LAYOUTS = 64
#: What a plan step says about a field: converted by ``tables[kind]``, or text, or time.
TEXT, TIMESTAMP = "text", "timestamp"


def _getter(items: Sequence[t.Any]) -> Callable[[t.Any], tuple[t.Any, ...]]:
    """``itemgetter`` that always returns a tuple (it returns a bare value for one item;
    asking twice for that item gives a pair, and ``zip`` with one name stops at one)."""
    return operator.itemgetter(*items) if len(items) > 1 else operator.itemgetter(items[0], items[0])


class Layout:
    """The conversion of rows with one set of keys, with C-level getters.

    Built once per key set (or CSV header). A row then costs a handful of C calls: the
    text fields with one ``itemgetter``; every table-converted field (booleans, numbers,
    durations) with one ``map(dict.__getitem__, tables, values)`` over :class:`Lookup`
    tables; the times in one Python call. ``by_position``: rows are sequences of cells
    in ``keys`` order; otherwise mappings with exactly these keys (a missing key raises
    ``KeyError``, which sends the row to the general path).
    """

    def __init__(self, keys: Sequence[str], records: TalkdeskRecords, *, by_position: bool) -> None:
        self.size = len(keys)
        self.template = records.template
        self.times = records.times.many
        names: dict[str, list[str]] = {TEXT: [], TIMESTAMP: [], "table": [], EXTRA: []}
        items: dict[str, list[t.Any]] = {group: [] for group in names}
        tables: list[Lookup] = []
        for position, key in enumerate(keys):
            step = records.plan.get(key)
            if step is None:
                group, name = EXTRA, key
            else:
                name, kind = step
                group = kind if kind in (TEXT, TIMESTAMP) else "table"
                if group == "table":
                    tables.append(records.tables[kind])
            names[group].append(name)
            items[group].append(position if by_position else key)
        self.groups = {group: (tuple(names[group]), _getter(items[group]))
                       for group in names if items[group]}
        self.tables = tuple(tables)
        #: Text values of a mapping may be numbers (JSON): checked; CSV cells are text.
        self.check_text = not by_position

    def __call__(self, row: t.Any) -> dict[str, t.Any] | None:
        """The record, or ``None`` when a text field holds a non-text value."""
        record = self.template.copy()
        groups = self.groups
        if TEXT in groups:
            names, get = groups[TEXT]
            texts = get(row)
            if self.check_text and not TEXT_TYPES.issuperset(map(type, texts)):
                return None
            record.update(zip(names, texts, strict=False))
        if "table" in groups:
            names, get = groups["table"]
            record.update(zip(names, map(dict.__getitem__, self.tables, get(row)), strict=False))
        if TIMESTAMP in groups:
            names, get = groups[TIMESTAMP]
            record.update(zip(names, self.times(get(row)), strict=False))
        if EXTRA in groups:
            names, get = groups[EXTRA]
            record[EXTRA] = dict(zip(names, get(row), strict=False))
        if not record[KEY]:
            raise ValueError(f"Talkdesk row without {KEY}")
        return record


class TalkdeskRecords:
    """Converts the rows of one report job: built once per job, with the job's timezone.

    ``converter(row)`` takes a row as a mapping (a CSV row as ``dict(zip(header, cells))``,
    all text; a JSON entry as decoded) and returns a record with every schema field.
    ``converter.for_header(header)`` converts CSV rows given as lists of cells, without
    the intermediate dict. Rows that share a key set (all of a file's, in practice) take
    a precomputed :class:`Layout`; any other row takes a general per-field path.
    """

    def __init__(self, zone: tzinfo, duration_unit: str = "auto") -> None:
        self.zone = zone
        self.duration_unit = duration_unit
        self.times = Timestamps(zone)
        nulls: dict[t.Any, t.Any] = {None: None, "": None}
        booleans: dict[t.Any, t.Any] = {**nulls, True: True, False: False, "TRUE": True, "FALSE": False,
                                        "Yes": True, "No": False, "true": True, "false": False}
        #: Conversions that accept any value, by kind.
        self.checked: dict[str, Convert] = {
            TIMESTAMP: self.times.one,
            "boolean": as_bool,
            "integer": as_int,
            "duration": duration_converter(duration_unit),
            "number": _number,
            TEXT: _text,
        }
        #: The same behind lookup tables: text seen once is converted once.
        self.tables: dict[str, Lookup] = {
            "boolean": Lookup(as_bool, booleans),
            "integer": Lookup(as_int, nulls),
            "duration": Lookup(self.checked["duration"], nulls),
            "number": Lookup(_number, nulls),
        }
        #: Raw key (with and without ``?``) → (field, kind).
        self.plan: dict[str, tuple[str, str]] = {}
        for name, kind in FIELD_KINDS.items():
            self.plan[name] = self.plan[f"{name}?"] = (name, kind)
        self.template: dict[str, t.Any] = dict.fromkeys(SCHEMA["properties"])
        self._layouts: dict[frozenset[str], Layout] = {}
        self._layout: Layout | None = None

    def for_header(self, header: Sequence[str]) -> Callable[[Sequence[str]], dict[str, t.Any]]:
        """A converter of CSV rows (lists of cells) under ``header``."""
        layout = Layout(header, self, by_position=True)
        size = len(header)

        def convert(cells: Sequence[str]) -> dict[str, t.Any]:
            if len(cells) == size:
                try:
                    record = layout(cells)
                except TypeError:
                    record = None
                if record is not None:
                    return record
            return self(dict(zip(header, cells, strict=False)))

        return convert

    def __call__(self, raw: Mapping[str, t.Any]) -> dict[str, t.Any]:
        layout = self._layout
        if layout is None or len(raw) != layout.size:
            layout = self._find_layout(raw)
        if layout is not None:
            try:
                record = layout(raw)
            except (KeyError, TypeError):  # another key set; an unhashable value
                record = None
            if record is not None:
                return record
            self._layout = None
        return self._convert_general(raw)

    def _find_layout(self, raw: Mapping[str, t.Any]) -> Layout | None:
        if len(raw) < 2:
            return None
        keys = frozenset(raw)
        layout = self._layouts.get(keys)
        if layout is None and len(self._layouts) < MAX_LAYOUTS:
            layout = self._layouts[keys] = Layout(tuple(raw), self, by_position=False)
        self._layout = layout
        return layout

    def _convert_general(self, raw: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Any row, one field at a time, each through a conversion that takes anything."""
        record = self.template.copy()
        extra: dict[str, t.Any] = {}
        for key, value in raw.items():
            step = self.plan.get(key)
            if step is None:
                extra[key] = value
                continue
            name, kind = step
            try:
                record[name] = self.checked[kind](value)
            except (TypeError, ValueError, OverflowError):
                record[name] = None
        record[EXTRA] = extra or None
        if not record[KEY]:
            raise ValueError(f"Talkdesk row without {KEY}: {sorted(raw)[:8]}")
        return record


@functools.lru_cache(maxsize=32)
def records_for(zone: tzinfo, duration_unit: str = "auto") -> TalkdeskRecords:
    """The converter for a job timezone (shared, so its caches serve every job in it)."""
    return TalkdeskRecords(zone, duration_unit)


def talkdesk_record(raw: Mapping[str, t.Any], zone: tzinfo, duration_unit: str = "auto") -> dict[str, t.Any]:
    """One Talkdesk row as a ``talkdesk_calls`` record; times in ``raw`` are in ``zone``."""
    return records_for(zone, duration_unit)(raw)
