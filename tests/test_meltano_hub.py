"""The Hub plugin definition, used the way a data engineer would in a fresh Meltano project:
``meltano add tap-callrecords --from-ref plugin/tap-callrecords.yml`` (its ``pip_url`` pointed
at this checkout, since the repository URL is a placeholder), a sync of the sandbox into
target-jsonl, and many accounts as ``inherit_from`` plugins, each with its own settings and
its own state, in one ``meltano run``.

One Meltano project serves the module: the tap and target-jsonl are installed once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tap_callrecords.about import streams
from tap_callrecords.sandbox.client import SandboxProcess
from tests.conftest import ROOT

PLUGIN_FILE = ROOT / "plugin" / "tap-callrecords.yml"
#: What a clone does not have: virtual environments, Meltano's directory, build output, caches.
CHECKOUT_ONLY = (".git", ".venv*", ".meltano", "build", "dist", "output", "*.egg-info", "__pycache__",
                 ".*_cache")

TARGET_JSONL = {
    "name": "target-jsonl",
    "namespace": "target_jsonl",
    "pip_url": "target-jsonl==0.1.4",
    "executable": "target-jsonl",
    "settings": [{"name": "destination_path", "kind": "string"},
                 {"name": "do_timestamp_file", "kind": "boolean"}],
    "config": {"do_timestamp_file": False},
}


def meltano_executable() -> str:
    local = ROOT / ".venv-meltano" / "bin" / "meltano"
    found = os.environ.get("MELTANO") or (str(local) if local.exists() else shutil.which("meltano"))
    if not found:
        pytest.fail("meltano not found: `make setup` installs it")
    return found


@dataclass
class Project:
    """A Meltano project in a temporary directory."""

    path: Path
    meltano: str

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
        """Run meltano here; its output (stdout, then stderr)."""
        return "".join(self.outputs(*args, env=env, timeout=timeout))

    def outputs(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> tuple[str, str]:
        result = subprocess.run(
            [self.meltano, *args], cwd=self.path, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
        )
        assert result.returncode == 0, (
            f"meltano {' '.join(args)}:\n{result.stdout[-3000:]}{result.stderr[-5000:]}")
        return result.stdout, result.stderr

    def config(self) -> dict:
        return yaml.safe_load((self.path / "meltano.yml").read_text())

    def lines(self, relative: str) -> list[dict]:
        path = self.path / relative
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    path = tmp_path_factory.mktemp("meltano-project")
    (path / "meltano.yml").write_text(yaml.safe_dump({
        "version": 1, "default_environment": "dev", "project_id": "tap-callrecords-hub-test",
        "send_anonymous_usage_stats": False, "environments": [{"name": "dev"}],
        "plugins": {"loaders": [TARGET_JSONL]},
    }, sort_keys=False))
    # The definition as published, but installed from a copy of this checkout (the
    # placeholder repository URL cannot be reached from here; a copy keeps the build's
    # files out of the checkout and installs only what a clone has).
    source = path / "tap-callrecords-source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*CHECKOUT_ONLY))
    definition = yaml.safe_load(PLUGIN_FILE.read_text())
    definition["pip_url"] = str(source)
    (path / "tap-callrecords.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    project = Project(path, meltano_executable())
    project.run("add", "--plugin-type", "extractor", "tap-callrecords", "--from-ref", "tap-callrecords.yml")
    project.run("install", "--plugin-type", "loader", "target-jsonl")
    return project


@pytest.fixture
def sandboxes() -> Iterator[list[SandboxProcess]]:
    """Two sandbox processes: two accounts' worth of vendor APIs."""
    with SandboxProcess(cwd=ROOT) as first, SandboxProcess(cwd=ROOT) as second:
        yield [first, second]


def test_select_list_on_the_freshly_added_plugin_lists_every_stream_of_every_vendor(project):
    stdout, stderr = project.outputs("select", "tap-callrecords", "--list", "--all")

    for info in streams():
        assert f"{info.stream}.{info.replication_key}" in stdout, stdout
    assert "Traceback" not in stderr + stdout and "KeyError" not in stderr + stdout


def test_the_date_settings_take_a_relative_date_as_the_hubs_date_kind_does(project):
    stdout, _ = project.outputs("config", "print", "tap-callrecords",
                                env={"TAP_CALLRECORDS_START_DATE": "30 days ago",
                                     "TAP_CALLRECORDS_END_DATE": "2024-07-01T08:30:00+05:30"})

    config = json.loads(stdout)
    start = datetime.fromisoformat(config["start_date"]).replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - timedelta(days=30) - start) < timedelta(hours=1)
    assert config["end_date"] == "2024-07-01T08:30:00+05:30"  # an ISO value passes unchanged


def test_the_hub_definition_adds_installs_and_syncs_every_vendor(project, sandboxes):
    sandbox = sandboxes[0]
    counts = {"voiso": 1_300, "smartflo": 700, "zoom": 900, "talkdesk": 1_100}
    env = {"TARGET_JSONL_DESTINATION_PATH": "output/hub"}
    for vendor, count in counts.items():
        config = sandbox.configure_benchmark(vendor, count)
        env["TAP_CALLRECORDS_START_DATE"] = config["start_date"]
        env["TAP_CALLRECORDS_END_DATE"] = config["end_date"]
        for name, value in config[vendor].items():
            env[f"TAP_CALLRECORDS_{vendor}_{name}".upper()] = str(value)

    extractor = next(p for p in project.config()["plugins"]["extractors"] if p["name"] == "tap-callrecords")
    assert extractor["pip_url"].endswith("tap-callrecords-source")
    assert extractor["namespace"] == "tap_callrecords"
    assert "utilities" not in project.config()["plugins"]
    assert {s["name"] for s in extractor["settings"]} >= {"voiso.api_key", "talkdesk.region", "log_level"}

    output = project.run("run", "tap-callrecords", "target-jsonl", env=env)

    streams = {"voiso": ("voiso_cdr", "uuid"), "smartflo": ("smartflo_call_records", "id"),
               "zoom": ("zoom_voice_calls", "engagement_id"),
               "talkdesk": ("talkdesk_calls", "interaction_id")}
    for vendor, (stream, key) in streams.items():
        rows = project.lines(f"output/hub/{stream}.jsonl")
        assert len(rows) == len({row[key] for row in rows}) == counts[vendor], stream
        assert f"{stream}: done: {counts[vendor]:,} records" in output
    assert "METRIC" not in output


def test_two_accounts_are_two_inherit_from_plugins_with_their_own_settings_and_state(project, sandboxes):
    july = ("2024-07-01T00:00:00+00:00", "2024-07-31T00:00:00+00:00")
    august = ("2024-08-01T00:00:00+00:00", "2024-08-11T00:00:00+00:00")
    accounts = {  # name: (its sandbox, Voiso API key, calls, data range)
        "acme": (sandboxes[0], "acme-voiso-key", 1_200, july),
        "globex": (sandboxes[1], "globex-voiso-key", 700, august),
    }
    plugins = project.config()["plugins"]
    for account, (sandbox, api_key, count, (start, end)) in accounts.items():
        sandbox.configure("voiso", api_key=api_key, count=count, start=start, end=end, seed=len(account))
        plugins["extractors"].append({
            "name": f"tap-callrecords--{account}", "inherit_from": "tap-callrecords",
            "config": {"start_date": start, "end_date": end, "voiso": {"api_url": f"{sandbox.url}/voiso"}},
        })
        plugins["loaders"].append({
            "name": f"target-jsonl--{account}", "inherit_from": "target-jsonl",
            "config": {"destination_path": f"output/{account}"},
        })
    (project.path / "meltano.yml").write_text(yaml.safe_dump({**project.config(), "plugins": plugins},
                                                              sort_keys=False))
    for account, (_, api_key, _, _) in accounts.items():  # a secret goes to .env, not meltano.yml
        project.run("config", "set", f"tap-callrecords--{account}", "voiso.api_key", api_key)
    assert "acme-voiso-key" not in (project.path / "meltano.yml").read_text()

    project.run("run", "tap-callrecords--acme", "target-jsonl--acme",
                "tap-callrecords--globex", "target-jsonl--globex")

    keys = {}
    for account, (sandbox, _, count, (start, end)) in accounts.items():
        rows = project.lines(f"output/{account}/voiso_cdr.jsonl")
        keys[account] = {row["uuid"] for row in rows}
        assert len(rows) == len(keys[account]) == count, account
        assert start <= min(row["timestamp"] for row in rows) and max(row["timestamp"] for row in rows) < end
        assert sandbox.stats()["voiso"]["statuses"].get("401") is None  # each used its own key
    assert not keys["acme"] & keys["globex"]

    state_ids = project.outputs("state", "list")[0].split()
    for account, (_, _, _, (_, end)) in accounts.items():
        state_id = f"dev:tap-callrecords--{account}-to-target-jsonl--{account}"
        assert state_id in state_ids
        state = json.loads(project.outputs("state", "get", state_id)[0])
        bookmark = state["singer_state"]["bookmarks"]["voiso_cdr"]["replication_key_value"]
        assert bookmark == end.replace("+00:00", ".000000+00:00"), (account, state)
