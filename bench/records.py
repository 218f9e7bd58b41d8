"""Per-record cost of each vendor's record conversion, in process (no sandbox server, no I/O).

    python bench/records.py [--count N] [--passes P]

For each vendor: the first N raw records (decoded as the fetchers decode them) of the
sandbox data set ``make bench`` syncs (a million records over a month, so as many calls
share a minute as there), through the vendor's ``records.py`` function, in µs per record
(best of the passes, in CPU time of the converting thread, so that other work on the
machine counts little). Each pass converts fresh copies, since some conversions type
nested objects in place. Talkdesk is measured on a CSV file's rows (all text) and on a
JSON file's entries, with the job's timezone America/New_York. Compare with the stream's
records/s (README, Benchmark).
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from tap_callrecords.core.files import csv_rows
from tap_callrecords.sandbox.smartflo import SmartfloAPI
from tap_callrecords.sandbox.talkdesk import Job, TalkdeskAPI
from tap_callrecords.sandbox.voiso import VoisoAPI
from tap_callrecords.sandbox.zoom import ZoomAPI
from tap_callrecords.vendors.smartflo.records import smartflo_record
from tap_callrecords.vendors.talkdesk.records import talkdesk_record
from tap_callrecords.vendors.voiso.records import voiso_record
from tap_callrecords.vendors.zoom.records import zoom_record

Raw = Mapping[str, Any]
ZONE = ZoneInfo("America/New_York")
#: Records in the data set (``make bench``'s): the first ``--count`` are converted.
DATA_SET = 1_000_000


def best_per_record(convert: Callable[[Raw], Any], records: list[Raw], passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        fresh = copy.deepcopy(records)
        started = time.thread_time()
        for raw in fresh:
            convert(raw)
        best = min(best, time.thread_time() - started)
        del fresh
    return best / len(records) * 1e6


def talkdesk_rows(count: int, file_format: str) -> list[Raw]:
    api = TalkdeskAPI()
    api.configure({"count": DATA_SET, "row_cap": DATA_SET})
    job = Job(id="j", name="n", timezone=str(ZONE), format=file_format, timespan={}, low_ms=0,
              high_ms=api.timeline.epoch_ms(count), created=0, duration=0, fails=False)
    chunks = list(api.file_chunks(job))
    if file_format == "csv":
        return list(csv_rows(chunks))
    entries: list[Raw] = msgspec.json.decode(b"".join(chunks))["entries"]
    return entries


def cases(count: int) -> list[tuple[str, Callable[[Raw], Any], list[Raw]]]:
    voiso, smartflo, zoom = VoisoAPI(), SmartfloAPI(), ZoomAPI()
    for api in (voiso, smartflo, zoom):
        api.configure({"count": DATA_SET})
    return [
        ("voiso", voiso_record, [msgspec.json.decode(voiso.record_json(i)) for i in range(count)]),
        ("smartflo", smartflo_record, [smartflo.record(i) for i in range(count)]),
        ("zoom", zoom_record, [zoom.record(i, -300, False) for i in range(count)]),
        ("zoom, detail view", zoom_record, [zoom.record(i, -300, True) for i in range(count)]),
        ("talkdesk, csv", lambda raw: talkdesk_record(raw, ZONE), talkdesk_rows(count, "csv")),
        ("talkdesk, json", lambda raw: talkdesk_record(raw, ZONE), talkdesk_rows(count, "json")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    measured = cases(args.count)
    # Keep the test data out of the collector's full passes (a sync holds a page, not all).
    gc.freeze()
    print(f"{'vendor':<20} {'µs/record':>9}")
    for vendor, convert, records in measured:
        print(f"{vendor:<20} {best_per_record(convert, records, args.passes):>9.2f}")
    print(json.dumps({"count": args.count, "passes": args.passes}))


if __name__ == "__main__":
    main()
