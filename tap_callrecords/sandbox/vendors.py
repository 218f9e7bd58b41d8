"""The vendor APIs the sandbox serves, by URL prefix.

:data:`VENDOR_APIS` are the tap's vendors, one each (the default data sets of a run of
every vendor); :data:`ALTERNATIVE_APIS` are other APIs of a vendor (another version),
configuring the same settings object (:attr:`VendorAPI.settings_key`).
"""

from __future__ import annotations

from tap_callrecords.sandbox.server import VendorAPI
from tap_callrecords.sandbox.smartflo import SmartfloAPI
from tap_callrecords.sandbox.talkdesk import TalkdeskAPI
from tap_callrecords.sandbox.voiso import VoisoAPI
from tap_callrecords.sandbox.voiso_v4 import VoisoV4API
from tap_callrecords.sandbox.zoom import ZoomAPI

VENDOR_APIS: dict[str, type[VendorAPI]] = {
    "voiso": VoisoAPI,
    "smartflo": SmartfloAPI,
    "zoom": ZoomAPI,
    "talkdesk": TalkdeskAPI,
}
ALTERNATIVE_APIS: dict[str, type[VendorAPI]] = {
    "voiso_v4": VoisoV4API,
}
#: Every API the sandbox serves.
SANDBOX_APIS: dict[str, type[VendorAPI]] = {**VENDOR_APIS, **ALTERNATIVE_APIS}
