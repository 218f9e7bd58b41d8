"""Zoom Contact Center: voice call logs through a Server-to-Server OAuth app."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_callrecords.core.bounds import describe_bounds
from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.zoom.api import LABEL, zoom_client
from tap_callrecords.vendors.zoom.stream import ZoomVoiceCallsStream

#: Zoom's HEAVY limit is per account and shared with every app on it: 5 req/s on Pro
#: (10 on Business and up). The default leaves one request a second to the other apps.
DEFAULT_MAX_REQUESTS_PER_SECOND = 4
#: Windows in flight: one request each at a time, so more than the cap (up to 10/s)
#: times a second of latency, to keep the cap busy while some windows end.
DEFAULT_PARALLEL_WINDOWS = 16
DEFAULT_API_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
#: Zoom's maximum page size: fewest requests under a per-second limit.
DEFAULT_PAGE_SIZE = 100
#: The most agents' or queues' IDs Zoom accepts in one filter.
MAX_IDS = 20


def _list_filter(name: str, description: str, max_items: int | None = None) -> th.Property:
    limit: dict[str, t.Any] = {} if max_items is None else {"maxItems": max_items}
    return th.Property(name, th.ArrayType(th.StringType(min_length=1)), **limit,
                       description=f"{description} Sent as repeated `{name}` query parameters.")


SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("account_id", th.StringType, required=True,
                description="Zoom account ID of the Server-to-Server OAuth app."),
    th.Property("client_id", th.StringType, required=True,
                description="Client ID of the Server-to-Server OAuth app."),
    th.Property("client_secret", th.StringType, required=True, secret=True,
                description="Client secret of the Server-to-Server OAuth app "
                "(scope `contact_center_voice_call:read:admin`)."),
    th.Property("api_url", th.StringType, default=DEFAULT_API_URL,
                description="Zoom API root."),
    th.Property("oauth_url", th.StringType, default=DEFAULT_OAUTH_URL,
                description="Zoom OAuth token endpoint (`account_credentials` grant)."),
    th.Property("page_size", th.IntegerType(minimum=1, maximum=100), default=DEFAULT_PAGE_SIZE,
                description="Calls per page."),
    th.Property("max_requests_per_second", th.NumberType(exclusive_minimum=0),
                default=DEFAULT_MAX_REQUESTS_PER_SECOND,
                description="Request-rate cap. Zoom's HEAVY limit is per account and shared with "
                "the account's other apps: 5/s on Pro, 10/s on Business and up (with daily "
                "quotas of 15,000 and 30,000 requests). The default, 4, leaves headroom on Pro."),
    th.Property("max_parallel_windows", th.IntegerType(minimum=1, maximum=32),
                default=DEFAULT_PARALLEL_WINDOWS,
                description="Days (windows) read at once; each window's pages stay in order (a page "
                "token depends on the page before it) and every request waits on the one rate cap. "
                "Each window has one request out at a time, so the cap is reached with more windows "
                "than the cap times the latency: the default, 16, keeps Zoom's highest HEAVY limit "
                "(10/s) busy when each reply takes a second; a lower cap needs fewer."),
    _list_filter("types", "Call types, e.g. external_call, internal_conference_call."),
    _list_filter("sub_types", "Call sub-types."),
    th.Property("distribution", th.StringType, allowed_values=["acd", "non_acd"],
                description="Engagement distribution."),
    th.Property("direction", th.StringType, allowed_values=["inbound", "outbound"],
                description="Engagement direction."),
    _list_filter("user_ids", "Agents' user IDs.", MAX_IDS),
    _list_filter("cc_queue_ids", "Contact Center queue IDs.", MAX_IDS),
    _list_filter("country_iso_codes", "Two-letter country codes."),
    _list_filter("number_types", "Number types, e.g. byoc_number."),
    _list_filter("team_ids", "Team IDs."),
    _list_filter("region_ids", "Region IDs."),
    th.Property("view_type", th.StringType, allowed_values=["summary", "detail"],
                description="How much of each call: detail adds voice_call_details."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET}"),
))


ZOOM = Vendor(
    key="zoom",
    label=LABEL,
    settings=SETTINGS,
    client=zoom_client,
    streams=(ZoomVoiceCallsStream,),
    setting_checks={"default_phone_region": check_region},
)
