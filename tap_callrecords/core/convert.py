"""Value conversions shared by the vendor streams.

Every timestamp the tap emits goes through :func:`to_utc_iso`, so replication keys and
bookmarks share one fixed-width UTC form and compare correctly as strings (the SDK
compares bookmarks as strings).
"""

from __future__ import annotations

import functools
import typing as t
from datetime import datetime, timezone

UTC = timezone.utc


def to_utc_iso(value: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso_datetime(value: str, default_tz: timezone = UTC) -> datetime:
    """Parse an ISO 8601 date or date-time; a value without an offset is in ``default_tz``.

    Accepts a trailing ``Z`` and a space instead of ``T`` (Python 3.10's
    ``fromisoformat`` accepts neither).
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)


def iso_to_utc_iso(value: str | None) -> str | None:
    """Normalise an ISO 8601 timestamp with any offset to the tap's UTC form."""
    if not value:
        return None
    try:  # the common case, with an explicit offset, in one C call chain
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = parse_iso_datetime(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


@functools.lru_cache(maxsize=100_000)
def _hms_text_to_seconds(value: str) -> int | None:
    seconds = 0
    try:
        for part in value.split(":"):
            seconds = seconds * 60 + int(part)
    except ValueError:
        return None
    return seconds


def hms_to_seconds(value: str | int | None) -> int | None:
    """Convert ``hh:mm:ss`` (hours may exceed 24) to whole seconds; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    # Durations repeat a lot and are bounded (one value per second of a day), so a
    # cache turns most conversions into one lookup without growing with the sync.
    return _hms_text_to_seconds(value)


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


def as_number(value: t.Any) -> float | int | None:
    """Numbers, including numeric strings; unreadable values are ``None``."""
    if value is None or type(value) in (int, float):
        return value
    if isinstance(value, bool) or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_bool(value: t.Any) -> bool | None:
    """Booleans, including ``"Yes"``/``"No"``, ``"true"``/``"false"`` and ``1``/``0``."""
    if value is None or type(value) is bool:
        return value
    return _BOOLEAN_TEXT.get(str(value).strip().lower())
