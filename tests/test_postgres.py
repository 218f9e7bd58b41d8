"""The tap in a real PostgreSQL: ``meltano run tap-callrecords target-postgres`` (the loader
as meltano.yml declares it, installed by ``meltano install``) from the sandbox with all
four vendors, into a throwaway server (the ``postgres`` fixture, tests/postgres.py), then
checked with SQL: every call in its vendor's table once, and once in ``call_records``.

A second, incremental run starts from the state Meltano kept: the lookback makes the tap
re-read and re-emit the last hours' calls, and the target's upsert by primary key must
leave every key once. Meltano's system database is a fresh one in a temporary directory,
so the first run has no state and nothing is shared with the demo or a developer's runs.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import yaml

from scripts.demo import env_for, meltano_executable
from tap_callrecords.sandbox.client import SandboxProcess
from tests.conftest import ROOT
from tests.postgres import PostgresServer
from tests.targets import CALL_RECORDS, summaries

#: Each vendor's table and primary key (the tap's stream names, unchanged by the target).
VENDOR_TABLES = {
    "voiso": ("voiso_cdr", "uuid"),
    "smartflo": ("smartflo_call_records", "id"),
    "zoom": ("zoom_voice_calls", "engagement_id"),
    "talkdesk": ("talkdesk_calls", "interaction_id"),
}
#: Calls per vendor in the sandbox (different, so a count landing in the wrong table shows).
COUNTS = {"voiso": 1_500, "smartflo": 1_200, "zoom": 1_000, "talkdesk": 1_300}
SCHEMA = "callrecords"
STATE_ID = "dev:tap-callrecords-to-target-postgres"


@dataclass
class Warehouse:
    """The repository's Meltano project pointed at the sandbox and the throwaway server."""

    postgres: PostgresServer
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    def meltano(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run([meltano_executable(), *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"meltano {' '.join(args)} failed:\n{output[-6000:]}"
        return output

    def run(self) -> str:
        """``meltano run tap-callrecords target-postgres``; its output, kept in ``outputs``."""
        self.outputs.append(self.meltano("run", "tap-callrecords", "target-postgres"))
        return self.outputs[-1]

    def query(self, sql: str) -> list[tuple[str, ...]]:
        return self.postgres.query(sql)

    def count(self, sql: str) -> int:
        return int(self.postgres.scalar(sql))

    def tables(self) -> set[str]:
        return {name for (name,) in self.query(
            f"select table_name from information_schema.tables where table_schema = '{SCHEMA}'")}

    def primary_key(self, table: str) -> list[str]:
        """The columns of the table's primary key constraint, in order ([] when it has none)."""
        return [name for (name,) in self.query(f"""
            select a.attname from pg_index i
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
            where i.indrelid = '{SCHEMA}.{table}'::regclass and i.indisprimary
            order by array_position(i.indkey, a.attnum)""")]


@pytest.fixture(scope="module")
def warehouse(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The sandbox with every vendor's calls, the loader installed and the first run done."""
    system_db = tmp_path_factory.mktemp("meltano-system-db") / "meltano.db"
    with SandboxProcess(cwd=ROOT) as sandbox:
        config = sandbox.configure_vendors(COUNTS)
        env = {
            **os.environ,
            **env_for(config),
            "TARGET_POSTGRES_HOST": postgres.host,
            "TARGET_POSTGRES_PORT": str(postgres.port),
            "TARGET_POSTGRES_USER": postgres.user,
            "TARGET_POSTGRES_PASSWORD": "unused-trust-auth",  # the server trusts localhost
            "TARGET_POSTGRES_DATABASE": postgres.database,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
            "MELTANO_DATABASE_URI": f"sqlite:///{system_db}",  # fresh: no state from other runs
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        warehouse = Warehouse(postgres, env)
        warehouse.meltano("install", "tap-callrecords", "target-postgres")
        warehouse.run()
        yield warehouse


def assert_vendor_tables_hold_every_call_once(warehouse: Warehouse) -> None:
    for vendor, (table, key) in VENDOR_TABLES.items():
        rows, keys, null_keys = warehouse.query(
            f'select count(*), count(distinct "{key}"), count(*) - count("{key}") from {SCHEMA}.{table}')[0]
        assert (int(rows), int(keys), int(null_keys)) == (COUNTS[vendor], COUNTS[vendor], 0), (
            f"{table}: {rows} rows, {keys} distinct {key}, {null_keys} null; sandbox has {COUNTS[vendor]}")


def assert_call_records_hold_one_row_per_call(warehouse: Warehouse) -> None:
    tables = warehouse.tables()
    assert CALL_RECORDS in tables, f"no table {SCHEMA}.{CALL_RECORDS}; the schema has {sorted(tables)}"
    duplicates = warehouse.query(f"select vendor, call_id, count(*) from {SCHEMA}.{CALL_RECORDS} "
                                 "group by vendor, call_id having count(*) > 1 limit 5")
    assert duplicates == [], duplicates
    assert warehouse.count(f"select count(*) from {SCHEMA}.{CALL_RECORDS} "
                           "where vendor is null or call_id is null") == 0
    by_vendor = dict(warehouse.query(f"select vendor, count(*) from {SCHEMA}.{CALL_RECORDS} group by vendor"))
    assert {vendor: int(count) for vendor, count in by_vendor.items()} == COUNTS
    for vendor, (table, key) in VENDOR_TABLES.items():
        vendor_keys = f'select "{key}"::text from {SCHEMA}.{table}'
        call_ids = f"select call_id::text from {SCHEMA}.{CALL_RECORDS} where vendor = '{vendor}'"
        only_in_vendor_table = warehouse.query(f"{vendor_keys} except {call_ids} limit 5")
        only_in_call_records = warehouse.query(f"{call_ids} except {vendor_keys} limit 5")
        assert only_in_vendor_table == [], f"{vendor}: calls of {table} missing from {CALL_RECORDS}"
        assert only_in_call_records == [], f"{vendor}: call_ids of {CALL_RECORDS} not in {table}"
        assert warehouse.count(f"select count(*) from {SCHEMA}.{CALL_RECORDS} where vendor = '{vendor}'") \
            == warehouse.count(f"select count(*) from {SCHEMA}.{table}")


def assert_no_table_has_a_duplicate_key(warehouse: Warehouse) -> None:
    """Every table of the schema whose rows have a key: each key once."""
    keys = {table: [key] for table, key in VENDOR_TABLES.values()} | {CALL_RECORDS: ["vendor", "call_id"]}
    for table in sorted(warehouse.tables()):
        columns = warehouse.primary_key(table) or keys.get(table)
        assert columns, f"{SCHEMA}.{table} has no primary key to check"
        listed = ", ".join(f'"{column}"' for column in columns)
        duplicates = warehouse.query(f"select {listed}, count(*) from {SCHEMA}.{table} group by {listed} "
                                     "having count(*) > 1 limit 5")
        assert duplicates == [], f"{table}: duplicate keys {duplicates}"


def test_meltano_yml_declares_target_postgres_pinned_and_upserting():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    loader = next(p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres")
    assert loader["variant"] == "meltanolabs"
    assert re.fullmatch(r"meltanolabs-target-postgres==[\d.]+", loader["pip_url"])
    assert loader["config"]["load_method"] == "upsert"
    assert {"host", "port", "user", "password", "database", "default_target_schema"} <= {
        s["name"] for s in loader["settings"]}
    assert next(s for s in loader["settings"] if s["name"] == "password")["sensitive"]


def test_every_call_lands_in_its_vendor_table_once(warehouse):
    assert set(summaries(warehouse.outputs[0])) >= {table for table, _ in VENDOR_TABLES.values()}
    assert {table for table, _ in VENDOR_TABLES.values()} <= warehouse.tables()
    assert_vendor_tables_hold_every_call_once(warehouse)
    for table, key in VENDOR_TABLES.values():  # the target keys each table by the stream's primary key
        assert warehouse.primary_key(table) == [key], table


def test_call_records_holds_one_row_per_call_of_every_vendor(warehouse):
    assert_call_records_hold_one_row_per_call(warehouse)


def test_an_incremental_run_re_emits_the_lookback_and_leaves_every_key_once(warehouse):
    first_state = warehouse.meltano("state", "get", STATE_ID)
    assert "bookmarks" in first_state

    output = warehouse.run()  # from Meltano's state: the lookback (540 minutes) is read again

    said = summaries(output)
    reread = {table: said[table]["reread"] for table, _ in VENDOR_TABLES.values()}
    assert all(count > 0 for count in reread.values()), reread  # the upsert had duplicates to merge
    assert all(said[table]["records"] == reread[table] for table in reread), said
    assert_no_table_has_a_duplicate_key(warehouse)
    assert_vendor_tables_hold_every_call_once(warehouse)
    assert_call_records_hold_one_row_per_call(warehouse)
