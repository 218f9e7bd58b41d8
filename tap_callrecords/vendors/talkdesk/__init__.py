"""Talkdesk: calls and the other Explore reports, read through report jobs."""

from __future__ import annotations

import typing as t
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk import typing as th

from tap_callrecords.core.bounds import describe_bounds
from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.talkdesk.api import LABEL, PARSERS, REGIONS, ROW_CAP, talkdesk_client
from tap_callrecords.vendors.talkdesk.stream import REPORT_STREAMS

#: The account runs at most 15 report jobs at once, its users' own reports included.
ACCOUNT_JOB_QUOTA = 15

SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("account_name", th.StringType, required=True,
                description="Talkdesk account name (the `<account>` of `<account>.talkdeskid.com`)."),
    th.Property("client_id", th.StringType, required=True,
                description="Client ID of an OAuth client with the data-reports:read and "
                "data-reports:write scopes (client credentials grant)."),
    th.Property("client_secret", th.StringType, required=True, secret=True,
                description="Client secret of that OAuth client."),
    th.Property("region", th.StringType, default="us", allowed_values=sorted(REGIONS),
                description="Talkdesk region: picks both the API host and the token host (for "
                "another region, set api_url and oauth_url)."),
    th.Property("api_url", th.StringType,
                description="API root for another region (default: the region's, e.g. "
                "https://api.talkdeskapp.com)."),
    th.Property("oauth_url", th.StringType,
                description="Token endpoint for another region (default: the region's, e.g. "
                "https://<account>.talkdeskid.com/oauth/token)."),
    th.Property("timezone", th.StringType, default="UTC",
                description="IANA timezone of the report jobs (e.g. America/New_York). Talkdesk "
                "writes the file's times in it, without an offset; the tap emits them in UTC."),
    th.Property("window_days", th.IntegerType(minimum=1, maximum=31), default=31,
                description="Days per report job (up to the API's limit); the bookmark advances "
                "per window."),
    th.Property("max_concurrent_jobs", th.IntegerType(minimum=1, maximum=ACCOUNT_JOB_QUOTA), default=5,
                description="Report jobs the tap runs at once. The account allows 15 at once "
                "for everyone, its users' own reports included; the default, 5, leaves 10 to them "
                "while a backfill still runs five windows in parallel."),
    th.Property("job_timeout_minutes", th.IntegerType(minimum=1), default=60,
                description="Minutes a report job may take before it is cancelled and submitted "
                "again; also how long a full job quota is waited out."),
    th.Property("report_row_cap", th.IntegerType(minimum=1), default=ROW_CAP,
                description="Rows a report file holds at most (Talkdesk documents 1,000,000 per "
                "request). A file that reaches it may be cut short, so its window is split in two "
                "and read again; lower it only if Talkdesk lowers the limit."),
    th.Property("report_format", th.StringType, default="json", allowed_values=sorted(PARSERS),
                description="File format of the reports. json (default) is the only payload "
                "Talkdesk documents; csv (a header of the JSON keys or of the Explore UI's display "
                "names) and json_bulk are read as streams too, csv fastest."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET}"),
))


def check_timezone(name: str, value: t.Any) -> str | None:
    """A message if the time zone setting ``name`` is set but is not an IANA name."""
    if value is None:
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return (f"{name} is {value!r}, which is not an IANA timezone name such as UTC, "
                "America/New_York or Europe/Lisbon.")
    return None


TALKDESK = Vendor(
    key="talkdesk",
    label=LABEL,
    settings=SETTINGS,
    client=talkdesk_client,
    streams=REPORT_STREAMS,
    setting_checks={"default_phone_region": check_region, "timezone": check_timezone},
)
