"""Small helpers the vendors' ``calls.py`` mappings share (per record: kept cheap)."""

from __future__ import annotations

import functools
import typing as t
from datetime import datetime

if t.TYPE_CHECKING:
    from collections.abc import Mapping

V = t.TypeVar("V")


@functools.lru_cache(maxsize=4096)
def vendor_key(value: str) -> str:
    """A vendor's word as a lookup key: ``"Answered by VM"`` -> ``"answered_by_vm"``,
    ``"click-to-call"`` -> ``"click_to_call"``, ``"outbound SMS"`` -> ``"outbound_sms"``."""
    return "_".join(value.lower().replace("-", " ").split())


def lookup(table: Mapping[str, V], value: t.Any, default: V) -> V:
    """``table``'s entry for a vendor's word: as sent first (one dict lookup, the usual
    case), then in any case and with spaces or hyphens for underscores; else ``default``."""
    if type(value) is not str:
        return default
    found = table.get(value)
    if found is not None:
        return found
    return table.get(vendor_key(value), default)


def text(value: t.Any) -> str | None:
    """An id as text (``56215`` -> ``"56215"``); ``None`` stays ``None``."""
    return value if value is None or type(value) is str else str(value)


def seconds_between(start: t.Any, end: t.Any) -> float | None:
    """Seconds from ``start`` to ``end`` (ISO 8601 with offsets, the tap's UTC form); ``None``
    if either is missing or unreadable, or ``end`` is before ``start``."""
    if type(start) is not str or type(end) is not str:
        return None
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):  # unreadable, or one naive and one aware
        return None
    return seconds if seconds >= 0 else None
