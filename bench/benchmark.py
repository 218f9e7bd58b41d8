"""Benchmark: records/s and peak memory of the tap against the sandbox.

    python bench/benchmark.py --records 1000000
    python bench/benchmark.py --records 200000 --vendor voiso --baseline-records 100000

For each vendor it syncs N records from a local sandbox and prints the tap's records/s
(whole process, start-up included) and peak RSS; in the same run it measures the SDK's
default pipeline (``bench/baseline_tap.py``: default writer, recursive type
conformance) on the same data set, and prints the ratio.

Then ``call_records``, on a data set of ``--call-records-records`` (runs interleaved,
``--repeat`` times each; the medians): the vendor stream alone, the vendor stream and
``call_records`` in one run (one read feeds both; its wall time against the vendor
stream's alone, bar: 1.3x), and ``call_records`` alone (its records/s against the
vendor stream's).

For Talkdesk (report jobs) it also prints:

- one report of N rows in every file format the tap offers (records/s, peak RSS);
- a 12-month backfill with a sandbox job duration of D seconds (``--job-seconds``),
  run with 6 jobs at once and with one at a time: the wall time of each, in units of D.

With ``--latency-table``, for the paged vendors (Zoom, Smartflo, Voiso) with every reply
answered after each of ``--latencies`` and the rate cap set to what an account allows:
the requests/s reached, as a share of the cap (requests after the first / the time from
the sandbox's first request to its last / cap), one window at a time and with the
vendor's default ``max_parallel_windows``, in the same run; also the busiest one-second
span the sandbox saw against the cap.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import typing as t
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tap_callrecords.sandbox.client import SandboxProcess, settings_key, vendor_config
from tap_callrecords.sandbox.vendors import ALTERNATIVE_APIS, VENDOR_APIS

ROOT = Path(__file__).resolve().parent.parent
#: Each vendor's stream (``call_records`` is read through it).
#: ``voiso_v4`` is Voiso's API v4 on the same calls as ``voiso`` (v2), measured beside it.
VENDOR_STREAMS = {"voiso": "voiso_cdr", "voiso_v4": "voiso_cdrs_v4", "smartflo": "smartflo_call_records",
                  "zoom": "zoom_voice_calls", "talkdesk": "talkdesk_calls"}


@dataclass
class Measurement:
    records: int
    seconds: float
    peak_rss_mb: float
    by_stream: Counter[str] = field(default_factory=Counter)
    #: The tap process's user + system CPU seconds (steadier than wall time on a shared VM).
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.records / self.seconds


def catalog_selecting(config: dict, streams: set[str], workdir: Path) -> Path:
    """The tap's discovered catalog with only ``streams`` selected."""
    config_path = workdir / "discover-config.json"
    config_path.write_text(json.dumps(config))
    discover = [sys.executable, "-m", "tap_callrecords", "--config", str(config_path), "--discover"]
    catalog = json.loads(subprocess.run(discover, capture_output=True, check=True, cwd=ROOT).stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    path = workdir / f"catalog-{'-'.join(sorted(streams))}.json"
    path.write_text(json.dumps(catalog))
    return path


def run_tap(command: list[str], config: dict, workdir: Path, catalog: Path | None = None) -> Measurement:
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    output_path = workdir / "out.jsonl"
    selection = ["--catalog", str(catalog)] if catalog else []
    with output_path.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen([*command, *selection, "--config", str(config_path)], stdout=output,
                                   stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"tap exited with status {status}: {command}")
    by_stream: Counter[str] = Counter()
    with output_path.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"RECORD"') or b'"type": "RECORD"' in line[:40]:
                stream = line.split(b'"stream":', 1)[1].split(b'"', 2)[1]
                by_stream[stream.decode()] += 1
    output_path.unlink()
    return Measurement(by_stream.total(), elapsed, usage.ru_maxrss / 1024, by_stream,
                       usage.ru_utime + usage.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--baseline-records", type=int, default=None,
                        help="records for the SDK-default run (default: same as --records)")
    parser.add_argument("--vendor", action="append", help="vendor(s) to measure (default: all)")
    parser.add_argument("--call-records-records", type=int, default=300_000,
                        help="records per run of the call_records comparison")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each call_records configuration (0: no call_records comparison)")
    parser.add_argument("--job-seconds", type=float, default=5.0,
                        help="Talkdesk: sandbox job duration D for the 12-month backfill")
    parser.add_argument("--latency-table", action="store_true",
                        help="the requests/s against the cap at each of --latencies (paged vendors)")
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.25, 1.0],
                        help="seconds per reply for the latency table")
    parser.add_argument("--latency-scale", type=float, default=1.0,
                        help="latency table: share of each backfill's default size (smaller: faster)")
    parser.add_argument("--latency-windows", nargs="+", default=["1", "default"],
                        help="latency table: the max_parallel_windows to run, a number or 'default'")
    parser.add_argument("--only-latency-table", action="store_true", help="the latency table alone")
    parser.add_argument("--max-parallel-windows", type=int, default=None,
                        help="records benchmark: windows read at once (default: the vendor's default)")
    args = parser.parse_args()
    if args.only_latency_table:
        with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as tmp:
            latency_table(sandbox, args, Path(tmp))
        return

    vendors = args.vendor or [*VENDOR_APIS, *ALTERNATIVE_APIS]
    ours = [sys.executable, "-m", "tap_callrecords"]
    baseline = [sys.executable, str(ROOT / "bench" / "baseline_tap.py")]
    print(f"{'vendor':<10} {'pipeline':<22} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak MB':>8}")
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as tmp:
        for vendor in vendors:
            stream = VENDOR_STREAMS[vendor]
            results = {}
            for label, command, count in (
                ("tap-callrecords", ours, args.records),
                ("SDK default pipeline", baseline, args.baseline_records or args.records),
            ):
                sandbox.reset()
                config = sandbox.configure_benchmark(vendor, count)
                if args.max_parallel_windows is not None:
                    config[settings_key(vendor)]["max_parallel_windows"] = args.max_parallel_windows
                result = run_tap(command, config, Path(tmp), catalog_selecting(config, {stream}, Path(tmp)))
                check(result, vendor, label, {stream: count})
                results[label] = result
                print_row(vendor, label, result)
            speedup = results["tap-callrecords"].per_second / results["SDK default pipeline"].per_second
            print(f"{vendor:<10} speed-up over the SDK default pipeline: {speedup:.2f}x", flush=True)
            if vendor == "talkdesk":
                report_formats(sandbox, args.records, Path(tmp))
                backfill(sandbox, args.job_seconds, Path(tmp))
        for vendor in vendors if args.repeat else ():
            call_records_cost(sandbox, vendor, args.call_records_records, args.repeat, Path(tmp))
        if args.latency_table:
            latency_table(sandbox, args, Path(tmp))


def check(result: Measurement, vendor: str, label: str, expected: dict[str, int]) -> None:
    if result.by_stream != expected:
        raise SystemExit(f"{vendor}/{label}: expected {expected}, got {dict(result.by_stream)}")


def print_row(vendor: str, label: str, result: Measurement) -> None:
    print(f"{vendor:<10} {label:<22} {result.records:>9} {result.seconds:>8.2f} "
          f"{result.per_second:>10.0f} {result.peak_rss_mb:>8.1f}", flush=True)


def call_records_cost(sandbox: SandboxProcess, vendor: str, count: int, repeat: int, workdir: Path) -> None:
    """The vendor stream alone, with ``call_records``, and ``call_records`` alone, each
    ``repeat`` times interleaved; the median of each."""
    stream = VENDOR_STREAMS[vendor]
    selections = {"vendor stream": {stream}, "+ call_records": {stream, "call_records"},
                  "call_records alone": {"call_records"}}
    sandbox.reset()
    config = sandbox.configure_benchmark(vendor, count)
    catalogs = {label: catalog_selecting(config, streams, workdir) for label, streams in selections.items()}
    runs: dict[str, list[Measurement]] = {label: [] for label in selections}
    for _ in range(repeat):
        for label, streams in selections.items():
            sandbox.reset()
            config = sandbox.configure_benchmark(vendor, count)
            result = run_tap([sys.executable, "-m", "tap_callrecords"], config, workdir, catalogs[label])
            check(result, vendor, label, dict.fromkeys(streams, count))
            runs[label].append(result)
    medians = {label: sorted(results, key=lambda m: m.seconds)[len(results) // 2]
               for label, results in runs.items()}
    for label, result in medians.items():
        print_row(vendor, f"{label} (median)", result)
    alone = medians["vendor stream"]
    both = medians["+ call_records"].seconds / alone.seconds
    cpu = {label: sorted(m.cpu_seconds for m in results)[len(results) // 2]
           for label, results in runs.items()}
    only_rate = medians["call_records alone"].per_second / alone.per_second
    spread = ", ".join(f"{label}: " + "/".join(f"{m.seconds:.2f}" for m in results)
                       for label, results in runs.items())
    print(f"{vendor:<10} {stream} + call_records: {both:.2f}x the wall time of {stream} alone (bar 1.3x), "
          f"{cpu['+ call_records'] / cpu['vendor stream']:.2f}x its CPU time; call_records alone: "
          f"{only_rate:.2f}x its records/s (wall seconds of each run: {spread})", flush=True)


def report_formats(sandbox: SandboxProcess, count: int, workdir: Path) -> None:
    """One report of ``count`` rows in each file format."""
    for report_format in ("csv", "json", "json_bulk"):
        sandbox.reset()
        config = sandbox.configure_benchmark("talkdesk", count)
        config["talkdesk"]["report_format"] = report_format
        result = run_tap([sys.executable, "-m", "tap_callrecords"], config, workdir,
                         catalog_selecting(config, {"talkdesk_calls"}, workdir))
        check(result, "talkdesk", report_format, {"talkdesk_calls": count})
        print_row("talkdesk", f"one {report_format} report", result)


def backfill(sandbox: SandboxProcess, job_seconds: float, workdir: Path) -> None:
    """A year in 12 windows of 31 days or less, each report job taking ``job_seconds``."""
    options = {"count": 12_000, "start": "2024-01-01T00:00:00+00:00", "end": "2024-12-31T00:00:00+00:00",
               "job_duration": job_seconds}
    for jobs in (6, 1):
        sandbox.reset()
        sandbox.configure("talkdesk", **options)
        config = vendor_config(sandbox.url, "talkdesk", options)
        config["talkdesk"]["max_concurrent_jobs"] = jobs
        result = run_tap([sys.executable, "-m", "tap_callrecords"], config, workdir,
                         catalog_selecting(config, {"talkdesk_calls"}, workdir))
        if result.records != options["count"]:
            raise SystemExit(f"talkdesk backfill: expected {options['count']} records, got {result.records}")
        created = sandbox.stats()["talkdesk"]["vendor"]["jobs_created"]
        print(f"talkdesk   12-month backfill, {jobs} job(s) at once: {created} jobs of D = {job_seconds:g} s "
              f"took {result.seconds:.1f} s = {result.seconds / job_seconds:.1f} x D", flush=True)


#: Per paged vendor: the cap an account allows, a backfill (data set options) and the
#: settings it is read with: days of calls, some hundreds of requests at full size. Zoom's
#: and Smartflo's are the backfills issue #18 measured (30 days, 30,000 calls, pages of
#: 100; 3 days, 6,000 calls), so their shares read against its table.
JUNE = {"start": "2024-06-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00"}
LATENCY_BACKFILLS: dict[str, tuple[float, dict[str, object], dict[str, object]]] = {
    "zoom": (10, {"count": 30_000, **JUNE}, {"page_size": 100}),
    "smartflo": (5, {"count": 6_000, "start": "2024-07-01T00:00:00+00:00",
                     "end": "2024-07-04T00:00:00+00:00"}, {"page_size": 100}),
    "voiso": (5, {"count": 20_000, **JUNE}, {"per_page": 100, "window_days": 1}),
}


def latency_table(sandbox: SandboxProcess, args: argparse.Namespace, workdir: Path) -> None:
    """Requests/s against the cap, one window at a time and the default concurrency, at
    each of ``--latencies``, for the ``--vendor`` named (default: every paged vendor);
    every run checked for its exact record count."""
    windows = [None if value == "default" else int(value) for value in args.latency_windows]
    print(f"{'vendor':<10} {'latency':>8} {'windows':>8} {'cap':>5} {'requests':>9} {'req/s':>7} "
          f"{'share':>6} {'of wall':>7} {'busiest s':>9} {'records':>8}")
    for vendor, (cap, data, settings) in LATENCY_BACKFILLS.items():
        if args.vendor and vendor not in args.vendor:
            continue
        options = {**data, "count": max(1, int(int(t.cast("int", data["count"])) * args.latency_scale))}
        for latency in args.latencies:
            for parallel in windows:
                sandbox.reset()
                sandbox.configure(vendor, **options, latency=latency)
                config = vendor_config(sandbox.url, vendor, options)
                config[vendor].update({**settings, "max_requests_per_second": cap})
                if parallel is not None:
                    config[vendor]["max_parallel_windows"] = parallel
                stream = VENDOR_STREAMS[vendor]
                result = run_tap([sys.executable, "-m", "tap_callrecords"], config, workdir,
                                 catalog_selecting(config, {stream}, workdir))
                check(result, vendor, f"latency {latency:g} s", {stream: int(options["count"])})
                stats = sandbox.stats()[vendor]
                rate = (stats["requests"] - 1) / stats["span_seconds"] if stats["span_seconds"] else 0.0
                print(f"{vendor:<10} {latency:>7g}s {parallel or 'default':>8} {cap:>5g} "
                      f"{stats['requests']:>9} {rate:>7.2f} {rate / cap:>6.2f} "
                      f"{stats['requests'] / result.seconds / cap:>7.2f} "
                      f"{stats['max_per_second']:>9} {result.records:>8}",
                      flush=True)


if __name__ == "__main__":
    main()
