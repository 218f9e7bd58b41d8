"""Value conversions shared by the vendor streams.

Every timestamp the tap emits goes through :func:`to_utc_iso` or :class:`UtcTimes`, so
replication keys and bookmarks share one fixed-width UTC form and compare correctly as
strings (the SDK compares bookmarks as strings).
"""

from __future__ import annotations

import functools
import math
import re
import typing as t
from datetime import datetime, timezone, tzinfo

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

UTC = timezone.utc
#: Distinct texts a :class:`Lookup` remembers before it starts over, so memory stays bounded.
CACHE_LIMIT = 1 << 17
DIGITS = "0123456789"


def to_utc_iso(value: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso_datetime(value: str, default_tz: tzinfo = UTC) -> datetime:
    """Parse an ISO 8601 date or date-time; a value without an offset is in ``default_tz``.

    Accepts a trailing ``Z`` and a space instead of ``T`` (Python 3.10's
    ``fromisoformat`` accepts neither).
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)


class Lookup(dict[t.Any, t.Any]):
    """Value -> converted value, computed once per distinct text (vendors repeat their
    flags, durations and minutes endlessly); other values are converted each time
    (``1`` and ``True`` are equal keys, so only text is remembered).

    A hit is one C-level dict lookup, without a Python call. ``convert`` must accept any
    hashable value; whatever it raises for a value it cannot read becomes ``None``. When
    full, the lookup starts over: a sync moves forward in time, and the minutes and texts
    of its start do not return.
    """

    def __init__(self, convert: Callable[[t.Any], t.Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, value: t.Any) -> t.Any:
        try:
            result = self.convert(value)
        except (ValueError, TypeError, ArithmeticError):
            result = None
        if type(value) is str:
            if len(self) >= CACHE_LIMIT:
                self.clear()
            self[value] = result
        return result

    def read(self, value: t.Any) -> t.Any:
        """Any value, unhashable ones (a list where a number belongs) included."""
        try:
            return self[value]
        except TypeError:
            return self.__missing__(value)


#: What may follow ``YYYY-MM-DD?HH:MM:SS`` in a time on the fast path.
_FRACTION_AND_OFFSET = re.compile(r"(?:\.(\d{1,6}))?([Zz]|[+-]\d\d:\d\d)?")


def _fraction_and_offset(tail: str) -> tuple[str, str] | None:
    """``".25-03:00"`` -> ``("250000", "-03:00")``; ``"Z"`` -> ``("000000", "+00:00")``;
    ``""`` -> ``("000000", "")``; ``None`` for anything else."""
    match = _FRACTION_AND_OFFSET.fullmatch(tail)
    if match is None:
        return None
    fraction, offset = match.groups()
    return (fraction or "").ljust(6, "0"), "+00:00" if offset in ("Z", "z") else offset or ""


class UtcTimes:
    """ISO 8601 date-times (any offset; those without one are in ``zone``) in the tap's UTC form.

    The usual forms, ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS`` with an optional
    fraction and ``Z`` or ``±HH:MM``, take a fast path: offsets (a zone's included)
    change on whole minutes, so the UTC minute of a local minute and offset is computed
    once and the seconds are appended. An ambiguous local time (the hour repeated when
    DST ends) is read as its first occurrence, a nonexistent one (the hour skipped when
    DST starts) with the offset in force before the change (zoneinfo's ``fold=0``).
    """

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._tails = Lookup(_fraction_and_offset)
        self._minutes = Lookup(self._utc_minute)

    def _utc_minute(self, minute_and_offset: str) -> str | None:
        try:
            moment = datetime.fromisoformat(f"{minute_and_offset[:16]}:00{minute_and_offset[16:]}")
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC).isoformat()[:16]

    def _general(self, value: str) -> str:
        return to_utc_iso(parse_iso_datetime(value, self.zone))

    def many(self, values: Iterable[t.Any], *, strict: bool = False) -> list[str | None]:
        """The UTC form of each value (``None``: empty or unreadable), in one call: a
        record's times together cost less than a Python call each. ``strict``: a value
        that is present and cannot be read raises instead."""
        tails, minutes = self._tails, self._minutes
        converted: list[str | None] = []
        append = converted.append
        for value in values:
            if not value:
                append(None)
                continue
            if type(value) is not str:
                if strict:
                    raise TypeError(f"a time must be text, not {type(value).__name__}")
                append(None)
                continue
            if len(value) >= 19 and value[16] == ":" and value[17] in "012345" and value[18] in DIGITS:
                tail = tails[value[19:]]
                if tail is not None:
                    minute = minutes[value[:16] + tail[1]]
                    if minute is not None:
                        append(f"{minute}{value[16:19]}.{tail[0]}+00:00")
                        continue
            try:
                append(self._general(value))
            except (ValueError, OverflowError):
                if strict:
                    raise
                append(None)
        return converted

    def read(self, value: t.Any) -> str | None:
        """The UTC form of ``value``; ``None`` if it is empty or cannot be read."""
        return self.many((value,))[0]

    def strict(self, value: t.Any) -> str | None:
        """As :meth:`read`, but a value that is present and cannot be read raises."""
        return self.many((value,), strict=True)[0]


@functools.lru_cache(maxsize=32)
def utc_times(zone: tzinfo) -> UtcTimes:
    """The times of ``zone`` (shared, so its caches serve every conversion in that zone)."""
    return UtcTimes(zone)


# Lenient coercions for values a vendor sends loosely typed ("123" for a number, "Yes"
# for a boolean). A value that cannot be read becomes None rather than failing the sync.

_BOOLEAN_TEXT = {"yes": True, "true": True, "1": True, "y": True,
                 "no": False, "false": False, "0": False, "n": False}


def as_text(value: t.Any) -> str | None:
    """Strings and ``None`` as they are; anything else as its string form."""
    return value if value is None or type(value) is str else str(value)


def as_int(value: t.Any) -> int | None:
    """Whole numbers, including ``"12"`` and ``12.0``; unreadable values are ``None``."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool) or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return round(float(value))
        except (TypeError, ValueError, OverflowError):
            return None
    except OverflowError:  # an infinite float
        return None


def as_number(value: t.Any) -> float | int | None:
    """Finite numbers, including numeric strings; unreadable values (and NaN) are ``None``."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_bool(value: t.Any) -> bool | None:
    """Booleans, including ``"Yes"``/``"No"``, ``"TRUE"``/``"false"`` (any case) and ``1``/``0``."""
    if value is None or type(value) is bool:
        return value
    return _BOOLEAN_TEXT.get(str(value).strip().lower())


def as_seconds(value: t.Any) -> int | None:
    """Whole seconds from a number, numeric text or ``hh:mm:ss`` text (hours may exceed 24,
    ``mm:ss`` is accepted); unreadable values (``"N.A."``) are ``None``."""
    if value is None or type(value) is int:
        return value
    if type(value) is float:
        return round(value) if math.isfinite(value) else None
    if type(value) is not str:
        return None
    text = value.strip()
    if ":" not in text:
        return as_int(text)
    seconds = 0
    try:
        for part in text.split(":"):
            seconds = seconds * 60 + int(part)
    except ValueError:
        return None
    return seconds
