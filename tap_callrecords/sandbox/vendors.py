"""The vendor APIs the sandbox serves, by URL prefix."""

from __future__ import annotations

from tap_callrecords.sandbox.server import VendorAPI
from tap_callrecords.sandbox.smartflo import SmartfloAPI
from tap_callrecords.sandbox.talkdesk import TalkdeskAPI
from tap_callrecords.sandbox.voiso import VoisoAPI
from tap_callrecords.sandbox.zoom import ZoomAPI

VENDOR_APIS: dict[str, type[VendorAPI]] = {
    "voiso": VoisoAPI,
    "smartflo": SmartfloAPI,
    "zoom": ZoomAPI,
    "talkdesk": TalkdeskAPI,
}
