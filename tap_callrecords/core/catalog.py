"""Streams as the catalog lists them: from the stream classes alone, with no settings.

What a stream's catalog entry says (name, keys, replication key, schema) is declared on
its class, so discovery needs no vendor's settings, client or credentials: it works
before anything is configured (a fresh Meltano plugin's ``meltano select --list``).
"""

from __future__ import annotations

import inspect
import typing as t

from singer_sdk import Stream
from singer_sdk.schema.source import StreamSchema

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context


def stream_schema(stream: type[Stream]) -> dict[str, t.Any]:
    """A stream class's JSON schema, without an instance (no config, no client)."""
    declared = inspect.getattr_static(stream, "schema")
    if isinstance(declared, StreamSchema):
        return dict(declared.get_stream_schema(t.cast("t.Any", stream), stream))
    return dict(declared)


class ListedStream(Stream):
    """``stream_class`` as discovery lists it: its name, keys, replication key, schema and
    whether it is selected by default, the same catalog entry as the stream a sync builds.
    It reads nothing."""

    def __init__(self, tap: Tap, stream_class: type[Stream]) -> None:
        declared: t.Any = stream_class
        super().__init__(tap, schema=stream_schema(stream_class), name=declared.name)
        self.primary_keys = declared.primary_keys
        self.replication_key = declared.replication_key
        self.selected_by_default = declared.selected_by_default

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """No records: a listed stream is only ever discovered, never synced."""
        return ()
