"""Voiso: the CDR v2 endpoint."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from singer_sdk import typing as th

from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.settings import check_int_range
from tap_callrecords.vendors.voiso.api import LABEL, voiso_client
from tap_callrecords.vendors.voiso.stream import VoisoCdrStream

SETTINGS = th.PropertiesList(
    th.Property("api_key", th.StringType, required=True, secret=True,
                description="Voiso user API key (sent as the `key` query parameter)."),
    th.Property("api_url", th.StringType, default="https://cluster1.voiso.com",
                description="Voiso cluster URL, e.g. https://cluster2.voiso.com."),
    th.Property("per_page", th.IntegerType, default=1000,
                description="Records per page, 1-10000."),
    th.Property("window_days", th.IntegerType, default=14,
                description="Days per request window (1-31); the bookmark advances per window."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET} Voiso writes numbers in "
                "international form without the + (15557571011), which a region reads only for "
                "its own country code."),
)


def validate(config: Mapping[str, t.Any]) -> list[str]:
    """Voiso-specific checks."""
    return [
        message
        for message in (
            check_int_range("voiso.per_page", config.get("per_page"), 1, 10_000),
            check_int_range("voiso.window_days", config.get("window_days"), 1, 31),
            check_region("voiso.default_phone_region", config.get("default_phone_region")),
        )
        if message
    ]


VOISO = Vendor(
    key="voiso",
    label=LABEL,
    settings=SETTINGS,
    client=voiso_client,
    streams=(VoisoCdrStream,),
    secret_settings=("api_key",),
    validate=validate,
)
