"""Shared fixtures: one sandbox process for the session, reset before each test, a
helper that runs the tap as a real subprocess (the way Meltano and users run it), and a
throwaway PostgreSQL server for the session (started on first use)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tap_callrecords.sandbox.client import SandboxProcess
from tap_callrecords.sandbox.vendors import VENDOR_APIS
from tests.postgres import PostgresServer

#: The checkout the tests run in (Meltano project, scripts).
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with SandboxProcess(cwd=ROOT) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess) -> SandboxProcess:
    sandbox_process.reset()
    return sandbox_process


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own (tests/postgres.py): a new data directory, a free
    localhost port, trust auth for the superuser; stopped and removed after the session."""
    with PostgresServer.start() as server:
        yield server


def every_vendor_config(sandbox: SandboxProcess, count: int, vendors: tuple[str, ...] | None = None) -> dict:
    """Each vendor's benchmark data set of ``count`` calls (all vendors by default) and the
    config that syncs them all."""
    return sandbox.configure_vendors(dict.fromkeys(vendors or VENDOR_APIS, count))


@dataclass
class TapRun:
    """What one tap process printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1]

    def bookmark(self, stream: str) -> str:
        """The replication key value of ``stream`` in the last STATE."""
        return self.final_state["bookmarks"][stream]["replication_key_value"]

    def schemas(self) -> dict[str, dict[str, Any]]:
        return {m["stream"]: m["schema"] for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "tap-callrecords: error:" in line]


#: Environment for a tap run at the DEBUG log level.
DEBUG = {"LOGLEVEL": "DEBUG", "TAP_CALLRECORDS_LOGLEVEL": "DEBUG"}


def tap_command() -> list[str]:
    return [sys.executable, "-m", "tap_callrecords"]


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def catalog_path(run_tap, tmp_path, config: dict, selected: set[str]):
    """The tap's own catalog (``--discover``) with only ``selected`` streams selected."""
    discovered = run_tap(config, options=("--discover",))
    assert discovered.returncode == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in selected
    return write_json(tmp_path / f"catalog-{'-'.join(sorted(selected))}.json", catalog)



@pytest.fixture
def run_tap(tmp_path: Path):
    """Run the tap with a config (and optionally a state) and capture everything."""
    counter = {"n": 0}

    def run(config: dict[str, Any], state: dict[str, Any] | None = None,
            env: dict[str, str] | None = None, timeout: float = 300, options: tuple[str, ...] = ()) -> TapRun:
        counter["n"] += 1
        args = [*tap_command(), *options,
                "--config", str(write_json(tmp_path / f"config{counter['n']}.json", config))]
        if state is not None:
            args += ["--state", str(write_json(tmp_path / f"state{counter['n']}.json", state))]
        completed = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                                   env={**os.environ, **(env or {})})
        return TapRun(completed.returncode, completed.stdout, completed.stderr)

    return run


@pytest.fixture
def run_tap_killed(tmp_path: Path):
    """Run the tap and SIGKILL it once it has printed ``after_lines`` lines of output."""

    def run(config: dict[str, Any], after_lines: int, state: dict[str, Any] | None = None) -> TapRun:
        args = [*tap_command(), "--config", str(write_json(tmp_path / "killed-config.json", config))]
        if state is not None:
            args += ["--state", str(write_json(tmp_path / "killed-state.json", state))]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True, cwd=ROOT)
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if len(lines) >= after_lines:
                process.kill()
                break
        process.wait(timeout=30)
        # A SIGKILL can land mid-line; a real target would drop the torn line too.
        complete = [line for line in lines if line.endswith("\n")]
        return TapRun(process.returncode, "".join(complete), "")

    return run


@pytest.fixture
def kill_and_resume(run_tap, run_tap_killed):
    """SIGKILL a sync at a seeded random line, re-run it from the last STATE it printed,
    and return both runs, the state used and the primary keys seen across them."""
    import random

    def run(config: dict[str, Any], stream: str, expected: int, seed: int,
            after_kill: Callable[[TapRun], None] | None = None):
        """``after_kill`` sees the killed run before the resumed one starts."""
        killed = run_tap_killed(config, after_lines=random.Random(seed).randrange(10, expected))
        assert killed.returncode != 0
        if after_kill is not None:
            after_kill(killed)
        state = killed.states[-1] if killed.states else None
        resumed = run_tap(config, state=state)
        assert resumed.returncode == 0, resumed.stderr
        [key] = next(m["key_properties"] for m in resumed.messages
                     if m["type"] == "SCHEMA" and m["stream"] == stream)
        seen = {r[key] for r in killed.records(stream)} | {r[key] for r in resumed.records(stream)}
        return killed, resumed, state, seen

    return run

