"""`make demo`: `meltano run tap-callrecords target-jsonl` against the sandbox, with the real
Meltano and target-jsonl that `make setup` / `meltano install` put on this machine; what
it shows a person, and what it writes to its log."""

from __future__ import annotations

import re
import subprocess
import sys

from scripts.demo import REPORTS, STREAM_WIDTH
from tap_callrecords.about import streams
from tap_callrecords.sandbox.talkdesk_reports import rows_in_data_set
from tests.conftest import ROOT


def test_the_demo_lands_every_record_once_and_says_so_briefly(tmp_path):
    output = tmp_path / "output"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--records", "3000", "--output", str(output)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "MISMATCH" not in result.stdout
    # The raw logs went to the log file: a few lines per stream on the screen.
    assert len(result.stdout.splitlines()) < 25 + 4 * len(streams()), result.stdout
    assert result.stderr == ""
    vendors = list(dict.fromkeys(info.settings for info in streams() if info.stream != "call_records"))
    # The demo configures Voiso's v2 API: v4's stream writes nothing. Zoom's legs are a row per
    # leg; the demo checks their count against the legs its calls list (MISMATCH otherwise).
    # Meltano's default select (*.*) picks Talkdesk's other reports too: their rows, not calls.
    per_call = [info for info in streams()
                if info.stream not in ("voiso_cdrs_v4", "zoom_voice_call_legs", *REPORTS)]
    for stream, report in REPORTS.items():
        rows = rows_in_data_set(report, 3000)
        assert re.search(rf"^Talkdesk +{stream} +{rows:>9,} {rows:>9,}  2024-0", result.stdout, re.MULTILINE)
        assert (output / f"{stream}.jsonl").read_text().count("\n") == rows
    legs = re.search(r"^Zoom.* zoom_voice_call_legs +([1-9][\d,]*) +([\d,]+)  2024-0", result.stdout,
                     re.MULTILINE)
    assert legs and legs[1] == legs[2], result.stdout  # every leg once
    assert (output / "zoom_voice_call_legs.jsonl").read_text().count("\n") == int(legs[1].replace(",", ""))
    assert not (output / "voiso_cdrs_v4.jsonl").exists()
    for info in per_call:
        calls = 3000 * (len(vendors) if info.stream == "call_records" else 1)
        vendor = "all" if info.stream == "call_records" else info.vendor
        # The progress bar at its end, then the summary table's row: calls, unique keys, first call.
        assert f"{info.stream:<{STREAM_WIDTH}} [{'#' * 28}] {calls:>9,} / {calls:,}" in result.stdout
        # (Voiso's calls that ended just after the start began before it.)
        row = rf"{vendor:<20} {info.stream:<{STREAM_WIDTH}} {calls:>9,} {calls:>9,}  2024-0(7-01|6-30) "
        assert re.search(row, result.stdout), result.stdout
        assert (output / f"{info.stream}.jsonl").read_text().count("\n") == calls
    # call_records' table: a row per vendor with its calls, answered share, talk hours, first call.
    table = result.stdout.split("call_records, one table for every vendor:")[1]
    for vendor in vendors:  # Voiso and Zoom give no talk time: "-", never a made-up 0.0
        talk = r"-" if vendor in ("voiso", "zoom") else r"[1-9][\d,]*\.\d"
        assert re.search(rf"^{vendor} +3,000 +\d+\.\d% +{talk}  2024-0[67]-", table, re.MULTILINE), table
    log = (output / "demo.log").read_text()
    assert f"logs     {output / 'demo.log'}" in result.stdout
    one_per_call = 4 + sum(rows_in_data_set(report, 3000) == 3000 for report in REPORTS.values())
    assert log.count(": done: 3,000 records") == one_per_call
    assert "METRIC" not in log
