"""Report files read as streams: rows come out while the file is still downloading.

A report can hold a million rows (hundreds of megabytes), so no reader here holds more
than one buffer of the file: CSV through the ``csv`` module's C parser, JSON lines one
line at a time, and a JSON document ``{"<key>": [ {...}, ... ]}`` a buffer of entries
at a time with ``msgspec``.
"""

from __future__ import annotations

import csv
import io
import sys
import typing as t

import msgspec

from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.http import MAX_BODY_BYTES

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator

CHUNK = 1 << 20
_JSON_LINE = msgspec.json.Decoder()
_ENTRIES = msgspec.json.Decoder(list[dict[str, t.Any]])
_BLANK = b" \t\r\n"
_BLANK_OR_COMMA = _BLANK + b","
_OPEN_OBJECT, _CLOSE_LIST = ord("{"), ord("]")
#: Wrong guesses at where the buffer's last whole entry ends before reading on.
_GUESSES = 4
#: An entry that does not decode within this many bytes is not a truncated one: it is broken.
MAX_ENTRY_BYTES = 16 << 20


class MalformedFile(VendorAPIError):
    """The report file is not in the format it was asked for."""


#: No CSV cell is refused below the size limit of a whole reply: a transcript or a long
#: tag list is real data (the ``csv`` module's own limit is 128 KiB).
csv.field_size_limit(MAX_BODY_BYTES)


def _too_deep() -> MalformedFile:
    return MalformedFile(f"an entry of the report file nests deeper than the JSON parser allows "
                         f"(about {sys.getrecursionlimit()} levels)")


class _ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (for ``io.TextIOWrapper``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        #: The last byte read so far (``b""`` before any).
        self.last_byte = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            self.last_byte = self._pending[-1:] or self.last_byte
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def not_markup(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks``, refused if the body starts with ``<``: an HTML page (a login or error
    page served with status 200) or an XML error document is never a CSV or JSON report,
    and read as one it would be a header without rows, an empty window claimed."""
    started = False
    for chunk in chunks:
        if not started:
            head = chunk.lstrip(b"\xef\xbb\xbf" + _BLANK)
            if not head:
                continue
            started = True
            if head[:1] == b"<":
                html = head[:200].lower().lstrip(b"<!").startswith((b"doctype html", b"html"))
                kind = "an HTML page" if html else "an HTML or XML document"
                raise MalformedFile(f"the report file is {kind}, not a report (an error or sign-in page?)")
        yield chunk


def check_header(header: list[str], required: Collection[str]) -> None:
    """Refuse a header that names a column twice (one value would silently win over the
    other) or lacks a ``required`` column (the record's key or replication key)."""
    names = [name.strip() for name in header]
    twice = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in required if name not in names]
    problems = []
    if twice:
        problems.append("names " + ", ".join(twice) + " more than once")
    if missing:
        problems.append("has no " + ", ".join(missing) + " column")
    if problems:
        raise MalformedFile("the CSV header " + " and ".join(problems))


def csv_rows(
    chunks: Iterable[bytes], *, ending_required: bool = True, required: Collection[str] = (),
    column_key: Callable[[str], str] | None = None,
) -> Iterator[dict[str, str]]:
    """Rows of a CSV file with a header row, as ``{column: text}``.

    With ``ending_required`` (a body whose length nothing else checks, such as a chunked
    one), every row, the header's included, must end with a line break, as report files
    write them: a file that ends inside a row was cut short, even if the connection
    closed cleanly (a cut in the header would otherwise read as an empty report, one in a
    row's last cell as a shorter value). So each row is handed out only once the next
    one has started, and the last one once the file is seen to end with a line break.
    Without it (the HTTP layer checked the length), a last row without a line break is
    accepted: RFC 4180 allows both. A report file always has a header, so an empty body
    is refused, as are markup (:func:`not_markup`) and a header :func:`check_header` refuses.
    ``column_key`` names each column by its header (a vendor's display names, another
    case), before the header is checked.
    """
    source = _ChunkReader(not_markup(chunks))
    text = io.TextIOWrapper(io.BufferedReader(source, CHUNK), encoding="utf-8-sig", errors="replace",
                            newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise MalformedFile("the CSV report file is empty: not even a header")
    if column_key is not None:
        header = [column_key(name) for name in header]
    check_header(header, required)
    width = len(header)
    previous: dict[str, str] | None = None
    for row in reader:
        if len(row) != width:
            if not row:
                continue
            raise MalformedFile(f"a CSV row has {len(row)} cells where the header has {width}")
        if previous is not None:
            yield previous
        previous = dict(zip(header, row, strict=True))
    if ending_required and source.last_byte not in (b"\n", b"\r"):
        raise MalformedFile("the CSV file ends inside a row, without a line break: it was cut short")
    if previous is not None:
        yield previous


def json_lines(chunks: Iterable[bytes]) -> Iterator[dict[str, t.Any]]:
    """Objects of a file holding one JSON object per line."""
    pending = b""
    for chunk in not_markup(chunks):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                yield _object(line)
    if pending.strip():
        yield _object(pending)


def _object(line: bytes) -> dict[str, t.Any]:
    try:
        value = _JSON_LINE.decode(line)
    except RecursionError:
        raise _too_deep() from None
    except msgspec.DecodeError:
        raise MalformedFile("a line of the JSON-lines file is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedFile("a line of the JSON-lines file is not an object")
    return value


def json_array_items(chunks: Iterable[bytes], key: str, total_key: str | None = None,
                     row_cap: int | None = None) -> Iterator[dict[str, t.Any]]:
    """Objects of the list under ``key`` in a JSON document, a buffer at a time.

    With ``total_key``, a count the document gives of its entries (before or after the
    list) is checked against the entries read: a file that disagrees is malformed, never
    a finished window, unless it was cut at ``row_cap`` entries (its window is split).

    The entries held in the buffer are decoded in one ``msgspec`` call: the text from
    the first entry's ``{`` to a later ``}`` is wrapped in ``[...]`` and decoded. That
    succeeds only if the ``}`` closes an entry (a ``}`` inside a string or a nested
    object leaves the text unbalanced, and the decode fails), so a failed guess tries
    an earlier ``}`` or waits for more of the file; no entry is ever cut or guessed.
    """
    source = not_markup(chunks)
    buffer = b""
    position = 0
    exhausted = False

    def more() -> bool:
        nonlocal buffer, position, exhausted
        for chunk in source:
            if chunk:
                buffer = buffer[position:] + chunk
                position = 0
                return True
        exhausted = True
        return False

    def skip(characters: bytes) -> int:
        """The next byte that is not one of ``characters`` (reading on as needed)."""
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in characters:
                position += 1
            if position < len(buffer):
                return buffer[position]
            if not more():
                raise MalformedFile("the JSON report file ends early")

    marker = f'"{key}"'.encode()
    while (found := buffer.find(marker)) < 0:
        if not more():
            raise MalformedFile(f'no "{key}" list in the JSON report file')
    before_list = buffer[:found] + marker + b":"
    position = found + len(marker)
    count = 0
    for expected in b":[":
        if skip(_BLANK) != expected:
            raise MalformedFile(f'"{key}" in the JSON report file is not a list')
        position += 1
    while True:
        first = skip(_BLANK_OR_COMMA)
        if first == _CLOSE_LIST:
            if total_key is not None:
                after_list = buffer[position + 1:] + b"".join(source)
                _check_total(before_list + b"[]" + after_list, total_key, count, row_cap)
            return
        if first != _OPEN_OBJECT:
            raise MalformedFile(f'an entry of "{key}" in the JSON report file is not an object')
        entries = None
        cut = buffer.rfind(b"}", position)
        for _ in range(_GUESSES if not exhausted else len(buffer)):
            if cut < position:
                break
            try:
                entries = _ENTRIES.decode(b"[" + buffer[position:cut + 1] + b"]")
            except RecursionError:
                raise _too_deep() from None
            except msgspec.DecodeError:
                cut = buffer.rfind(b"}", position, cut)
                continue
            break
        if entries is None:
            if len(buffer) - position > MAX_ENTRY_BYTES or not more():
                raise MalformedFile("the JSON report file ends inside an entry, or an entry is broken")
            continue
        position = cut + 1
        count += len(entries)
        yield from entries


def _check_total(document: bytes, total_key: str, count: int, row_cap: int | None) -> None:
    """The document's ``total_key`` (the list emptied: only its other members are read)
    against the ``count`` of entries read; no number there: nothing to check."""
    try:
        members = msgspec.json.decode(document)
    except (msgspec.DecodeError, RecursionError):
        raise MalformedFile("the JSON report file is not one JSON object") from None
    total = members.get(total_key) if isinstance(members, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total == count:
        return
    if row_cap is not None and count >= row_cap:
        return
    raise MalformedFile(f'the JSON report file holds {count:,} entries but its "{total_key}" says {total:,}')
