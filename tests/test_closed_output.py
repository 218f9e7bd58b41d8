"""A closed output, however it closes, is one line naming what happened and a non-zero exit.

The tap's output goes to a real process through a real pipe, as it does under a shell or
Meltano: ``head`` stopping after a line or after some bytes (mid-record), a target that
crashes on its first record, and a target that died before the tap wrote anything. Each
writer the tap has is covered: its own direct RECORD writer, and the SDK's (SCHEMA and
STATE messages, and records when flattening is on).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, tap_command, write_json

CLOSED = "tap-callrecords: error: the output was closed (the target stopped reading); the run stopped."

#: A Singer target that fails on the first RECORD it reads, as a target with a bug does.
CRASHING_TARGET = """
import json, sys
for line in sys.stdin:
    if json.loads(line)["type"] == "RECORD":
        raise RuntimeError("the target could not load the record")
"""


def assert_one_closed_line(returncode: int, stderr: str) -> None:
    assert returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    assert [line for line in stderr.splitlines() if "error:" in line] == [CLOSED], stderr


def run_into(reader: list[str], config_path: str) -> tuple[int, str, int]:
    """The tap's output piped into ``reader``: the tap's exit code and stderr, the reader's exit code."""
    tap = subprocess.Popen([*tap_command(), "--config", config_path], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert tap.stdout is not None
    target = subprocess.Popen(reader, stdin=tap.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tap.stdout.close()  # the reader holds the only read end, as in a shell pipeline
    _, stderr = tap.communicate(timeout=120)
    return tap.returncode, stderr, target.wait(timeout=30)


@pytest.fixture
def voiso_config(sandbox, tmp_path):
    """A Voiso sync of several megabytes of output: far more than a pipe holds."""
    return sandbox.configure_benchmark("voiso", 3_000), tmp_path


@pytest.mark.parametrize(("reader", "settings"), [
    (["head", "-n", "1"], {}),
    (["head", "-c", "200000"], {}),
    (["head", "-c", "200000"], {"flattening_enabled": True, "flattening_max_depth": 1}),
    ([sys.executable, "-c", CRASHING_TARGET], {}),
], ids=["after-the-first-line", "mid-record", "mid-record-through-the-sdk-writer", "target-crashed"])
def test_a_reader_that_goes_away_is_one_line_and_exit_1(voiso_config, reader, settings):
    config, tmp_path = voiso_config
    path = write_json(tmp_path / "config.json", {**config, **settings})

    code, stderr, reader_code = run_into(reader, str(path))

    assert_one_closed_line(code, stderr)
    assert reader_code == (1 if reader[0] == sys.executable else 0)


def test_a_target_that_died_before_the_first_write_is_one_line_and_exit_1(voiso_config):
    config, tmp_path = voiso_config
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the tap's very first write fails
    try:
        tap = subprocess.run([*tap_command(), "--config", str(write_json(tmp_path / "config.json", config))],
                             cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)

    assert_one_closed_line(tap.returncode, tap.stderr)


def test_discovery_into_a_closed_output_is_one_line_and_exit_1():
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        tap = subprocess.run([*tap_command(), "--discover"], cwd=ROOT, stdout=write_end,
                             stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)

    assert_one_closed_line(tap.returncode, tap.stderr)
