"""Report files read as streams: the same rows whatever the chunking, clear errors when broken."""

from __future__ import annotations

import json

import pytest

from tap_callrecords.core.files import MalformedFile, csv_rows, json_array_items, json_lines

ROWS = [
    {"id": "1", "note": 'said "hi",\nthen left', "when": "2024-07-01 10:00:00", "n": "3"},
    {"id": "2", "note": "", "when": "2024-07-01 10:00:01", "n": "é ünïcode ✓"},
    {"id": "3", "note": "{not json}", "when": "", "n": "-1.5e3"},
]


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def as_csv(rows) -> bytes:
    import csv
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


@pytest.mark.parametrize("size", [1, 2, 7, 64, 1 << 20])
def test_csv_rows_survive_any_chunking(size):
    assert list(csv_rows(chunked(as_csv(ROWS), size))) == ROWS


@pytest.mark.parametrize("size", [1, 3, 17, 1 << 20])
def test_json_entries_survive_any_chunking(size):
    typed = [{**row, "n": 3.25, "flag": True, "nested": {"a": [1, 2]}} for row in ROWS]
    document = json.dumps({"entries": typed, "total": 3}, indent=1).encode()
    assert list(json_array_items(chunked(document, size), "entries")) == typed
    assert list(json_array_items([b'{"total": 0, "entries": []}'], "entries")) == []


@pytest.mark.parametrize("size", [1, 5, 1 << 20])
def test_json_lines_survive_any_chunking(size):
    lines = b"\n".join(json.dumps(row).encode() for row in ROWS) + b"\n\n"
    assert list(json_lines(chunked(lines, size))) == ROWS


@pytest.mark.parametrize(("reader", "data", "message"), [
    (csv_rows, b"a,b\n1,2\n3\n", "a CSV row has 1 cells where the header has 2"),
    (csv_rows, b"interaction_id,call_t", "ends inside a row"),  # cut in the header
    (csv_rows, b"a,b\r\n1,2\r\n3,fou", "ends inside a row"),  # cut in a row's last cell
    (json_lines, b'{"a": 1}\n{"a": \n', "not JSON"),
    (json_lines, b"[1, 2]\n", "not an object"),
    (lambda chunks: json_array_items(chunks, "entries"), b'{"entries": [{"a": 1}, {"a": ', "ends"),
    (lambda chunks: json_array_items(chunks, "entries"), b'{"entries": {"a": 1}}', "is not a list"),
    (lambda chunks: json_array_items(chunks, "entries"), b'{"rows": []}', 'no "entries" list'),
    (lambda chunks: json_array_items(chunks, "entries"), b'{"entries": [1]}', "is not an object"),
])
def test_a_broken_file_is_one_clear_error(reader, data, message):
    with pytest.raises(MalformedFile, match=message):
        list(reader(chunked(data, 4)))


@pytest.mark.parametrize("size", [1, 4, 1 << 20])
def test_a_json_total_is_checked_before_or_after_the_list_unless_the_file_was_cut(size):
    def read(document: bytes, cap: int | None = None) -> list[dict]:
        return list(json_array_items(chunked(document, size), "entries", "total", cap))

    two = '[{"a": 1}, {"a": 2}]'
    assert read(f'{{"total": 2, "entries": {two}}}'.encode()) == [{"a": 1}, {"a": 2}]
    assert read(f'{{"entries": {two}, "total": null}}'.encode()) == [{"a": 1}, {"a": 2}]
    assert read(f'{{"entries": {two}, "total": 9}}'.encode(), cap=2) == [{"a": 1}, {"a": 2}]
    for document in (f'{{"total": 3, "entries": {two}}}', f'{{"entries": {two}, "total": 1}}'):
        with pytest.raises(MalformedFile, match='holds 2 entries but its "total" says'):
            read(document.encode())


def test_a_csv_row_is_handed_out_only_once_the_file_shows_it_whole():
    rows = csv_rows([b"a,b\r\n1,2\r\n3,fou"])
    assert next(rows) == {"a": "1", "b": "2"}
    with pytest.raises(MalformedFile):
        next(rows)  # "3,fou" is never handed out: its last cell may be cut
    assert list(csv_rows([b"a,b\r\n"])) == []  # an empty report
    with pytest.raises(MalformedFile, match="empty: not even a header"):
        list(csv_rows([b""]))  # a report always has a header: an empty body is no report


def test_a_csv_cut_short_is_an_error_unless_its_length_was_checked():
    data = b"id,n\r\n1,2\r\n3,4"
    with pytest.raises(MalformedFile, match="ends inside a row"):
        list(csv_rows(chunked(data, 5)))
    assert list(csv_rows(chunked(data, 5), ending_required=False)) == [{"id": "1", "n": "2"},
                                                                        {"id": "3", "n": "4"}]
    with pytest.raises(MalformedFile, match="ends inside a row"):
        list(csv_rows([b"id,n"]))  # a header cut off is not an empty report


def test_a_csv_cell_past_the_csv_modules_own_limit_is_read_whole():
    cell = "x" * 200_000  # a transcript or a long tag list: real data, past csv's 128 KiB
    data = f"interaction_id,description\n1,{cell}\n2,short\n".encode()

    rows = list(csv_rows([data[i:i + 65_536] for i in range(0, len(data), 65_536)]))

    assert [row["interaction_id"] for row in rows] == ["1", "2"]
    assert rows[0]["description"] == cell


@pytest.mark.parametrize("reader", [
    lambda chunks: json_lines(chunks),
    lambda chunks: json_array_items(chunks, "entries"),
])
def test_a_report_entry_nested_past_the_parsers_depth_is_one_clear_error(reader):
    deep = b"[" * 100_000 + b"]" * 100_000
    data = b'{"entries": [{"id": 1, "deep": ' + deep + b"}]}\n"

    with pytest.raises(MalformedFile, match="nests deeper than the JSON parser allows"):
        list(reader([data]))
