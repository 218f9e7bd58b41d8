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

Memory stays bounded: the window being handed out keeps a few records in memory; the
windows read ahead of it share a small allowance of records in memory and spill the
rest, as JSON lines, to an unnamed temporary file (gone with the process, whatever
stops it); and no window is started more than a few windows ahead of the one being
handed out.

Reading ahead only pays while the reader waits on the vendor. When the reader is the
slower side (a fast vendor, a slow target), windows read ahead would only spill records
to be read back later, and a page parsed and waiting costs far more memory than the
records it spills to. So the window being handed out never spills: its worker waits
while its memory is full, which marks the reader busy (:class:`_Pace`). From then on
the other windows wait for their :class:`Turn` before each request, holding no page,
and each wait of the reader for a record lets one more of them go; only the window
being handed out asks for its next page before its current one is handed on.
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
#: Records all windows not yet handed out keep in memory between them; the rest spill.
AHEAD_MEMORY_RECORDS = 1024
#: Spilled bytes gathered before one write to the file.
SPILL_CHUNK = 1 << 20


class _Cancelled(Exception):
    """The reader stopped: a worker abandons the window it is reading."""


class Turn(t.Protocol):
    """What a window's fetch asks of the read-ahead before each request."""

    @property
    def leads(self) -> bool:
        """Whether this window is the one being handed out: its next page may be asked
        for while its current page is handed on."""

    def wait(self) -> None:
        """Return once this window may send its next request (at once, unless the reader
        is busy with an earlier window)."""


class _Alone:
    """The turn of a window read on its own: always the one being handed out."""

    leads = True

    def wait(self) -> None:
        return None


ALONE: Turn = _Alone()


class _Pace:
    """How far past the window being handed out requests may go, from how the reader keeps up.

    When the worker of the window being handed out finds that window's memory full, the
    reader is the slower side: from then on only that window sends requests. Each time
    the reader then has to wait for a record, one more window after it may (so a slow
    vendor earns back every window in flight, one wait at a time, and a fast one costs a
    page read ahead at most, not one page parsed per window at once).
    """

    def __init__(self, cancelled: threading.Event, ahead: int) -> None:
        #: Windows past the one handed out that may send requests; ``None``: all.
        self.allowance: int | None = None
        #: The position (in window order) of the window being handed out.
        self.head = 0
        self._ahead = ahead
        #: Records windows not yet handed out keep in memory (:data:`AHEAD_MEMORY_RECORDS`).
        self._held = 0
        self._held_lock = threading.Lock()
        self._cancelled = cancelled
        self._changed = threading.Condition()

    def mark_busy(self) -> None:
        self.allowance = 0

    def hold(self) -> bool:
        """Whether a window not yet handed out may keep one more record in memory."""
        with self._held_lock:
            if self._held >= AHEAD_MEMORY_RECORDS:
                return False
            self._held += 1
            return True

    def let_go(self, count: int) -> None:
        with self._held_lock:
            self._held -= count

    def mark_idle(self) -> None:
        if self.allowance is not None:
            with self._changed:
                self.allowance += 1
                if self.allowance >= self._ahead:
                    self.allowance = None
                self._changed.notify_all()

    def may_request(self, position: int) -> bool:
        allowance = self.allowance
        return allowance is None or position <= self.head + allowance

    def wait_turn(self, position: int) -> None:
        """Hold the worker of the window at ``position`` until it may send a request."""
        if self.may_request(position):  # the common case, without the lock
            return
        with self._changed:
            while not self.may_request(position) and not self._cancelled.is_set():
                self._changed.wait()
        if self._cancelled.is_set():
            raise _Cancelled

    def head_changed(self, position: int) -> None:
        """The window at ``position`` is now the one handed out."""
        with self._changed:
            self.head = position
            self._changed.notify_all()

    def wake_all(self) -> None:
        """Wake every waiting worker (to find the read cancelled)."""
        with self._changed:
            self._changed.notify_all()


class _WindowBuffer:
    """One window's records, written by its worker and read once, in order, by the reader.

    Records go to memory while nothing is waiting in the spill file: for the window being
    handed out (:attr:`head`) its worker waits for room while memory holds
    :data:`MEMORY_RECORDS`; a window read ahead takes from the allowance all of them
    share (:data:`AHEAD_MEMORY_RECORDS`) and spills once it is spent. The reader takes
    memory first, then the file: whatever is in memory is older than anything unread in
    the file, so the order is the fetch's own. It is its window's :class:`Turn`.
    """

    def __init__(self, window: Window, position: int, cancelled: threading.Event,
                 answered: threading.Event, pace: _Pace) -> None:
        self.window = window
        #: The window's place in window order (the first is 0).
        self.position = position
        #: Set once the window's first records arrived.
        self.answered = answered
        #: Whether this is the window the reader hands out now.
        self.head = False
        self._pace = pace
        self._cancelled = cancelled
        self._ready = threading.Condition()
        self._memory: deque[t.Any] = deque()
        self._file: t.IO[bytes] | None = None
        self._written = 0  # bytes in the file
        self._chunks: deque[tuple[int, int]] = deque()  # unread (offset, length) in the file
        self._pending = bytearray()  # spilled lines not yet written
        self._held = 0  # records in memory counted against AHEAD_MEMORY_RECORDS
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
            with self._ready:  # a last spill under SPILL_CHUNK stays in memory
                self._done = True
                self._ready.notify_all()

    @property
    def leads(self) -> bool:
        return self.head

    def wait(self) -> None:
        self._pace.wait_turn(self.position)

    def _put(self, record: Mapping[str, t.Any]) -> None:
        if self._cancelled.is_set() or self._closed:
            raise _Cancelled
        with self._ready:
            if self._chunks or self._pending:
                spill = True
            elif self.head:
                while len(self._memory) >= MEMORY_RECORDS:
                    self._pace.mark_busy()
                    self._ready.wait()
                    if self._cancelled.is_set() or self._closed:
                        raise _Cancelled
                spill = False
            else:
                spill = not self._pace.hold()
                self._held += not spill
            if not spill:
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
        with ready:
            self.head = True
            ready.notify_all()
        self._pace.head_changed(self.position)
        while True:
            with ready:
                if not (self._memory or self._chunks or self._pending or self._done):
                    self._pace.mark_idle()
                    while not (self._memory or self._chunks or self._pending or self._done):
                        ready.wait()
                if self._memory:
                    batch: list[t.Any] | deque[t.Any] = self._memory
                    self._memory = deque()
                    self._let_go_held()
                    ready.notify_all()
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

    def _let_go_held(self) -> None:
        if self._held:
            self._pace.let_go(self._held)
            self._held = 0

    def close(self) -> None:
        """Let go of the spill file."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
            self._memory.clear()
            self._let_go_held()
            if self._file is not None:
                self._file.close()
                self._file = None


def read_ahead(
    windows: Iterable[Window],
    fetch: Callable[[Window, Turn], Iterable[Mapping[str, t.Any]]],
    *,
    parallel: int,
    name: str,
    opens_early: Callable[[], bool] | None = None,
) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
    """Each window with its records, in window order, up to ``parallel`` windows read at once.

    ``fetch`` reads one window; it calls its :class:`Turn`'s ``wait`` before each request.
    Hand each window's records out (consume them) before asking for the next window. A
    window whose read failed hands out the records read before the failure, then raises
    it; no window after it is started. ``opens_early``: asked once, before the first
    window's first request; ``True`` (the vendor has accepted the credentials, and a
    reply has nothing more to teach) starts the other windows at once, without waiting
    for the first window's first reply. What it raises is the first window's failure.
    """
    if parallel <= 1:
        for window in windows:
            yield window, iter(fetch(window, ALONE))
        return
    source = iter(windows)
    #: Windows started and not yet handed out in full, in window order.
    started: deque[_WindowBuffer] = deque()
    #: How many windows may wait, read or being read, ahead of the reader.
    ahead = 2 * parallel
    state = threading.Condition()
    cancelled = threading.Event()
    pace = _Pace(cancelled, ahead)
    exhausted = False
    opened = 0  # windows started so far
    #: The first window's first reply: until then no other window is started, so that
    #: wrong credentials (or a vendor that is down) cost one refused request, not one per
    #: window; unless ``opens_early`` says the credentials are known to be good.
    first_answer = threading.Event()

    def first(buffer: _WindowBuffer) -> Iterator[Mapping[str, t.Any]]:
        """The first window's records, the gate opened before them if ``opens_early`` allows."""
        if opens_early is not None and opens_early():
            first_answer.set()
        yield from fetch(buffer.window, buffer)

    def work(number: int) -> None:
        nonlocal exhausted, opened
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
                buffer = _WindowBuffer(window, opened, cancelled,
                                       first_answer if number == 0 else threading.Event(), pace)
                opened += 1
                started.append(buffer)
                state.notify_all()
            buffer.fill(first(buffer) if opening else fetch(window, buffer))
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
        pace.wake_all()
        with state:
            for buffer in started:
                buffer.close()
            state.notify_all()

