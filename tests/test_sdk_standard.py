"""The Singer SDK's standard tap tests, run against the sandbox, one class per vendor.

They need a config at import time, so this module starts its own sandbox process for
the module's lifetime.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from tap_callrecords.sandbox.client import SandboxProcess, vendor_config
from tap_callrecords.tap import TapCallRecords

WEEK = {"start": "2024-07-01T00:00:00+00:00", "end": "2024-07-08T00:00:00+00:00"}

VENDORS = ("voiso", "smartflo", "zoom")

_sandbox = SandboxProcess(*({"vendor": vendor, "count": 500, **WEEK} for vendor in VENDORS)).__enter__()
atexit.register(_sandbox.__exit__, None, None, None)


def config_for(vendor: str) -> dict:
    config = vendor_config(_sandbox.url, vendor, WEEK)
    if "max_requests_per_second" in TapCallRecords.config_jsonschema["properties"][vendor]["properties"]:
        config[vendor]["max_requests_per_second"] = 1000
    return config


TestVoiso = get_tap_test_class(TapCallRecords, config=config_for("voiso"))
TestSmartflo = get_tap_test_class(TapCallRecords, config=config_for("smartflo"))
TestZoom = get_tap_test_class(TapCallRecords, config=config_for("zoom"))
