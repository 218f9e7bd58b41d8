"""Talkdesk: calls from the Explore API's ``explore_calls`` report jobs."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk import typing as th

from tap_callrecords.core.phones import REGION_DESCRIPTION, REGION_UNSET, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.settings import check_int_range
from tap_callrecords.vendors.talkdesk.api import LABEL, PARSERS, REGIONS, ROW_CAP, talkdesk_client
from tap_callrecords.vendors.talkdesk.stream import TalkdeskCallsStream

#: The account runs at most 15 report jobs at once, its users' own reports included.
ACCOUNT_JOB_QUOTA = 15

SETTINGS = th.PropertiesList(
    th.Property("account_name", th.StringType, required=True,
                description="Talkdesk account name (the `<account>` of `<account>.talkdeskid.com`)."),
    th.Property("client_id", th.StringType, required=True,
                description="Client ID of an OAuth client with the data-reports:read and "
                "data-reports:write scopes (client credentials grant)."),
    th.Property("client_secret", th.StringType, required=True, secret=True,
                description="Client secret of that OAuth client."),
    th.Property("region", th.StringType, default="us", allowed_values=sorted(REGIONS),
                description="Talkdesk region: us, eu or ca. Picks both the API host and the token host."),
    th.Property("api_url", th.StringType,
                description="API root for another region (default: the region's, e.g. "
                "https://api.talkdeskapp.com)."),
    th.Property("oauth_url", th.StringType,
                description="Token endpoint for another region (default: the region's, e.g. "
                "https://<account>.talkdeskid.com/oauth/token)."),
    th.Property("timezone", th.StringType, default="UTC",
                description="IANA timezone of the report jobs (e.g. America/New_York). Talkdesk "
                "writes the file's times in it, without an offset; the tap emits them in UTC."),
    th.Property("window_days", th.IntegerType, default=31,
                description="Days per report job, 1-31 (the API's limit); the bookmark advances "
                "per window."),
    th.Property("max_concurrent_jobs", th.IntegerType, default=5,
                description="Report jobs the tap runs at once, 1-15. The account allows 15 at once "
                "for everyone, its users' own reports included; the default, 5, leaves 10 to them "
                "while a backfill still runs five windows in parallel."),
    th.Property("job_timeout_minutes", th.IntegerType, default=60,
                description="Minutes a report job may take before it is cancelled and submitted "
                "again; also how long a full job quota is waited out."),
    th.Property("report_row_cap", th.IntegerType, default=ROW_CAP,
                description="Rows a report file holds at most (Talkdesk documents 1,000,000 per "
                "request). A file that reaches it may be cut short, so its window is split in two "
                "and read again; lower it only if Talkdesk lowers the limit."),
    th.Property("report_format", th.StringType, default="csv", allowed_values=sorted(PARSERS),
                description="File format of the reports. csv (default) streams best: a header once, "
                "then one row per line parsed by a C parser, and it is the format Talkdesk "
                "documents most fully; json and json_bulk are read as streams too."),
    th.Property("default_phone_region", th.StringType,
                description=f"{REGION_DESCRIPTION} {REGION_UNSET}"),
)


def validate(config: Mapping[str, t.Any]) -> list[str]:
    """Talkdesk-specific checks, made before any request."""
    messages = [
        check_int_range("talkdesk.window_days", config.get("window_days"), 1, 31),
        check_int_range("talkdesk.max_concurrent_jobs", config.get("max_concurrent_jobs"), 1,
                        ACCOUNT_JOB_QUOTA),
        check_int_range("talkdesk.job_timeout_minutes", config.get("job_timeout_minutes"), 1, None),
        check_int_range("talkdesk.report_row_cap", config.get("report_row_cap"), 1, None),
        check_region("talkdesk.default_phone_region", config.get("default_phone_region")),
    ]
    region = config.get("region")
    if region is not None and region not in REGIONS:
        messages.append(f"talkdesk.region is {region!r}; it must be one of {', '.join(sorted(REGIONS))} "
                        "(or set talkdesk.api_url and talkdesk.oauth_url for another region).")
    report_format = config.get("report_format")
    if report_format is not None and report_format not in PARSERS:
        messages.append(f"talkdesk.report_format is {report_format!r}; it must be one of "
                        f"{', '.join(sorted(PARSERS))}.")
    timezone = config.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            messages.append(f"talkdesk.timezone is {timezone!r}, which is not an IANA timezone name "
                            "such as UTC, America/New_York or Europe/Lisbon.")
    return [message for message in messages if message]


TALKDESK = Vendor(
    key="talkdesk",
    label=LABEL,
    settings=SETTINGS,
    client=talkdesk_client,
    streams=(TalkdeskCallsStream,),
    secret_settings=("client_secret",),
    validate=validate,
)
