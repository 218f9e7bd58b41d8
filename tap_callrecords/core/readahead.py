"""Read-ahead: several windows fetched side by side, handed out in window order.

On a real vendor the pace of a backfill is set by its latency, not by the tap: one
window at a time waits a round trip per page. Windows do not depend on each other (a
page token does, on the page before it), so up to ``parallel`` windows are read at once,
each on a worker thread and each by the fetcher's own one-window read (its pages in
order, its restarts, its checks); the rate cap every request waits on is the client's,
shared by all of them.

The reader still sees one window after another, in order: the first window's records
are handed out as they arrive; a later window fills a :class:`_WindowBuffer` until the
windows before it are consumed. A bookmark therefore only ever moves over a window whose
predecessors are complete, and a run stopped at any moment resumes without a loss.

Memory stays bounded: a buffer keeps a few records in memory and spills the rest, as
JSON lines, to an unnamed temporary file (gone with the process, whatever stops it);
and no window is started more than a few windows ahead of the one being handed out.
"""

from __future__ import annotations

import os
import tempfile
import threading
import typing as t
from collections import deque

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from tap_callrecords.core.windows import Window

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder()

#: Records a window keeps in memory before the rest goes to its spill file.
MEMORY_RECORDS = 256
#: Spilled bytes gathered before one write to the file.
SPILL_CHUNK = 1 << 20


class _Cancelled(Exception):
    """The reader stopped: a worker abandons the window it is reading."""


class _WindowBuffer:
    """One window's records, written by its worker and read once, in order, by the reader.

    Records go to memory while nothing is waiting in the spill file and memory holds
    fewer than :data:`MEMORY_RECORDS`; otherwise to the spill file. The reader takes
    memory first, then the file: whatever is in memory is older than anything unread in
    the file, so the order is the fetch's own.
    """

    def __init__(self, window: Window, cancelled: threading.Event, answered: threading.Event) -> None:
        self.window = window
        #: Set once the window's first records arrived.
        self.answered = answered
        self._cancelled = cancelled
        self._ready = threading.Condition()
        self._memory: deque[t.Any] = deque()
        self._file: t.IO[bytes] | None = None
        self._written = 0  # bytes in the file
        self._chunks: deque[tuple[int, int]] = deque()  # unread (offset, length) in the file
        self._pending = bytearray()  # spilled lines not yet written
        self._done = False
        self._closed = False
        self._error: BaseException | None = None

    # -- The worker's side --------------------------------------------------------------

    def fill(self, records: Iterable[Mapping[str, t.Any]]) -> None:
        """Take every record of the window (or the error that stopped its read)."""
        try:
            for record in records:
                self._put(record)
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the reader, which raises it
            with self._ready:
                self._error = exc
        finally:
            with self._ready:
                self._flush()
                self._done = True
                self._ready.notify_all()

    def _put(self, record: Mapping[str, t.Any]) -> None:
        if self._cancelled.is_set() or self._closed:
            raise _Cancelled
        with self._ready:
            if not self._chunks and not self._pending and len(self._memory) < MEMORY_RECORDS:
                self._memory.append(record)
            else:
                self._pending += _ENCODER.encode(record)
                self._pending += b"\n"
                if len(self._pending) >= SPILL_CHUNK:
                    self._flush()
            self._ready.notify_all()
        self.answered.set()

    def _flush(self) -> None:
        """Spilled lines to the file (the lock held)."""
        if not self._pending:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close(), or with the process)
        os.pwrite(self._file.fileno(), self._pending, self._written)
        self._chunks.append((self._written, len(self._pending)))
        self._written += len(self._pending)
        self._pending = bytearray()

    # -- The reader's side --------------------------------------------------------------

    @property
    def failed(self) -> bool:
        """Whether the window's read ended in an error."""
        with self._ready:
            return self._error is not None

    def records(self) -> Iterator[Mapping[str, t.Any]]:
        """The window's records in order, as they arrive; then the read's error, if any."""
        ready = self._ready
        while True:
            with ready:
                while not (self._memory or self._chunks or self._pending or self._done):
                    ready.wait()
                if self._memory:
                    batch: list[t.Any] | deque[t.Any] = self._memory
                    self._memory = deque()
                elif self._chunks:
                    offset, length = self._chunks.popleft()
                    data = os.pread(t.cast("t.IO[bytes]", self._file).fileno(), length, offset)
                    batch = [_DECODER.decode(line) for line in data.splitlines()]
                elif self._pending:
                    data, self._pending = bytes(self._pending), bytearray()
                    batch = [_DECODER.decode(line) for line in data.splitlines()]
                else:
                    if self._error is not None:
                        raise self._error
                    return
            yield from batch

    def close(self) -> None:
        """Let go of the spill file."""
        with self._ready:
            self._closed = True
            self._memory.clear()
            if self._file is not None:
                self._file.close()
                self._file = None


def read_ahead(
    windows: Iterable[Window],
    fetch: Callable[[Window], Iterable[Mapping[str, t.Any]]],
    *,
    parallel: int,
    name: str,
    opens_early: Callable[[], bool] | None = None,
) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
    """Each window with its records, in window order, up to ``parallel`` windows read at once.

    Hand each window's records out (consume them) before asking for the next window. A
    window whose read failed hands out the records read before the failure, then raises
    it; no window after it is started. ``opens_early``: asked once, before the first
    window's first request; ``True`` (the vendor has accepted the credentials, and a
    reply has nothing more to teach) starts the other windows at once, without waiting
    for the first window's first reply. What it raises is the first window's failure.
    """
    if parallel <= 1:
        for window in windows:
            yield window, iter(fetch(window))
        return
    source = iter(windows)
    #: Windows started and not yet handed out in full, in window order.
    started: deque[_WindowBuffer] = deque()
    #: How many windows may wait, read or being read, ahead of the reader.
    ahead = 2 * parallel
    state = threading.Condition()
    cancelled = threading.Event()
    exhausted = False
    #: The first window's first reply: until then no other window is started, so that
    #: wrong credentials (or a vendor that is down) cost one refused request, not one per
    #: window; unless ``opens_early`` says the credentials are known to be good.
    first_answer = threading.Event()

    def first(window: Window) -> Iterator[Mapping[str, t.Any]]:
        """The first window's records, the gate opened before them if ``opens_early`` allows."""
        if opens_early is not None and opens_early():
            first_answer.set()
        yield from fetch(window)

    def work(number: int) -> None:
        nonlocal exhausted
        if number:
            first_answer.wait()
        opening = number == 0  # the others wait: this worker takes the first window
        while True:
            with state:
                while not cancelled.is_set() and not exhausted and len(started) >= ahead:
                    state.wait()
                if cancelled.is_set() or exhausted:
                    return
                window = next(source, None)
                if window is None:
                    exhausted = True
                    state.notify_all()
                    return
                buffer = _WindowBuffer(window, cancelled, first_answer if number == 0 else threading.Event())
                started.append(buffer)
                state.notify_all()
            buffer.fill(first(window) if opening else fetch(window))
            opening = False
            if buffer.failed:
                with state:
                    exhausted = True  # start nothing after a failed window
                    state.notify_all()
            first_answer.set()
            if buffer.failed:
                return

    # Daemon threads: a run stopped by an error or a signal does not wait for requests
    # still in flight.
    workers = [threading.Thread(target=work, args=(number,), name=f"{name}-window-{number}", daemon=True)
               for number in range(parallel)]
    for worker in workers:
        worker.start()
    try:
        while True:
            with state:
                while not started and not exhausted:
                    state.wait()
                if not started:
                    return
                head = started[0]
            try:
                yield head.window, head.records()
            finally:
                head.close()
                with state:
                    started.popleft()
                    state.notify_all()
    finally:
        cancelled.set()
        first_answer.set()
        with state:
            for buffer in started:
                buffer.close()
            state.notify_all()

