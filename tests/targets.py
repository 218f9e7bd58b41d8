"""Singer targets fed by the tap as Meltano feeds them: ``tap | target`` as two processes
joined by a pipe, the target's own STATE (the last one it prints on its stdout, which is
what Meltano stores) handed to the tap's next run.

The targets are the loaders ``meltano.yml`` declares, with exact ``pip_url`` pins, put in
Meltano's plugin environments by ``meltano install``; each is then run as its own
executable, without Meltano's start-up per run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, tap_command, write_json

#: The one row per call of every vendor, keyed by (vendor, call_id).
CALL_RECORDS = "call_records"
#: The tap's closing line per stream (core/progress.py).
DONE = re.compile(r"(?P<stream>\w+): done: (?P<records>[\d,]+) records?\b.*?(?P<reread>[\d,]+) re-read")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def summaries(tap_log: str) -> dict[str, dict[str, int]]:
    """Per stream: records emitted and re-read (lookback), from the tap's closing lines."""
    return {m["stream"]: {"records": number(m["records"]), "reread": number(m["reread"])}
            for m in DONE.finditer(tap_log)}


def loader(name: str) -> dict[str, Any]:
    """The loader's definition in ``meltano.yml``."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    return next(plugin for plugin in project["plugins"]["loaders"] if plugin["name"] == name)


def install_loaders(meltano: str, *names: str, env: dict[str, str]) -> None:
    """``meltano install`` of the named loaders (a no-op for one already installed)."""
    result = subprocess.run([meltano, "install", "loader", *names], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"meltano install {' '.join(names)} failed:\n{result.stderr[-6000:]}"


def loader_executable(name: str) -> Path:
    """The executable ``meltano install`` put in the loader's own environment."""
    executable = ROOT / ".meltano" / "loaders" / name / "venv" / "bin" / loader(name)["executable"]
    assert executable.exists(), f"{executable} is missing: `meltano install loader {name}` did not run"
    return executable


@dataclass
class Load:
    """One ``tap | target`` run: both exit codes, the tap's log and what the target printed."""

    tap_returncode: int
    target_returncode: int
    tap_log: str
    target_stdout: str
    target_log: str

    @property
    def states(self) -> list[dict[str, Any]]:
        """Every state the target printed (a target prints each state's value alone, one
        JSON object a line), in order: the last is what Meltano keeps."""
        return [json.loads(line) for line in self.target_stdout.splitlines() if line.strip()]

    @property
    def summaries(self) -> dict[str, dict[str, int]]:
        return summaries(self.tap_log)

    def check(self) -> Load:
        """Both processes succeeded (else their logs' ends, to see why)."""
        assert (self.tap_returncode, self.target_returncode) == (0, 0), (
            f"tap exited {self.tap_returncode}, target {self.target_returncode}\n"
            f"--- tap:\n{self.tap_log[-4000:]}\n--- target:\n{self.target_log[-6000:]}")
        return self


def load(tap_config: dict[str, Any], target: str, target_config: dict[str, Any], work: Path,
         state: dict[str, Any] | None = None, timeout: float = 300, catalog: Path | None = None) -> Load:
    """Run the tap (from ``state``, if any; with ``catalog``, if any) piped into ``target``;
    files go under ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    tap_args = [*tap_command(), "--config", str(write_json(work / "tap-config.json", tap_config))]
    if catalog is not None:
        tap_args += ["--catalog", str(catalog)]
    if state is not None:
        tap_args += ["--state", str(write_json(work / "tap-state.json", state))]
    target_args = [str(loader_executable(target)), "--config",
                   str(write_json(work / "target-config.json", target_config))]
    tap_log, target_log = work / "tap.log", work / "target.log"
    with tap_log.open("w") as tap_err, target_log.open("w") as target_err:
        tap = subprocess.Popen(tap_args, stdout=subprocess.PIPE, stderr=tap_err, cwd=ROOT, env=os.environ)
        assert tap.stdout is not None
        try:
            with subprocess.Popen(target_args, stdin=tap.stdout, stdout=subprocess.PIPE, stderr=target_err,
                                  text=True, cwd=work) as loading:
                tap.stdout.close()  # the target holds the pipe's reading end alone
                target_stdout, _ = loading.communicate(timeout=timeout)
            tap.wait(timeout=timeout)
        finally:
            if tap.poll() is None:
                tap.kill()
                tap.wait()
    return Load(tap.returncode, loading.returncode, tap_log.read_text(), target_stdout,
                target_log.read_text())
