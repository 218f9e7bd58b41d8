"""Start the sandbox as a real process and drive its admin API; build tap configs for it.

Shared by the tests, the demo and the benchmark::

    with SandboxProcess() as sandbox:
        sandbox.configure("voiso", count=1000)
        config = vendor_config(sandbox.url, "voiso", {"start": ..., "end": ...})

Only the standard library and the sandbox's own vendor table: it works from an installed
package as well as from a checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from typing import Any

from tap_callrecords.sandbox.vendors import SANDBOX_APIS


def settings_key(vendor: str) -> str:
    """The tap's settings object a sandbox API (by prefix) is read with."""
    return SANDBOX_APIS[vendor].settings_key or vendor


def vendor_config(url: str, vendor: str, options: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A tap config that syncs exactly the sandbox data set described by ``options``
    (its ``start`` and ``end``), with top-level ``overrides``."""
    config: dict[str, Any] = {
        "start_date": options["start"],
        "end_date": options["end"],
        settings_key(vendor): SANDBOX_APIS[vendor].tap_settings(url),
    }
    config.update(overrides)
    return config


class SandboxProcess:
    """``python -m tap_callrecords.sandbox`` on a free port, for the life of a ``with``.

    ``configure`` options (one dict per vendor, with its ``"vendor"``) are applied at start;
    ``cwd`` is the sandbox process's working directory (default: this process's).
    """

    def __init__(self, *configure: dict[str, Any], cwd: str | os.PathLike[str] | None = None) -> None:
        self._configure = configure
        self._cwd = cwd
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> SandboxProcess:
        command = [sys.executable, "-m", "tap_callrecords.sandbox", "--port", "0"]
        for options in self._configure:
            command += ["--configure", json.dumps(options)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=self._cwd)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("READY "):
            self.process.kill()
            self.process.wait(timeout=10)
            raise RuntimeError(f"sandbox did not start: {line!r}")
        self.url = line.split(" ", 1)[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def admin(self, action: str, payload: dict[str, Any] | None = None) -> Any:
        """``GET /_sandbox/<action>`` without a payload, ``POST`` with one."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.url}/_sandbox/{action}", data=data,
                                         method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        """Forget faults, statistics and added records; default data sets again."""
        self.admin("reset", {})

    def configure(self, vendor: str, **options: Any) -> dict[str, Any]:
        """Set a vendor's data set and behaviour; return the options given."""
        self.admin("configure", {"vendor": vendor, **options})
        return options

    def configure_benchmark(self, vendor: str, count: int) -> dict[str, Any]:
        """Load a benchmark data set; return the tap config that syncs all of it."""
        options, settings = SANDBOX_APIS[vendor].benchmark_options(count)
        self.configure(vendor, **options)
        config = vendor_config(self.url, vendor, options)
        config[settings_key(vendor)].update(settings)
        return config

    def configure_vendors(self, counts: Mapping[str, int]) -> dict[str, Any]:
        """Load a benchmark data set per vendor (``vendor -> calls``); return the one tap
        config that syncs all of them."""
        config: dict[str, Any] = {}
        for vendor, count in counts.items():
            vendor_config = self.configure_benchmark(vendor, count)
            config[settings_key(vendor)] = vendor_config[settings_key(vendor)]
            config["start_date"] = min(config.get("start_date", "9999"), vendor_config["start_date"])
            config["end_date"] = max(config.get("end_date", ""), vendor_config["end_date"])
        return config

    def faults(self, vendor: str, *faults: dict[str, Any]) -> None:
        """Queue faults for a vendor's data requests (see ``tap_callrecords.sandbox.server``)."""
        self.admin("faults", {"vendor": vendor, "faults": list(faults)})

    def add_records(self, vendor: str, *records: dict[str, Any]) -> None:
        """Add vendor-shaped records to a vendor's data set."""
        self.admin("records", {"vendor": vendor, "records": list(records)})

    def stats(self) -> dict[str, Any]:
        """Per vendor: requests, statuses, paths, the busiest second, vendor counters."""
        return self.admin("stats")
