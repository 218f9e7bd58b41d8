"""The vendor APIs the sandbox serves, by URL prefix."""

from __future__ import annotations

from collections.abc import Callable

from tap_callrecords.sandbox.server import VendorAPI
from tap_callrecords.sandbox.voiso import VoisoAPI

VENDOR_APIS: dict[str, Callable[[], VendorAPI]] = {
    "voiso": VoisoAPI,
}
