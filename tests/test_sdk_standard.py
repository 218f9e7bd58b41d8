"""The Singer SDK's standard tap tests, run against the sandbox.

They need a config at import time, so this module starts its own sandbox process for
the module's lifetime. Stream tests run for every vendor with a sandbox data set.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from tap_callrecords.tap import TapCallRecords
from tests.sandbox_client import SandboxProcess, vendor_config

WEEK = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-08T00:00:00+00:00"}

_sandbox = SandboxProcess({"vendor": "voiso", "count": 2_000, **WEEK}).__enter__()
atexit.register(_sandbox.__exit__, None, None, None)

TestTapCallRecordsVoiso = get_tap_test_class(
    TapCallRecords, config=vendor_config(_sandbox.url, "voiso", WEEK)
)
