"""Report files read as streams: rows come out while the file is still downloading.

A report can hold a million rows (hundreds of megabytes), so no reader here holds more
than one buffer of the file: CSV through the ``csv`` module's C parser, JSON lines one
line at a time, and a JSON document ``{"<key>": [ {...}, ... ]}`` object by object with
the standard library's C scanner (``JSONDecoder.raw_decode``) over a sliding buffer.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import typing as t

import msgspec

from tap_callrecords.core.errors import VendorAPIError

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

CHUNK = 1 << 20
_JSON_LINE = msgspec.json.Decoder()
_SCANNER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"
_SEPARATORS = _WHITESPACE + ","
#: An entry that does not decode within this much text is not a truncated one: it is broken.
MAX_ENTRY_CHARS = 16 << 20


class MalformedFile(VendorAPIError):
    """The report file is not in the format it was asked for."""


def _text_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


class _ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of byte chunks (for ``io.TextIOWrapper``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def csv_rows(chunks: Iterable[bytes]) -> Iterator[dict[str, str]]:
    """Rows of a CSV file with a header row, as ``{column: text}``."""
    text = io.TextIOWrapper(
        io.BufferedReader(_ChunkReader(chunks), CHUNK), encoding="utf-8-sig", errors="replace", newline=""
    )
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    for row in reader:
        if len(row) != width:
            if not row:
                continue
            raise MalformedFile(f"a CSV row has {len(row)} cells where the header has {width}")
        yield dict(zip(header, row, strict=True))


def json_lines(chunks: Iterable[bytes]) -> Iterator[dict[str, t.Any]]:
    """Objects of a file holding one JSON object per line."""
    pending = b""
    for chunk in chunks:
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
    except msgspec.DecodeError:
        raise MalformedFile("a line of the JSON-lines file is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedFile("a line of the JSON-lines file is not an object")
    return value


def json_array_items(chunks: Iterable[bytes], key: str) -> Iterator[dict[str, t.Any]]:
    """Objects of the list under ``key`` in a JSON document, one at a time."""
    texts = _text_chunks(chunks)
    buffer = ""
    position = 0
    exhausted = False

    def more() -> bool:
        nonlocal buffer, position, exhausted
        if exhausted:
            return False
        chunk = next(texts, None)
        if chunk is None:
            exhausted = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    marker = f'"{key}"'
    while (found := buffer.find(marker)) < 0:
        if not more():
            raise MalformedFile(f'no "{key}" list in the JSON report file')
    position = found + len(marker)
    for expected in ":[":
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            if position < len(buffer):
                break
            if not more():
                raise MalformedFile("the JSON report file ends early")
        if buffer[position] != expected:
            raise MalformedFile(f'"{key}" in the JSON report file is not a list')
        position += 1
    while True:
        while True:
            while position < len(buffer) and buffer[position] in _SEPARATORS:
                position += 1
            if position < len(buffer):
                break
            if not more():
                raise MalformedFile("the JSON report file ends early")
        if buffer[position] == "]":
            return
        try:
            value, end = _SCANNER.raw_decode(buffer, position)
        except json.JSONDecodeError:
            if len(buffer) - position < MAX_ENTRY_CHARS and more():
                continue
            raise MalformedFile("the JSON report file ends inside an entry") from None
        if end == len(buffer) and more():
            continue  # a number may go on in the next chunk: decode it again whole
        if not isinstance(value, dict):
            raise MalformedFile(f'an entry of "{key}" in the JSON report file is not an object')
        position = end
        yield value
