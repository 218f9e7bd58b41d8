"""A spool: one output's items kept on disk until its stream's own sync writes them.

The SDK syncs streams one after another; when one read feeds several streams, every
stream but the first one synced gets its items here (see :mod:`~tap_callrecords.core.reader`).
Items are stored as JSON lines in an unnamed temporary file (it vanishes with the
process, whatever stops it), with the windows' ends and extraction times in memory, so
memory stays bounded whatever the run's size.
"""

from __future__ import annotations

import tempfile
import typing as t

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from types import TracebackType

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder()


class Spool:
    """Items of one output, window by window, written once and replayed once.

    ``plain``: replayed as :class:`msgspec.Raw` JSON (the stream encodes them as they
    are); otherwise decoded back into dicts for the SDK's record path.
    """

    flush_threshold = 1 << 20

    def __init__(self, *, plain: bool) -> None:
        self.plain = plain
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the replay, or with the process)
        self._pending = bytearray()
        #: Per window: its number of items, its end (``None``: a window left incomplete
        #: by a failure), when its records were extracted.
        self._windows: list[tuple[int, datetime | None, str]] = []
        self._in_window = 0
        #: Items written in all.
        self.records = 0

    def write(self, item: t.Any) -> msgspec.Raw:
        """Keep one item; its JSON, for another output to embed without encoding it again."""
        encoded = _ENCODER.encode(item)
        pending = self._pending
        pending += encoded
        pending += b"\n"
        self._in_window += 1
        if len(pending) >= self.flush_threshold:
            self._file.write(pending)
            pending.clear()
        return msgspec.Raw(encoded)

    def end_window(self, end: datetime | None, extracted: str) -> None:
        """The items written since the last call complete the window ending at ``end``
        (``None``: they are all a failed read got of its last window)."""
        self._windows.append((self._in_window, end, extracted))
        self.records += self._in_window
        self._in_window = 0

    def windows(self) -> Iterator[tuple[Iterator[t.Any], datetime | None, str]]:
        """Each window's items (consume them before the next window), its end and its
        extraction time."""
        file = self._file
        file.write(self._pending)
        self._pending.clear()
        file.flush()
        file.seek(0)
        for count, end, extracted in self._windows:
            yield self._items(count), end, extracted

    def _items(self, count: int) -> Iterator[t.Any]:
        readline = self._file.readline
        if self.plain:
            for _ in range(count):
                yield msgspec.Raw(readline()[:-1])
        else:
            decode = _DECODER.decode
            for _ in range(count):
                yield decode(readline())

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._file.close()
