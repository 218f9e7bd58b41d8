"""Per-record cost of the ``call_records`` mappings, in process (no sandbox server, no I/O).

    python bench/call_mappings.py

For each vendor: typed records of the sandbox's data set (1,024 varied bodies, so the
phone cache is warm after the first pass) through the vendor's ``calls.py`` mapping, in
µs per record (best of 5 passes). Then the worst case for numbers: Smartflo records
whose customer numbers are all different (none cached), with region IN. Compare with the
stream's records/s (README, Benchmark): at 120,000 records/s a record has 8.3 µs.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from tap_callrecords.core import phones
from tap_callrecords.sandbox.smartflo import SmartfloAPI
from tap_callrecords.sandbox.talkdesk import Job, TalkdeskAPI
from tap_callrecords.sandbox.voiso import VoisoAPI
from tap_callrecords.sandbox.zoom import ZoomAPI
from tap_callrecords.vendors.smartflo.calls import smartflo_call
from tap_callrecords.vendors.smartflo.records import smartflo_record
from tap_callrecords.vendors.talkdesk.calls import talkdesk_call
from tap_callrecords.vendors.talkdesk.records import talkdesk_record
from tap_callrecords.vendors.voiso.calls import voiso_call
from tap_callrecords.vendors.voiso.records import voiso_record
from tap_callrecords.vendors.zoom.calls import zoom_call
from tap_callrecords.vendors.zoom.records import zoom_record

COUNT = 20_000


def best_per_record(mapping: Callable[[Any, Any], Any], records: list[dict[str, Any]],
                    region: str | None, passes: int = 5) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for record in records:
            mapping(record, region)
        best = min(best, time.perf_counter() - started)
    return best / len(records) * 1e6


def talkdesk_records() -> list[dict[str, Any]]:
    api = TalkdeskAPI()
    api.configure({"count": COUNT})
    job = Job(id="j", name="n", timezone="UTC", format="json", timespan={}, low_ms=0,
              high_ms=2**62, created=0, duration=0, fails=False)
    entries = json.loads(b"".join(api.file_chunks(job)))["entries"]
    return [talkdesk_record(entry, ZoneInfo("UTC")) for entry in entries]


def main() -> None:
    voiso_api, smartflo_api, zoom_api = VoisoAPI(), SmartfloAPI(), ZoomAPI()
    voiso_records = [voiso_record(json.loads(voiso_api.record_json(i))) for i in range(COUNT)]
    cases = [
        ("voiso", voiso_call, voiso_records, None),
        ("smartflo", smartflo_call, [smartflo_record(smartflo_api.record(i)) for i in range(COUNT)], "IN"),
        ("zoom", zoom_call, [zoom_record(zoom_api.record(i, 0, False)) for i in range(COUNT)], None),
        ("talkdesk", talkdesk_call, talkdesk_records(), None),
    ]
    smartflo = cases[1][2]
    distinct = [{**record, "client_number": f"9198{i:08d}"} for i, record in enumerate(smartflo)]
    # A sync holds a page of records, not 100,000: keep the test data out of the
    # collector's full passes, which would otherwise bill their walk to the mappings.
    gc.freeze()
    print(f"{'vendor':<34} {'µs/record':>9}")
    for vendor, mapping, records, region in cases:
        print(f"{vendor:<34} {best_per_record(mapping, records, region):>9.2f}")
    phones._parsed.cache_clear()
    cold = best_per_record(smartflo_call, distinct, "IN", passes=1)
    print(f"{'smartflo, every number new':<34} {cold:>9.2f}")


if __name__ == "__main__":
    main()
