"""Zoom Contact Center: voice call logs through a Server-to-Server OAuth app."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from singer_sdk import typing as th

from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.settings import check_int_range, check_number_range
from tap_callrecords.vendors.zoom.api import LABEL, LIST_FILTERS, zoom_client
from tap_callrecords.vendors.zoom.stream import ZoomVoiceCallsStream

#: Zoom's HEAVY limit is per account and shared with every app on it: 5 req/s on Pro
#: (10 on Business and up). The default leaves one request a second to the other apps.
DEFAULT_MAX_REQUESTS_PER_SECOND = 4
DEFAULT_API_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
#: Zoom's maximum page size: fewest requests under a per-second limit.
DEFAULT_PAGE_SIZE = 100
MAX_IDS = 20
CHOICES = {"direction": ("inbound", "outbound"), "view_type": ("summary", "detail")}


def _list_filter(name: str, description: str) -> th.Property:
    return th.Property(name, th.ArrayType(th.StringType),
                       description=f"{description} Sent as repeated `{name}` query parameters.")


SETTINGS = th.PropertiesList(
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
    th.Property("page_size", th.IntegerType, default=DEFAULT_PAGE_SIZE,
                description="Calls per page, 1-100."),
    th.Property("max_requests_per_second", th.NumberType, default=DEFAULT_MAX_REQUESTS_PER_SECOND,
                description="Request-rate cap. Zoom's HEAVY limit is per account and shared with "
                "the account's other apps: 5/s on Pro, 10/s on Business and up (with daily "
                "quotas of 15,000 and 30,000 requests). The default, 4, leaves headroom on Pro."),
    _list_filter("types", "Call types, e.g. external_call, internal_conference_call."),
    _list_filter("sub_types", "Call sub-types."),
    th.Property("distribution", th.StringType, description="Engagement distribution: acd or non_acd."),
    th.Property("direction", th.StringType, description="Engagement direction: inbound or outbound."),
    _list_filter("user_ids", "Agents' user IDs, up to 20."),
    _list_filter("cc_queue_ids", "Contact Center queue IDs, up to 20."),
    _list_filter("country_iso_codes", "Two-letter country codes."),
    _list_filter("number_types", "Number types, e.g. byoc_number."),
    _list_filter("team_ids", "Team IDs."),
    _list_filter("region_ids", "Region IDs."),
    th.Property("view_type", th.StringType, description="summary or detail (adds voice_call_details)."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET}"),
)


def validate(config: Mapping[str, t.Any]) -> list[str]:
    """Zoom-specific checks."""
    messages = [
        check_int_range("zoom.page_size", config.get("page_size"), 1, 100),
        check_number_range("zoom.max_requests_per_second", config.get("max_requests_per_second"), 0),
        check_region("zoom.default_phone_region", config.get("default_phone_region")),
    ]
    for name in LIST_FILTERS:
        value = config.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            messages.append(f"zoom.{name} is {value!r}; it must be a list of non-empty strings.")
        elif name in ("user_ids", "cc_queue_ids") and len(value) > MAX_IDS:
            messages.append(f"zoom.{name} has {len(value)} entries; Zoom accepts at most {MAX_IDS}.")
    for name, accepted in CHOICES.items():
        value = config.get(name)
        if value is not None and value not in accepted:
            messages.append(f"zoom.{name} is {value!r}; it must be one of {', '.join(accepted)}.")
    return [message for message in messages if message]


ZOOM = Vendor(
    key="zoom",
    label=LABEL,
    settings=SETTINGS,
    client=zoom_client,
    streams=(ZoomVoiceCallsStream,),
    secret_settings=("client_secret",),
    validate=validate,
)
