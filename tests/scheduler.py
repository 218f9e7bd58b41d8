"""Incremental runs as a scheduler makes them, in seconds: the sandbox and the tap in
this process, both on one simulated clock.

The sandbox is served from a thread (real HTTP over a real socket), its ``clock`` option
is its "now"; the tap's "now" is :func:`tap_callrecords.core.windows.utc_now`, moved
to the same instant before each run. Each run is the tap's own ``sync_all`` from the
state the previous run ended with, its messages captured as a target would read them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tap_callrecords.core import windows
from tap_callrecords.sandbox.server import Sandbox, build_server
from tap_callrecords.sandbox.vendors import SANDBOX_APIS
from tap_callrecords.tap import TapCallRecords


class InProcessSandbox:
    """Every vendor's sandbox API on a free port, served by a thread, for a ``with``."""

    def __init__(self) -> None:
        self.http, self.sandbox = build_server("127.0.0.1", 0, SANDBOX_APIS)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self._thread = threading.Thread(target=self.http.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> InProcessSandbox:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()

    @property
    def apis(self) -> Sandbox:
        return self.sandbox

    def configure(self, vendor: str, **options: Any) -> None:
        """Set a vendor's options, as ``POST /_sandbox/configure`` does."""
        with self.sandbox.lock:
            self.sandbox.vendors[vendor].configure(options)

    def requests(self, vendor: str) -> int:
        """Requests the vendor's API has answered so far."""
        stats = self.sandbox.stats.get(vendor)
        return stats.requests if stats else 0


@dataclass
class RunOutput:
    """The messages of one in-process run."""

    messages: list[dict[str, Any]]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    @property
    def final_state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}


@contextlib.contextmanager
def tap_clock(moment: datetime) -> Iterator[None]:
    """The tap's "now" held at ``moment`` for a ``with``."""
    real = windows.utc_now
    windows.utc_now = lambda: moment
    try:
        yield
    finally:
        windows.utc_now = real


def run_in_process(config: Mapping[str, Any], state: Mapping[str, Any] | None, now: datetime) -> RunOutput:
    """One tap run (every stream, as a run without a catalog syncs) at ``now``."""
    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    with tap_clock(now), contextlib.redirect_stdout(out):
        tap = TapCallRecords(config=dict(config), state=dict(state or {}), setup_mapper=True)
        tap.sync_all()
        out.flush()
    lines = buffer.getvalue().decode().splitlines()
    return RunOutput([json.loads(line) for line in lines if line.strip()])


@dataclass
class Schedule:
    """Runs every ``every`` from ``first`` to ``last`` (both included), state carried over."""

    first: datetime
    last: datetime
    every: timedelta = timedelta(minutes=15)
    #: Every run's output, in order.
    runs: list[RunOutput] = field(default_factory=list)

    def moments(self) -> Iterator[datetime]:
        moment = self.first
        while moment <= self.last:
            yield moment
            moment += self.every

    def run(self, sandbox: InProcessSandbox, vendor: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Run the day: the sandbox's clock and the tap's moved together before each run;
        the final state."""
        state: dict[str, Any] = {}
        for moment in self.moments():
            sandbox.configure(vendor, clock=moment.isoformat())
            output = run_in_process(config, state, moment)
            self.runs.append(output)
            state = output.final_state or state
        return state

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [record for run in self.runs for record in run.records(stream)]


def quiet_tap_logs() -> None:
    """The tap's progress lines off: a day of runs would print thousands."""
    logging.getLogger("tap-callrecords").setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("tap-callrecords", "tap_callrecords", "singer_sdk")):
            logging.getLogger(name).setLevel(logging.WARNING)

