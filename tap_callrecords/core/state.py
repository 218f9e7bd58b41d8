"""Bookmarks: always a UTC ISO 8601 string, and never moved backwards.

A stream's bookmark means "every record with a replication key before this instant has
been emitted". It advances only to the end of a window whose records have all been
written, so a run killed at any moment resumes from its last STATE without a gap.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from datetime import datetime

from tap_callrecords.core.convert import parse_iso_datetime, to_utc_iso

BOOKMARK_KEY = "replication_key_value"


def peek_state(tap_state: Mapping[str, t.Any], stream: str, context: Mapping[str, t.Any] | None
               ) -> Mapping[str, t.Any]:
    """A stream's (or one partition's) state in the tap's state, without creating it: the
    SDK's ``get_context_state`` adds an empty entry, which a STATE message would then carry
    for a stream that has not synced yet."""
    entry = tap_state.get("bookmarks", {}).get(stream, {})
    if context is None:
        return entry
    wanted = dict(context)
    partitions = entry.get("partitions", [])
    return next((partition for partition in partitions if partition.get("context") == wanted), {})


def read_bookmark(stream_state: Mapping[str, object], replication_key: str) -> datetime | None:
    """The stored bookmark for this replication key, or ``None`` if there is none."""
    value = stream_state.get(BOOKMARK_KEY)
    if not value or stream_state.get("replication_key") != replication_key:
        return None
    return parse_iso_datetime(str(value))


def advance_bookmark(stream_state: dict, replication_key: str, moment: datetime) -> bool:
    """Move the bookmark forward to ``moment``; return whether it changed."""
    new_value = to_utc_iso(moment)
    current = read_bookmark(stream_state, replication_key)
    if current is not None and to_utc_iso(current) >= new_value:
        return False
    stream_state["replication_key"] = replication_key
    stream_state[BOOKMARK_KEY] = new_value
    return True
