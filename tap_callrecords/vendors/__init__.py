"""One package per vendor; each describes its API and nothing else.

A vendor package exports a :class:`~tap_callrecords.vendors.base.Vendor`: its settings
object, its streams, and the checks on its settings.
"""

from __future__ import annotations

from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.smartflo import SMARTFLO
from tap_callrecords.vendors.talkdesk import TALKDESK
from tap_callrecords.vendors.voiso import VOISO
from tap_callrecords.vendors.zoom import ZOOM

VENDORS: tuple[Vendor, ...] = (VOISO, SMARTFLO, ZOOM, TALKDESK)
