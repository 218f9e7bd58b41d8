"""The record path: the SDK's own record loop, with the direct RECORD writer.

When a stream has no stream maps, no flattening, every property selected and records
already typed to its schema, the SDK's per-record message steps (deselection walk,
conformance, identity map, message object) change nothing, and they cost more than
everything else the tap does. Then the records the SDK's loop hands to
``_write_record_message`` are encoded straight to stdout in large writes (stdout may be
unbuffered, e.g. under ``PYTHONUNBUFFERED``); they are flushed before every STATE
message, so a STATE line is never written before the records it covers. Any other
configuration (and BATCH) takes the SDK's message path unchanged.

This module is the one to check on an SDK upgrade: :class:`RecordLoopStream` holds every
override of a private ``Stream`` method in the tap, each with its reason.
"""

from __future__ import annotations

import sys
import typing as t
from datetime import datetime

import msgspec
from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from typing_extensions import override

from tap_callrecords.core.convert import UTC, to_utc_iso
from tap_callrecords.core.errors import OUTPUT_CLOSED, OutputClosed
from tap_callrecords.core.flatten import flattenable

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

_ENCODER = msgspec.json.Encoder(decimal_format="number")


class DirectRecordWriter:
    """Writes ``RECORD`` messages for one stream as JSON lines."""

    flush_threshold = 256 * 1024

    def __init__(self, stream_name: str, output: t.BinaryIO) -> None:
        self._output = output
        self._pending = bytearray()
        # The message around each record, encoded once (not a dict per record):
        # ``{"type":"RECORD","stream":…,"record":`` record ``,"time_extracted":…}``.
        self._prefix = b'{"type":"RECORD","stream":' + _ENCODER.encode(stream_name) + b',"record":'
        self._extracted: str | None = None
        self._suffix = b""

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

    def write(self, record: t.Any, time_extracted: str) -> None:
        """Encode and buffer one RECORD message (``record``: a dict, a struct, or JSON
        already encoded as :class:`msgspec.Raw`)."""
        if time_extracted is not self._extracted:
            self._extracted = time_extracted
            self._suffix = b',"time_extracted":' + _ENCODER.encode(time_extracted) + b"}\n"
        pending = self._pending
        pending += self._prefix
        _ENCODER.encode_into(record, pending, -1)
        pending += self._suffix
        if len(pending) >= self.flush_threshold:
            self.flush()

    def flush(self) -> None:
        """Write out buffered records."""
        if self._pending:
            try:
                self._output.write(self._pending)
                self._output.flush()
            except BrokenPipeError:
                raise OutputClosed(OUTPUT_CLOSED) from None
            self._pending.clear()


class RecordLoopStream(Stream):
    """A stream whose records go through the SDK's own record loop, bookmarks moved by
    explicit checkpoints at window ends, RECORD messages by the direct writer when it
    changes nothing.

    The private SDK methods overridden here, each for the reason in its docstring, are
    the only ones the tap overrides on a stream: ``_write_record_message``,
    ``_write_state_message``, ``_increment_stream_state`` and ``_abort_sync``.
    """

    # Records leave the vendors' conversions already typed to the schema (tests check
    # every emitted record against it), so the SDK's recursive conformance is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    _direct_writer: DirectRecordWriter | None = None
    _writer_chosen = False
    _extracted_at: str = ""
    #: The depth the SDK flattens records to (0: not at all), read once the maps are set up.
    _flatten_to: int | None = None

    def mark_extracted(self, at: str | None = None) -> str:
        """Records written from now on were extracted ``at`` (default: now); their
        ``time_extracted``."""
        self._extracted_at = at or to_utc_iso(datetime.now(UTC))
        return self._extracted_at

    def checkpoint(self) -> None:
        """A STATE message now, after every record written so far.

        In BATCH mode the SDK writes STATE after each BATCH message instead: a STATE
        written now would claim records whose batch file the target has not been told of.
        """
        if self.get_batch_config(self.config):
            return
        self.state_manager.is_flushed = False
        self._write_state_message()

    def record_writer(self) -> DirectRecordWriter | None:
        """This stream's direct writer, if its records may bypass the SDK's message path;
        chosen once, when the catalog is known, and kept for the run."""
        if not self._writer_chosen:
            self._writer_chosen = True
            plain = not self.child_streams and not self.get_batch_config(self.config)
            self._direct_writer = DirectRecordWriter.for_stream(self) if plain else None
        return self._direct_writer

    def writes_directly(self) -> bool:
        """Whether records are written as they are (so they may be structs or raw JSON)."""
        return self.record_writer() is not None

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """With ``flattening_enabled``, the record as the SDK's flattening keeps valid
        (:func:`~tap_callrecords.core.flatten.flattenable`); else as it is."""
        flatten_to = self._flatten_to
        if flatten_to is None:
            primary = self.stream_maps[0]
            options = primary.flattening_options
            flatten_to = self._flatten_to = (
                options.max_level if options is not None and primary.flattening_enabled else 0)
        return flattenable(row, self.schema, flatten_to) if flatten_to else row

    @override
    def generate_child_contexts(self, record: dict, context: Context | None) -> Iterable[Context | None]:
        """No child streams, no child contexts: the SDK's default builds one per record and
        runs the stream map's filter on it."""
        if self.child_streams:
            return super().generate_child_contexts(record, context)
        return ()

    @override
    def _write_record_message(self, record: dict) -> None:
        """The direct writer when it changes nothing; most of the tap's speed."""
        writer = self._direct_writer if self._writer_chosen else self.record_writer()
        if writer is None:
            super()._write_record_message(record)
        else:
            writer.write(record, self._extracted_at)

    def flush_output(self) -> None:
        """Write out the records the direct writer holds (before a STATE, or an error)."""
        if self._direct_writer is not None:
            self._direct_writer.flush()

    @override
    def _write_state_message(self) -> None:
        """Records buffered by the direct writer always precede the STATE that covers them."""
        self.flush_output()
        super()._write_state_message()

    @override
    def _abort_sync(self, abort_reason: Exception) -> None:
        """An aborted run (record limit, SIGTERM) always ends with its last bookmark."""
        self.state_manager.is_flushed = False
        super()._abort_sync(abort_reason)

    @override
    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """Bookmarks move by :meth:`checkpoint`, never per record.

        The SDK's per-record progress markers are not resumable for unsorted streams and
        can move a bookmark backwards; checkpoints after complete windows give both
        guarantees instead.
        """
