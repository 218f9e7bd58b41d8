"""Voiso: the CDR v2 endpoint."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_callrecords.core.bounds import describe_bounds
from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.voiso.api import LABEL, voiso_client
from tap_callrecords.vendors.voiso.stream import VoisoCdrStream

SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("api_key", th.StringType, required=True, secret=True,
                description="Voiso user API key (sent as the `key` query parameter)."),
    th.Property("api_url", th.StringType, default="https://cluster1.voiso.com",
                description="Voiso cluster URL, e.g. https://cluster2.voiso.com."),
    th.Property("per_page", th.IntegerType(minimum=1, maximum=10_000), default=1000,
                description="Records per page."),
    th.Property("max_requests_per_second", th.NumberType(exclusive_minimum=0), default=5,
                description="Cap on requests per second. Voiso documents no rate limit; the default, "
                "5, is a conservative guess that a shared cluster tolerates."),
    th.Property("max_parallel_windows", th.IntegerType(minimum=1, maximum=32), default=4,
                description="Windows read at once; within a window the search_token chains stay in "
                "order. The default, 4, keeps the default cap busy when each reply takes up to "
                "0.8 s; a Voiso page holds up to per_page records, so few windows suffice."),
    th.Property("window_days", th.IntegerType(minimum=1, maximum=31), default=14,
                description="Days per request window; the bookmark advances per window."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET} Voiso writes numbers in "
                "international form without the + (15557571011), which a region reads only for "
                "its own country code."),
))


VOISO = Vendor(
    key="voiso",
    label=LABEL,
    settings=SETTINGS,
    client=voiso_client,
    streams=(VoisoCdrStream,),
    setting_checks={"default_phone_region": check_region},
)
