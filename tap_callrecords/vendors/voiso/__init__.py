"""Voiso: the CDR v2 endpoint."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_callrecords.core.bounds import describe_bounds, value_problem
from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.voiso.api import LABEL, voiso_client
from tap_callrecords.vendors.voiso.paging import check_per_page
from tap_callrecords.vendors.voiso.stream import VoisoCdrStream

SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("api_key", th.StringType, required=True, secret=True,
                description="Voiso user API key (sent as the `key` query parameter)."),
    th.Property("api_url", th.StringType, default="https://cluster1.voiso.com",
                description="Voiso cluster URL, e.g. https://cluster2.voiso.com."),
    th.Property("per_page", th.IntegerType(minimum=1, maximum=10_000), default=1000,
                description="Records per page; it must divide 10000 (a search_token chain holds "
                "10,000 records, and no page may reach past its last)."),
    th.Property("window_days", th.IntegerType(minimum=1, maximum=31), default=14,
                description="Days per request window; the bookmark advances per window."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET} Voiso writes numbers in "
                "international form without the + (15557571011), which a region reads only for "
                "its own country code."),
))


def check_page_size(name: str, value: t.Any) -> str | None:
    """``per_page``'s schema bounds, then that it divides a chain (which a schema cannot say)."""
    if value is None:
        return None
    schema = SETTINGS.to_dict()["properties"]["per_page"]
    return value_problem(name, value, schema, LABEL) or check_per_page(name, value)


VOISO = Vendor(
    key="voiso",
    label=LABEL,
    settings=SETTINGS,
    client=voiso_client,
    streams=(VoisoCdrStream,),
    setting_checks={"default_phone_region": check_region, "per_page": check_page_size},
)
