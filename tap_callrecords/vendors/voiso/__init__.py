"""Voiso: the CDR v2 endpoint, or API v4 (``vendors/voiso/v4/``) by ``voiso.api_version``."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_callrecords.core.bounds import describe_bounds, value_problem
from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.voiso.api import LABEL, voiso_client
from tap_callrecords.vendors.voiso.paging import check_per_page
from tap_callrecords.vendors.voiso.stream import VoisoCdrStream
from tap_callrecords.vendors.voiso.v4.api import voiso_v4_client
from tap_callrecords.vendors.voiso.v4.stream import VoisoCdrsV4Stream

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from tap_callrecords.core.client import RequestSettings, VendorClient
    from tap_callrecords.core.stream import WindowedStream

SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("api_key", th.StringType, required=True, secret=True,
                description="Voiso API key: with api_version v2 a user API key (sent as the `key` "
                "query parameter); with v4 a scoped API key an administrator generates on the API "
                "keys page, with the scope reporting.cdrs.read (sent as `Authorization: Bearer`)."),
    th.Property("api_version", th.StringType(allowed_values=["v2", "v4"]), default="v2",
                description="Voiso API to read: v2 (`/api/v2/cdr`, stream voiso_cdr) or v4 "
                "(`/api/v4/reporting/cdrs`, stream voiso_cdrs_v4, exact time filters, no re-read "
                "beyond the lookback)."),
    th.Property("api_url", th.StringType, default="https://cluster1.voiso.com",
                description="Voiso cluster URL, e.g. https://cluster2.voiso.com."),
    th.Property("per_page", th.IntegerType(minimum=1, maximum=10_000), default=1000,
                description="Records per page (API v2); it must divide 10000 (a search_token chain holds "
                "10,000 records, and no page may reach past its last)."),
    th.Property("limit", th.IntegerType(minimum=1, maximum=1000), default=1000,
                description="Records per page (API v4)."),
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


def check_page_size(name: str, value: t.Any) -> str | None:
    """``per_page``'s schema bounds, then that it divides a chain (which a schema cannot say)."""
    if value is None:
        return None
    schema = SETTINGS.to_dict()["properties"]["per_page"]
    return value_problem(name, value, schema, LABEL) or check_per_page(name, value)


def _v4(settings: Mapping[str, t.Any]) -> bool:
    return settings.get("api_version") == "v4"


def voiso_any_client(
    settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
) -> VendorClient:
    """v2's client (key in the query) or v4's (scoped key as Bearer), by ``api_version``."""
    return (voiso_v4_client if _v4(settings) else voiso_client)(settings, request, logger)


def voiso_streams(settings: Mapping[str, t.Any]) -> tuple[type[WindowedStream], ...]:
    """The one stream of the configured API version."""
    return (VoisoCdrsV4Stream,) if _v4(settings) else (VoisoCdrStream,)


VOISO = Vendor(
    key="voiso",
    label=LABEL,
    settings=SETTINGS,
    client=voiso_any_client,
    streams=(VoisoCdrStream, VoisoCdrsV4Stream),
    streams_for=voiso_streams,
    setting_checks={"default_phone_region": check_region, "per_page": check_page_size},
)
