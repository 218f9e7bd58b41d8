"""The record loop and the direct RECORD writer: every override of a private SDK method.

When a stream has no stream maps, no flattening, every property selected and records
already typed to its schema, the SDK's per-record steps (deselection walk, conformance,
identity map, message object) change nothing, and they cost more than everything else
the tap does. Then records are encoded straight to stdout in large writes (stdout may
be unbuffered, e.g. under ``PYTHONUNBUFFERED``); they are flushed before every STATE
message, so a STATE line is never written before the records it covers. Any other
configuration goes through the SDK's own loop unchanged.

This module is the one to check on an SDK upgrade: :class:`RecordLoopStream` is the
only place that overrides private ``Stream`` methods (``_sync_records``,
``_write_state_message``, ``_abort_sync``, ``_increment_stream_state``) or calls them
from outside the SDK's own sync (``_write_schema_message`` and ``_write_record_message``,
for a stream written while another one reads: :meth:`RecordLoopStream.open_output`).
"""

from __future__ import annotations

import sys
import typing as t
from datetime import datetime

import msgspec
from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_callrecords.core.convert import UTC, to_utc_iso
from tap_callrecords.core.errors import OUTPUT_CLOSED, OutputClosed

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

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
        #: A record encoded ahead of its own message (:meth:`encoded`), and its JSON.
        self._ahead: tuple[dict | None, msgspec.Raw] = (None, msgspec.Raw(b""))

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

    def encoded(self, record: dict) -> msgspec.Raw:
        """The record's JSON, for another stream's message to embed (a derived row's copy
        of its source record); the record's own message, written next, reuses it, so a
        record is encoded once whatever embeds it."""
        encoded = msgspec.Raw(_ENCODER.encode(record))
        self._ahead = (record, encoded)
        return encoded

    def write(self, record: t.Any, time_extracted: str) -> None:
        """Encode and buffer one RECORD message (``record``: a dict, or a struct)."""
        ahead, encoded = self._ahead
        if time_extracted is not self._extracted:
            self._extracted = time_extracted
            self._suffix = b',"time_extracted":' + _ENCODER.encode(time_extracted) + b"}\n"
        pending = self._pending
        pending += self._prefix
        _ENCODER.encode_into(encoded if ahead is record else record, pending, -1)
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
    """A stream whose bookmarks move by explicit checkpoints, written by the fastest safe path.

    Subclasses call :meth:`checkpoint` after changing their state and
    :meth:`mark_extracted` when they fetch; they never touch the SDK's private methods.
    """

    # Records leave the vendors' conversions already typed to the schema (tests check
    # every emitted record against it), so the SDK's recursive conformance is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    _direct_writer: DirectRecordWriter | None = None
    _writer_chosen = False
    _schema_written = False
    _extracted_at: str = ""

    def mark_extracted(self) -> None:
        """Records yielded from now on were extracted now (their ``time_extracted``)."""
        self._extracted_at = to_utc_iso(datetime.now(UTC))

    def prepare_sync(self, context: Context | None) -> None:
        """Hook: checks made before the SDK reads the context's state (a bookmark it
        cannot parse would otherwise end in the SDK's traceback)."""

    def checkpoint(self) -> None:
        """Write a STATE message now, after every record written so far."""
        self.state_manager.is_flushed = False
        self._write_state_message()

    def record_writer(self) -> DirectRecordWriter | None:
        """This stream's direct writer, if its records may bypass the SDK's loop; chosen
        once, when the catalog is known, and kept for the run."""
        if not self._writer_chosen:
            self._writer_chosen = True
            self._direct_writer = None if self.child_streams else DirectRecordWriter.for_stream(self)
        return self._direct_writer

    def open_output(self) -> Callable[[t.Any, str], None]:
        """Write this stream's records while another stream is syncing (a stream derived
        from that one's read): its SCHEMA first, once, then a function writing one record
        (``record, time_extracted``) by the direct writer when possible, else through the
        SDK's record path (stream maps, selection). Buffered records leave by
        :meth:`flush_output`."""
        if not self._schema_written:
            self._write_schema_message()
            self._schema_written = True
        writer = self.record_writer()
        if writer is not None:
            return writer.write
        write_message = self._write_record_message

        def write(record: t.Any, _time_extracted: str) -> None:
            write_message(record)

        return write

    def flush_output(self) -> None:
        """Write out records buffered by the direct writer."""
        if self._direct_writer is not None:
            self._direct_writer.flush()

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict, t.Any, t.Any]:
        """The SDK's record loop, minus its per-record steps when they would change nothing.

        With no stream maps, flattening, deselected properties or child streams (see
        :class:`DirectRecordWriter`), records are written directly; this is most of the
        tap's speed. Any other configuration runs the SDK's own loop.
        """
        contexts: list[Context | None] = [context] if context is not None else []
        if context is None:
            contexts.extend(self.partitions or [{}])
        for current in contexts:
            self.prepare_sync(current or None)
        writer = self.record_writer() if write_messages else None
        if writer is None:
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        record_counter = self.get_record_counter()
        check_limit = self.ABORT_AT_RECORD_COUNT is not None
        index = 0
        try:
            with record_counter, self.get_sync_timer():
                for current in contexts:
                    current = current or None  # the SDK's loop also reads {} as no context
                    self._write_starting_replication_value(current)
                    for row in self.get_records(current):
                        if check_limit:
                            self._check_max_record_limit(current_record_index=index)
                        record = self.post_process(t.cast("dict", row), current)
                        if record is None:
                            continue
                        if current:
                            for key, value in current.items():
                                record.setdefault(key, value)
                        writer.write(record, self._extracted_at)
                        record_counter.increment()
                        index += 1
                        yield record
                    self._finalize_state(self.get_context_state(current))
        finally:
            writer.flush()
        if not context:
            self._finalize_state(self.stream_state)
        self._write_state_message()

    def _write_state_message(self) -> None:
        """Records buffered by the direct writer always precede the STATE that covers them."""
        self.flush_output()
        super()._write_state_message()

    def _abort_sync(self, abort_reason: Exception) -> None:
        """An aborted run (record limit, SIGTERM) always ends with its last bookmark."""
        self.state_manager.is_flushed = False
        super()._abort_sync(abort_reason)

    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """Bookmarks move by :meth:`checkpoint`, never per record.

        The SDK's per-record progress markers are not resumable for unsorted streams and
        can move a bookmark backwards; checkpoints after complete windows give both
        guarantees instead.
        """
