"""The main job, end to end: start the local vendor sandbox, ``meltano run tap-callrecords
target-jsonl`` against it, show each stream landing, then what landed per vendor.

    python scripts/demo.py [--records 25000] [--output output]

Every configured vendor's sandbox gets ``--records`` calls; the run must land exactly
those, each primary key once, or this exits non-zero. Meltano's and the tap's own logs go
to ``<output>/demo.log``; the screen shows a progress bar per stream (the lines landed in
target-jsonl's files against the sandbox's known total), a summary table per stream,
and per vendor from ``call_records`` (the one normalised table): calls, answered share,
total talk hours, first and last call.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tap_callrecords.about import streams as stream_infos
from tap_callrecords.sandbox.client import SandboxProcess
from tap_callrecords.sandbox.talkdesk_reports import rows_in_data_set
from tap_callrecords.vendors import VENDORS
from tap_callrecords.vendors.talkdesk.api import CALLS_REPORT
from tap_callrecords.vendors.talkdesk.stream import REPORT_STREAMS

ROOT = Path(__file__).resolve().parent.parent
STATE_ID = "dev:tap-callrecords-to-target-jsonl"
CALL_RECORDS = "call_records"
#: Streams of a call's parts: the stream of their calls and how many parts a call's row
#: lists (the bar's estimate is two per call; the table checks the exact count).
PARTS = {"zoom_voice_call_legs": ("zoom_voice_calls", lambda call: len(call.get("voice_call_details") or ()))}
#: Talkdesk's reports other than calls -> their report type (the sandbox makes their rows
#: from its calls: :func:`~tap_callrecords.sandbox.talkdesk_reports.rows_in_data_set`).
REPORTS = {stream.name: stream.report for stream in REPORT_STREAMS if stream.report != CALLS_REPORT}
#: The stream column's width: the longest stream name.
STREAM_WIDTH = max(len(info.stream) for info in stream_infos())
#: The tap's closing line for a stream (core/progress.py), as Meltano relays it.
SUMMARY = re.compile(r"(?P<stream>\w+): done: [\d,]+ records?, [\d,]+ windows?.*?, (?P<requests>[\d,]+) "
                     r"requests?, (?P<retries>[\d,]+) retr(?:y|ies),.*; (?P<seconds>[\d.]+) s,")


def meltano_executable() -> str:
    """The project's Meltano (installed by ``make setup``), else one on PATH."""
    local = ROOT / ".venv-meltano" / "bin" / "meltano"
    found = os.environ.get("MELTANO") or (str(local) if local.exists() else shutil.which("meltano"))
    if not found:
        raise SystemExit("meltano not found: run `make setup` first")
    return found


def env_for(config: dict) -> dict[str, str]:
    """Meltano environment variables for a tap config (nested keys joined with ``_``)."""
    env: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                env[f"TAP_CALLRECORDS_{key}_{sub_key}".upper()] = (
                    json.dumps(sub_value) if isinstance(sub_value, list | dict) else str(sub_value)
                )
        else:
            env[f"TAP_CALLRECORDS_{key}".upper()] = str(value)
    return env


@dataclass
class Landing:
    """One stream's target-jsonl file, its lines counted as they are appended."""

    stream: str
    vendor: str
    path: Path
    expected: int
    lines: int = 0
    _offset: int = field(default=0, repr=False)

    def poll(self) -> int:
        """Count the lines appended since the last poll (only the new bytes are read)."""
        try:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                chunk = file.read()
        except FileNotFoundError:
            return self.lines
        complete = chunk.rfind(b"\n") + 1
        self.lines += chunk.count(b"\n", 0, complete)
        self._offset += complete
        return self.lines

    def bar(self, width: int = 28) -> str:
        done = min(self.lines, self.expected)
        filled = width * done // self.expected if self.expected else width
        bar = "#" * filled + "." * (width - filled)
        return f"{self.stream:<{STREAM_WIDTH}} [{bar}] {self.lines:>9,} / {self.expected:,}"


class ProgressView:
    """Bars redrawn in place on a terminal; elsewhere a line per stream when it has landed."""

    def __init__(self, landings: list[Landing]) -> None:
        self.landings = landings
        self.tty = sys.stdout.isatty()
        self.drawn = False
        self.reported: set[str] = set()

    def update(self, *, final: bool = False) -> None:
        for landing in self.landings:
            landing.poll()
        if self.tty:
            if self.drawn:
                sys.stdout.write(f"\x1b[{len(self.landings)}F")
            sys.stdout.write("".join(f"  {landing.bar()}\x1b[K\n" for landing in self.landings))
            self.drawn = True
        else:
            for landing in self.landings:
                if landing.stream not in self.reported and (final or landing.lines >= landing.expected):
                    self.reported.add(landing.stream)
                    print(f"  {landing.bar()}")
        sys.stdout.flush()


def run_meltano(meltano: str, args: list[str], env: dict[str, str], log: Path,
                view: ProgressView | None = None) -> int:
    """Run Meltano with its output appended to ``log``; the view redrawn while it runs."""
    with log.open("a") as sink:
        sink.write(f"\n$ meltano {' '.join(args)}\n")
        sink.flush()
        process = subprocess.Popen([meltano, *args], cwd=ROOT, env=env, stdout=sink,
                                   stderr=subprocess.STDOUT)
        while process.poll() is None:
            if view is not None:
                view.update()
            time.sleep(0.5)
    if view is not None:
        view.update(final=True)
    return process.returncode


def tap_summaries(log: Path) -> dict[str, dict[str, str]]:
    """The tap's closing line per stream, from the log."""
    found = {}
    for line in log.read_text(errors="replace").splitlines():
        if match := SUMMARY.search(line):
            found[match.group("stream")] = match.groupdict()
    return found


def when(value: str) -> str:
    """``2024-07-01T00:00:00.000000+00:00`` -> ``2024-07-01 00:00:00`` (the tap emits UTC)."""
    return value[:19].replace("T", " ")


def print_calls_by_vendor(path: Path) -> None:
    """Per vendor, from the one normalised table: calls, answered share, talk hours, first
    and last call."""
    calls: dict[str, list[dict]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            calls.setdefault(row["vendor"], []).append(row)
    print(f"\n{CALL_RECORDS}, one table for every vendor:\n")
    header = (f"{'vendor':<10} {'calls':>9} {'answered':>9} {'talk hours':>11}  {'first call (UTC)':<19}  "
              f"{'last call (UTC)':<19}")
    print(header)
    print("-" * len(header))
    for vendor, rows in calls.items():
        answered = sum(row["outcome"] == "answered" for row in rows)
        talk = [row["talk_seconds"] for row in rows if row["talk_seconds"] is not None]
        talk_hours = f"{sum(talk) / 3600:,.1f}" if talk else "-"  # the vendor has no talk figure
        moments = sorted(row["started_at"] for row in rows)
        print(f"{vendor:<10} {len(rows):>9,} {answered / len(rows):>9.1%} {talk_hours:>11}  "
              f"{when(moments[0]):<19}  {when(moments[-1]):<19}")


def fail(message: str, log: Path) -> None:
    tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
    print("\n".join(["", message, f"last lines of {log}:", *("  " + line for line in tail)]))
    raise SystemExit(1)


def synced_streams(config: dict) -> set[str]:
    """The streams a run with ``config`` writes (a vendor's other API versions write none)."""
    return {CALL_RECORDS} | {
        each.name for vendor in VENDORS if vendor.key in config
        for stream in vendor.configured_streams(config[vendor.key]) for each in (stream, *stream.derived)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--records", type=int, default=25_000, help="calls per vendor")
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    args = parser.parse_args()

    meltano = meltano_executable()
    output: Path = args.output.resolve()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    log = output / "demo.log"
    infos = stream_infos()
    vendors = list(dict.fromkeys(info.settings for info in infos if info.stream != CALL_RECORDS))
    expected = {info.stream: rows_in_data_set(REPORTS[info.stream], args.records) if info.stream in REPORTS
                else args.records * (len(vendors) if info.stream == CALL_RECORDS else
                                     2 if info.stream in PARTS else 1)
                for info in infos}

    print(f"tap-callrecords demo: {args.records:,} calls per vendor ({', '.join(vendors)}) from the local "
          "sandbox,\n`meltano run tap-callrecords target-jsonl` into target-jsonl files.")
    print(f"Meltano's and the tap's logs: {log}\n")
    with SandboxProcess() as sandbox:
        config = sandbox.configure_vendors(dict.fromkeys(vendors, args.records))
        synced = synced_streams(config)
        infos = [info for info in infos if info.stream in synced]
        env = {
            **os.environ,
            **env_for(config),
            "TARGET_JSONL_DESTINATION_PATH": str(output),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        started = time.monotonic()
        print("meltano install: the tap and target-jsonl in Meltano's plugin environments ...",
              end=" ", flush=True)
        if run_meltano(meltano, ["install", "tap-callrecords", "target-jsonl"], env, log) != 0:
            fail("meltano install failed.", log)
        print(f"done ({time.monotonic() - started:.0f} s)\n")

        landings = [Landing(info.stream, info.vendor, output / f"{info.stream}.jsonl", expected[info.stream])
                    for info in infos]
        started = time.monotonic()
        print("meltano run --full-refresh tap-callrecords target-jsonl")
        if run_meltano(meltano, ["run", "--full-refresh", "tap-callrecords", "target-jsonl"], env, log,
                       ProgressView(landings)) != 0:
            fail("meltano run failed.", log)
        elapsed = time.monotonic() - started

    summaries = tap_summaries(log)
    print(f"\nlanded in {elapsed:.0f} s:\n")
    header = (f"{'vendor':<20} {'stream':<{STREAM_WIDTH}} {'calls':>9} {'unique':>9}  "
              f"{'first call (UTC)':<19}  {'last call (UTC)':<19} {'requests':>8} {'retries':>7}")
    print(header)
    print("-" * len(header))
    failures = 0
    files = {info.stream: output / f"{info.stream}.jsonl" for info in infos}
    landed = {stream: [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
              for stream, path in files.items()}
    for stream, (calls, parts_of) in PARTS.items():
        expected[stream] = sum(parts_of(call) for call in landed.get(calls, ()))
    for info in infos:
        rows = landed[info.stream]
        keys = {tuple(row[key] for key in info.primary_keys) for row in rows}
        moments = sorted(row[info.replication_key] for row in rows if row.get(info.replication_key))
        first, last = (when(moments[0]), when(moments[-1])) if moments else ("-", "-")
        ok = len(rows) == len(keys) == expected[info.stream]
        failures += not ok
        summary = summaries.get(info.stream, {})
        vendor = "all" if info.stream == CALL_RECORDS else info.vendor
        print(f"{vendor:<20} {info.stream:<{STREAM_WIDTH}} {len(rows):>9,} {len(keys):>9,}  "
              f"{first:<19}  {last:<19} "
              f"{summary.get('requests', '-'):>8} {summary.get('retries', '-'):>7}"
              + ("" if ok else f"  MISMATCH: expected {expected[info.stream]:,}"))
    print_calls_by_vendor(output / f"{CALL_RECORDS}.jsonl")

    print(f"\nwhere it landed:\n  records  {output}/<stream>.jsonl (one JSON object per line)")
    for info in infos:
        path = output / f"{info.stream}.jsonl"
        size = path.stat().st_size / 1e6 if path.exists() else 0.0
        print(f"           {path.name:<{STREAM_WIDTH + 6}} {size:8.1f} MB")
    print(f"  state    Meltano's system database in {ROOT / '.meltano'}, state ID {STATE_ID}\n"
          f"           (cd {ROOT} && {meltano} state get {STATE_ID})")
    print(f"  logs     {log}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
