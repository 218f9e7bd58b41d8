"""A direct RECORD writer for the common case, bypassing the SDK's per-record pipeline.

When a stream has no stream maps, no flattening, every property selected and records
already typed to its schema, the SDK's per-record steps (deselection walk, conformance,
identity map, message object) change nothing, and they cost more than everything else
the tap does. Then records are encoded straight to stdout in large writes (stdout may
be unbuffered, e.g. under ``PYTHONUNBUFFERED``); the stream flushes them before every
STATE message, so a STATE line is never written before the records it covers. Any
other configuration goes through the SDK pipeline unchanged.
"""

from __future__ import annotations

import sys
import typing as t

import msgspec
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

if t.TYPE_CHECKING:
    from singer_sdk import Stream

_ENCODER = msgspec.json.Encoder(decimal_format="number")


class DirectRecordWriter:
    """Writes ``RECORD`` messages for one stream as JSON lines."""

    flush_threshold = 256 * 1024

    def __init__(self, stream_name: str, output: t.BinaryIO) -> None:
        self._stream_name = stream_name
        self._output = output
        self._pending = bytearray()

    @classmethod
    def for_stream(cls, stream: Stream) -> DirectRecordWriter | None:
        """A writer if the SDK pipeline would leave this stream's records as they are."""
        maps = stream.stream_maps
        output = getattr(sys.stdout, "buffer", None)
        plain = (
            output is not None
            and stream.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream.name
            and not maps[0].flattening_enabled
            and all(stream.mask.values())
        )
        return cls(stream.name, t.cast("t.BinaryIO", output)) if plain else None

    def write(self, record: dict, time_extracted: str) -> None:
        """Encode and buffer one RECORD message."""
        message = {
            "type": "RECORD",
            "stream": self._stream_name,
            "record": record,
            "time_extracted": time_extracted,
        }
        pending = self._pending
        _ENCODER.encode_into(message, pending, -1)
        pending.extend(b"\n")
        if len(pending) >= self.flush_threshold:
            self.flush()

    def flush(self) -> None:
        """Write out buffered records."""
        if self._pending:
            self._output.write(self._pending)
            self._output.flush()
            self._pending.clear()
