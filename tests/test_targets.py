"""The target matrix (#21): the tap's output loaded twice, a backfill and then an
incremental run from the state the *target* printed (what Meltano keeps), into
MeltanoLabs target-postgres and MeltanoLabs target-csv, each in three modes: plain
RECORD messages, ``flattening_enabled`` (depth 1) and ``batch_config`` (jsonl, gzip).
Every stream is selected, as Meltano's default ``select`` (``*.*``) selects them.

Both targets are built on the Meltano SDK and validate every RECORD against the SCHEMA
the tap sent (``validate_records``, on by default): a record that failed would stop the
load. Every vendor and ``call_records`` run together, as users run them, from one
sandbox of a few calls per vendor, into one PostgreSQL server (a schema per mode) and a
directory per run of target-csv. Each load is ``tap | target``, two processes joined by a
pipe (tests/targets.py); the targets are the loaders of meltano.yml, installed by
``meltano install``.

Per leg (target and mode) and per stream:

- the backfill lands every sandbox call once, and the target's last state has every
  bookmark at the run's end;
- the incremental run writes exactly the lookback's re-reads: the backfill's calls whose
  replication key is within ``lookback_minutes`` of the bookmark, and nothing else (no
  loss, no growth beyond the dedupe); ``call_records`` re-reads those same calls;
- after both runs target-postgres, which upserts by primary key, holds every call once;
  target-csv never upserts: each run writes files of its own (``{timestamp}`` in their
  names), which hold both runs' rows, each key once per run.

Neither target declares the ``batch`` capability, yet both load BATCH messages: the SDK
they are built on reads a BATCH message's files for any target (``Sink.process_batch_files``,
jsonl and gzip), without validating those records against the SCHEMA. The batch legs
assert exactly that: the same rows as plain RECORD messages.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from scripts.demo import meltano_executable
from tap_callrecords.about import StreamInfo, streams
from tap_callrecords.sandbox.client import SandboxProcess
from tap_callrecords.sandbox.talkdesk_reports import rows_in_data_set
from tap_callrecords.vendors.talkdesk.api import CALLS_REPORT
from tap_callrecords.vendors.talkdesk.stream import REPORT_STREAMS
from tests.conftest import ROOT, every_vendor_config, tap_command, write_json
from tests.postgres import PostgresServer
from tests.targets import CALL_RECORDS, Load, install_loaders, load, loader, loader_executable

#: Calls per vendor: few, so the twelve loads stay quick.
COUNT = 200
#: Two days: the sandbox's calls are hours apart, so the default lookback would re-read a
#: couple of calls per stream; this one re-reads enough to show the dedupe.
LOOKBACK_MINUTES = 2 * 24 * 60
MODES = ("plain", "flattened", "batch")
POSTGRES, CSV = "target-postgres", "target-csv"
TARGETS = (POSTGRES, CSV)
#: A column that flattening makes of a nested object, and the object's own column.
FLATTENED_COLUMNS = {"voiso_cdr": ("sla__time_to_first_response", "sla"),
                     "smartflo_call_records": ("contact_details__id", "contact_details")}
#: Streams that sync nothing here: voiso_cdrs_v4 reads only with ``voiso.api_version`` v4,
#: and the sandbox's Voiso config is v2's (voiso_cdr): no SCHEMA, no rows, no bookmark.
UNSYNCED = ("voiso_cdrs_v4",)
#: Streams that land but not one row per call: zoom_voice_call_legs, one row per leg (its
#: count is the legs', checked in tests/test_zoom_legs.py).
PER_LEG = ("zoom_voice_call_legs",)
#: Talkdesk's reports other than calls -> their report type: rows of the calls' parts.
REPORTS = {stream.name: stream.report for stream in REPORT_STREAMS if stream.report != CALLS_REPORT}
#: The streams this matrix checks row by row.
STREAMS = {info.stream: info for info in streams() if info.stream not in UNSYNCED + PER_LEG}
VENDOR_STREAMS = {stream: info for stream, info in STREAMS.items() if stream != CALL_RECORDS}
#: The vendor streams call_records is made of: one row per call.
CALL_STREAMS = {stream: info for stream, info in VENDOR_STREAMS.items() if stream not in REPORTS}

Key = tuple[str, ...]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def expected_rows(stream: str) -> int:
    """The sandbox's rows of ``stream``: its calls (every vendor's in call_records), or a
    report's rows of those calls."""
    if stream in REPORTS:
        return rows_in_data_set(REPORTS[stream], COUNT)
    return COUNT * (len(CALL_STREAMS) if stream == CALL_RECORDS else 1)


@dataclass(frozen=True)
class Row:
    """What the tests read back of a row: its primary key and its replication key."""

    key: Key
    replicated_at: datetime


@dataclass
class StreamLoad:
    """One stream of one leg, as the destination holds it."""

    first_rows: list[Row]  # the rows the backfill wrote
    second_rows: list[Row]  # the rows the incremental run wrote
    held: list[Key]  # the keys of every row held after both runs

    @property
    def first(self) -> list[Key]:
        return [row.key for row in self.first_rows]

    @property
    def second(self) -> list[Key]:
        return [row.key for row in self.second_rows]

    def first_since(self, since: datetime) -> set[Key]:
        """The keys of the backfill's rows whose replication key is ``since`` or later."""
        return {row.key for row in self.first_rows if row.replicated_at >= since}


class Destination(Protocol):
    """Where one leg's two runs land, and how to read back what each run wrote."""

    def config(self, run: int) -> dict[str, Any]: ...
    def before(self, run: int) -> None: ...
    def rows(self, run: int, info: StreamInfo) -> list[Row]: ...
    def held(self, info: StreamInfo) -> list[Key]: ...
    def columns(self, stream: str) -> list[str]: ...
    def landed(self, stream: str) -> bool: ...


class PostgresDestination:
    """A schema of its own per mode. The rows a run wrote are those whose row version
    (``xmin``) is that run's: the upsert inserts or updates every key it is sent."""

    def __init__(self, server: PostgresServer, mode: str) -> None:
        self.server, self.schema = server, f"matrix_{mode}"
        self._first_transaction: dict[int, int] = {}

    def config(self, run: int) -> dict[str, Any]:
        return {**loader(POSTGRES)["config"], "host": self.server.host, "port": self.server.port,
                "user": self.server.user, "password": "unused-trust-auth",
                "database": self.server.database, "default_target_schema": self.schema}

    def before(self, run: int) -> None:
        # A new server is in its first transaction id epoch: an id equals its rows' xmin.
        self._first_transaction[run] = int(self.server.scalar("select pg_current_xact_id()::text::bigint"))

    def rows(self, run: int, info: StreamInfo) -> list[Row]:
        keys = ", ".join(f'"{column}"::text' for column in info.primary_keys)
        written = self.server.query(
            f'select {keys}, extract(epoch from "{info.replication_key}") from {self.schema}.{info.stream} '
            f"where xmin::text::bigint >= {self._first_transaction[run]}")
        return [Row(values[:-1], datetime.fromtimestamp(float(values[-1]), timezone.utc))
                for values in written]

    def held(self, info: StreamInfo) -> list[Key]:
        return [tuple(values) for values in self.table_rows(info.stream, info.primary_keys)]

    def columns(self, stream: str) -> list[str]:
        return [name for (name,) in self.server.query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{self.schema}' and table_name = '{stream}' order by ordinal_position")]

    def landed(self, stream: str) -> bool:
        """Whether the target made a table of ``stream`` (it does on the stream's SCHEMA)."""
        return bool(self.server.query(
            "select 1 from information_schema.tables "
            f"where table_schema = '{self.schema}' and table_name = '{stream}'"))

    def table_rows(self, stream: str, columns: list[str]) -> list[tuple[str, ...]]:
        """Every row's ``columns`` as text."""
        listed = ", ".join(f'"{column}"::text' for column in columns)
        return self.server.query(f"select {listed} from {self.schema}.{stream}")


class CsvDestination:
    """A directory per run: the rows a run wrote are its files' rows."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def config(self, run: int) -> dict[str, Any]:
        return {**loader(CSV)["config"], "output_path": str(self.root / f"run{run}")}

    def before(self, run: int) -> None:
        """Nothing to note: each run writes a directory of its own."""

    def file(self, run: int, stream: str) -> Path:
        [path] = (self.root / f"run{run}").glob(f"{stream}-*.csv")  # one file per stream and run
        return path

    def records(self, run: int, stream: str) -> list[dict[str, str]]:
        with self.file(run, stream).open(newline="") as file:
            return list(csv.DictReader(file))

    def rows(self, run: int, info: StreamInfo) -> list[Row]:
        return [Row(tuple(record[column] for column in info.primary_keys),
                    instant(record[info.replication_key])) for record in self.records(run, info.stream)]

    def held(self, info: StreamInfo) -> list[Key]:
        """Both runs' rows: the target appends, a consumer dedupes by key."""
        return [row.key for run in (1, 2) for row in self.rows(run, info)]

    def columns(self, stream: str) -> list[str]:
        with self.file(1, stream).open(newline="") as file:
            return next(csv.reader(file))

    def landed(self, stream: str) -> bool:
        """Whether either run wrote a file of ``stream``."""
        return any(path for run in (1, 2) for path in (self.root / f"run{run}").glob(f"{stream}-*.csv"))


@dataclass
class Leg:
    """One target in one mode, loaded twice."""

    target: str
    mode: str
    destination: Destination
    loads: list[Load]
    streams: dict[str, StreamLoad]
    columns: dict[str, list[str]]  # each stream's columns in the destination
    batch_files: list[Path]

    @property
    def upserts(self) -> bool:
        return self.target == POSTGRES and loader(POSTGRES)["config"]["load_method"] == "upsert"

    @property
    def bookmarks(self) -> dict[str, dict[str, datetime]]:
        """Per stream, each vendor's bookmark in the state the target printed last in the
        backfill (the one the incremental run started from)."""
        found: dict[str, dict[str, datetime]] = {}
        for stream, state in self.loads[0].states[-1]["bookmarks"].items():
            if stream in PER_LEG:  # its bookmark is checked in tests/test_zoom_legs.py
                continue
            if stream == CALL_RECORDS:
                found[stream] = {part["context"]["vendor"]: instant(part["replication_key_value"])
                                 for part in state["partitions"]}
            else:
                found[stream] = {STREAMS[stream].settings: instant(state["replication_key_value"])}
        return found

    def lookback_rereads(self, stream: str) -> set[Key]:
        """What the incremental run must write: for a vendor stream, the backfill's rows
        within the lookback of its bookmark; for call_records, those same calls."""
        if stream == CALL_RECORDS:
            return {(STREAMS[vendor_stream].settings, *key)
                    for vendor_stream in CALL_STREAMS for key in self.lookback_rereads(vendor_stream)}
        [bookmark] = self.bookmarks[stream].values()
        return self.streams[stream].first_since(bookmark - timedelta(minutes=LOOKBACK_MINUTES))


@dataclass
class Matrix:
    """The sandbox's calls, the server and the installed targets; a leg loads on first use."""

    config: dict[str, Any]
    postgres: PostgresServer
    work: Path
    #: Each stream's top-level properties of format date-time, from the tap's catalog.
    date_time_properties: dict[str, set[str]]
    #: The tap's catalog with every stream selected.
    catalog: Path
    legs: dict[tuple[str, str], Leg] = field(default_factory=dict)

    def tap_config(self, mode: str, batches: Path) -> dict[str, Any]:
        modes: dict[str, dict[str, Any]] = {
            "plain": {},
            "flattened": {"flattening_enabled": True, "flattening_max_depth": 1},
            "batch": {"batch_config": {"encoding": {"format": "jsonl", "compression": "gzip"},
                                       "storage": {"root": batches.as_uri(), "prefix": "batch-"},
                                       "batch_size": 100}},
        }
        return {**self.config, "lookback_minutes": LOOKBACK_MINUTES, **modes[mode]}

    def destination(self, target: str, mode: str) -> Destination:
        if target == POSTGRES:
            return PostgresDestination(self.postgres, mode)
        return CsvDestination(self.work / f"{target}-{mode}" / "files")

    def leg(self, target: str, mode: str) -> Leg:
        if (target, mode) not in self.legs:
            self.legs[target, mode] = self._load_twice(target, mode)
        return self.legs[target, mode]

    def _load_twice(self, target: str, mode: str) -> Leg:
        work = self.work / f"{target}-{mode}"
        destination = self.destination(target, mode)
        tap_config = self.tap_config(mode, work / "batches")
        loads: list[Load] = []
        written: dict[str, list[list[Row]]] = {stream: [] for stream in STREAMS}
        for run in (1, 2):
            destination.before(run)
            state = loads[-1].states[-1] if loads else None  # what Meltano would hand the tap
            loads.append(load(tap_config, target, destination.config(run), work / f"run{run}", state,
                              catalog=self.catalog).check())
            for stream, info in STREAMS.items():
                written[stream].append(destination.rows(run, info))
        return Leg(
            target=target, mode=mode, destination=destination, loads=loads,
            streams={stream: StreamLoad(first, second, destination.held(STREAMS[stream]))
                     for stream, (first, second) in written.items()},
            columns={stream: destination.columns(stream) for stream in STREAMS},
            batch_files=sorted((work / "batches").glob("*.json.gz")),
        )


def discover(config: dict[str, Any], work: Path) -> tuple[dict[str, set[str]], Path]:
    """Each stream's top-level properties of format date-time, from ``--discover``, and
    the discovered catalog with every stream selected."""
    config_file = write_json(work / "discover.json", config)
    discovered = subprocess.run([*tap_command(), "--config", str(config_file), "--discover"],
                                capture_output=True, text=True, timeout=120, cwd=ROOT, check=True)
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = True
    date_times = {stream["tap_stream_id"]: {name for name, schema in stream["schema"]["properties"].items()
                                            if schema.get("format") == "date-time"}
                  for stream in catalog["streams"]}
    return date_times, write_json(work / "catalog.json", catalog)


@pytest.fixture(scope="module")
def matrix(sandbox_process: SandboxProcess, postgres: PostgresServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """Every vendor's calls in the sandbox; both targets installed by ``meltano install``."""
    work = tmp_path_factory.mktemp("target-matrix")
    env = {**os.environ, "MELTANO_DATABASE_URI": f"sqlite:///{work / 'meltano.db'}",
           "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}
    install_loaders(meltano_executable(), *TARGETS, env=env)
    sandbox_process.reset()
    config = every_vendor_config(sandbox_process, COUNT)
    yield Matrix(config, postgres, work, *discover(config, work))
    sandbox_process.reset()


LEGS = [pytest.param(target, mode, id=f"{target}-{mode}") for target in TARGETS for mode in MODES]


@pytest.mark.parametrize(("target", "mode"), LEGS)
def test_the_backfill_lands_every_call_once_and_the_targets_state_ends_at_the_runs_end(matrix, target, mode):
    leg = matrix.leg(target, mode)

    end = instant(matrix.config["end_date"])
    for stream, info in STREAMS.items():
        first = leg.streams[stream].first
        assert (len(first), len(set(first))) == (expected_rows(stream), expected_rows(stream)), stream
        vendors = [vendor.settings for vendor in CALL_STREAMS.values()] if stream == CALL_RECORDS \
            else [info.settings]
        assert leg.bookmarks[stream] == dict.fromkeys(vendors, end), stream
    assert set(leg.bookmarks) == set(STREAMS)  # and no bookmark of a stream that synced nothing
    assert leg.loads[1].states[-1] == leg.loads[0].states[-1]  # the incremental run ends there too
    assert matrix.config["voiso"].get("api_version", "v2") == "v2"
    for stream in UNSYNCED:  # voiso_cdrs_v4 under v2: nothing in either run
        assert not leg.destination.landed(stream), stream
        assert stream not in leg.loads[0].summaries and stream not in leg.loads[1].summaries, stream
    for stream in PER_LEG:  # it lands, from the Zoom read
        assert leg.destination.landed(stream), stream


@pytest.mark.parametrize(("target", "mode"), LEGS)
def test_the_incremental_run_from_the_targets_state_writes_the_lookbacks_rereads_only(matrix, target, mode):
    leg = matrix.leg(target, mode)

    tap_says = leg.loads[1].summaries
    for stream, loaded in leg.streams.items():
        assert len(loaded.second) == len(set(loaded.second)), f"{stream}: a key twice in one run"
        assert set(loaded.second) == leg.lookback_rereads(stream), stream
        if stream in VENDOR_STREAMS:  # the tap's own count agrees: every record of the run is a re-read
            assert tap_says[stream] == {"records": len(loaded.second), "reread": len(loaded.second)}, stream
            assert loaded.second, f"{stream}: nothing re-read, nothing for the target to dedupe"


@pytest.mark.parametrize(("target", "mode"), LEGS)
def test_after_both_runs_every_call_is_held_once_where_the_target_upserts(matrix, target, mode):
    leg = matrix.leg(target, mode)

    for stream, loaded in leg.streams.items():
        held = Counter(loaded.held)
        assert set(held) == set(loaded.first), stream  # no call lost, none made up
        if leg.upserts:
            assert len(loaded.held) == expected_rows(stream), f"{stream}: duplicates {held.most_common(3)}"
        else:  # target-csv appends: the re-reads are there twice, every other call once
            assert len(loaded.held) == expected_rows(stream) + len(loaded.second), stream
            assert {key for key, count in held.items() if count > 1} == set(loaded.second), stream


@pytest.mark.parametrize("target", TARGETS)
def test_flattened_records_land_in_flattened_columns(matrix, target):
    """Depth 1: each nested object becomes a column per property. The target validated
    every flattened record against the flattened SCHEMA, or the load would have stopped
    (test_each_target_stops_on_a_record_its_schema_refuses)."""
    flattened, plain = matrix.leg(target, "flattened"), matrix.leg(target, "plain")

    for stream, (flat_column, object_column) in FLATTENED_COLUMNS.items():
        assert flat_column in flattened.columns[stream] and object_column not in flattened.columns[stream]
        assert object_column in plain.columns[stream] and flat_column not in plain.columns[stream]


@pytest.mark.parametrize("target", TARGETS)
def test_batch_messages_load_the_same_rows_as_record_messages(matrix, target):
    """Neither target declares ``batch``; the SDK reads the BATCH files for them
    (``Sink.process_batch_files``), without validating the records against the SCHEMA and
    without adding the SDK's ``_sdc_*`` metadata, which it adds to RECORD messages only:
    target-postgres leaves those columns empty. Every other column holds the plain run's
    values. (target-csv writes a date-time as the SDK parsed it from a RECORD,
    ``2024-07-01 00:00:00+00:00``, and as the tap wrote it in a BATCH file,
    ``2024-07-01T00:00:00.000000+00:00``: the same instant.)"""
    batch, plain = matrix.leg(target, "batch"), matrix.leg(target, "plain")

    assert batch.batch_files and not plain.batch_files
    for stream in STREAMS:
        assert batch.columns[stream] == plain.columns[stream], stream
        data = [column for column in plain.columns[stream] if not column.startswith("_sdc_")]
        assert values(batch, stream, data, matrix.date_time_properties[stream]) \
            == values(plain, stream, data, matrix.date_time_properties[stream]), stream
        if target == POSTGRES:
            assert "_sdc_batched_at" in plain.columns[stream]
            counted = 'select count(*), count("_sdc_batched_at") from matrix_{}.' + stream
            rows = str(expected_rows(stream))
            assert matrix.postgres.query(counted.format("batch")) == [(rows, "0")], stream
            assert matrix.postgres.query(counted.format("plain")) == [(rows, rows)], stream


def values(leg: Leg, stream: str, columns: list[str], date_times: set[str]) -> Counter[tuple[Any, ...]]:
    """The ``columns`` of every row the leg's destination holds, a date-time as its instant."""
    destination = leg.destination
    if isinstance(destination, PostgresDestination):  # typed columns: one text form per value
        return Counter(destination.table_rows(stream, columns))
    assert isinstance(destination, CsvDestination)
    return Counter(tuple(instant(record[column]) if column in date_times and record[column]
                         else record[column] for column in columns)
                   for run in (1, 2) for record in destination.records(run, stream))


#: A record whose ``sla`` is an object where its SCHEMA allows only a string.
REFUSED = [{"type": "SCHEMA", "stream": "refused", "key_properties": ["id"],
            "schema": {"type": "object", "properties": {"id": {"type": "integer"},
                                                         "sla": {"type": ["string", "null"]}}}},
           {"type": "RECORD", "stream": "refused", "record": {"id": 1, "sla": {"time_to_reply": 5}}}]


@pytest.mark.parametrize("target", TARGETS)
def test_each_target_stops_on_a_record_its_schema_refuses(matrix, target, tmp_path):
    """What makes the matrix a check of the tap's records: these targets validate."""
    config = write_json(tmp_path / "config.json", matrix.destination(target, "refused").config(1))
    result = subprocess.run([str(loader_executable(target)), "--config", str(config)],
                            input="".join(json.dumps(message) + "\n" for message in REFUSED),
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert result.returncode != 0
    assert "Record Message Validation Error" in result.stderr, result.stderr[-3000:]


def test_meltano_yml_declares_every_target_pinned_exactly():
    """The targets install themselves (``meltano install``) on a clean machine, at the
    versions this matrix ran; Meltano cannot reach the Hub here, so each loader carries its
    whole definition."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    loaders = {plugin["name"]: plugin for plugin in project["plugins"]["loaders"]}
    assert set(TARGETS) <= set(loaders)
    for name, plugin in loaders.items():
        assert "==" in plugin["pip_url"] and " " not in plugin["pip_url"], name
        assert {"namespace", "executable", "settings"} <= set(plugin), name
    assert loaders[CSV]["variant"] == "meltanolabs"
    # Each run writes files of its own: a run's files never replace the last run's.
    assert "{timestamp}" in loaders[CSV]["config"]["file_naming_scheme"]
