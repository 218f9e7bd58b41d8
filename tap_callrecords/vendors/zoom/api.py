"""Zoom Contact Center's API: Server-to-Server OAuth, a shared rate cap, "List voice call logs".

``GET /contact_center/voice_calls`` with ``from``/``to`` (at most one month apart) and
``next_page_token`` paging. Page tokens expire after 15 minutes; Zoom then answers a
4xx that :func:`~tap_callrecords.vendors.zoom.paging.is_expired_page_token` recognises,
and the window is read again from its first page.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from tap_callrecords.core.auth import ClientCredentialsAuth
from tap_callrecords.core.client import ErrorDialect, VendorClient
from tap_callrecords.core.convert import UTC
from tap_callrecords.core.paged import PagedEndpoint
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.vendors.zoom.paging import (
    NextPageTokenPaginator,
    PageTokenExpired,
    is_expired_page_token,
)

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping

    import requests

    from tap_callrecords.core.client import RequestSettings
    from tap_callrecords.core.windows import Window

LABEL = "Zoom Contact Center"
CREDENTIAL_SETTINGS = ("zoom.account_id", "zoom.client_id", "zoom.client_secret")
#: Filters sent as repeated query parameters (``types=a&types=b``), as in Zoom's docs.
LIST_FILTERS = ("types", "sub_types", "user_ids", "cc_queue_ids", "country_iso_codes",
                "number_types", "team_ids", "region_ids")
SINGLE_FILTERS = ("distribution", "direction", "view_type")


def zoom_time(moment: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss+00:00``: Zoom reads a trailing ``Z`` as a literal letter."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _ceil_second(moment: datetime) -> datetime:
    return moment + timedelta(microseconds=1_000_000 - moment.microsecond) if moment.microsecond else moment


class ZoomDialect(ErrorDialect):
    """An expired page token restarts the window; other 4xx are fatal."""

    def client_error(self, client: VendorClient, response: requests.Response) -> Exception | None:
        if is_expired_page_token(response):
            return PageTokenExpired(client.error_message(response, "the voice call logs"))
        return None


def zoom_client(
    settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
) -> VendorClient:
    """Server-to-Server OAuth (``account_credentials`` grant, no refresh token) under a rate cap."""
    limiter = RequestRateLimiter(settings["max_requests_per_second"])
    auth = ClientCredentialsAuth(
        token_url=str(settings["oauth_url"]),
        client_id=str(settings["client_id"]),
        client_secret=str(settings["client_secret"]),
        form={"grant_type": "account_credentials", "account_id": str(settings["account_id"])},
        vendor=LABEL,
        credential_settings=CREDENTIAL_SETTINGS,
        policy=request.retry_policy,
        timeout=request.timeout,
        throttle=limiter.wait,
    )
    return VendorClient(
        label=LABEL,
        base_url=str(settings["api_url"]),
        settings=request,
        logger=logger,
        auth=auth,
        rate_limiter=limiter,
        dialect=ZoomDialect(),
        credential_settings=CREDENTIAL_SETTINGS,
    )


def voice_calls_endpoint(settings: Mapping[str, t.Any], detail: Callable[[], bool] = bool) -> PagedEndpoint:
    """The window as whole seconds covering it (the stream trims to the window), and filters;
    ``view_type=detail`` whenever ``detail()`` says so (asked per request: which streams are
    selected is known only once the run starts)."""
    filters: dict[str, t.Any] = {name: list(settings[name]) for name in LIST_FILTERS if settings.get(name)}
    filters.update({name: settings[name] for name in SINGLE_FILTERS if settings.get(name)})
    page_size = int(settings["page_size"])

    def params(window: Window, page_token: str | None) -> dict[str, t.Any]:
        query: dict[str, t.Any] = {
            "from": zoom_time(window.start),
            "to": zoom_time(_ceil_second(window.end)),
            "page_size": page_size,
            **filters,
        }
        if detail():
            query["view_type"] = "detail"
        if page_token:
            query["next_page_token"] = page_token
        return query

    return PagedEndpoint(
        path="/contact_center/voice_calls",
        records_key="voice_calls",
        params=params,
        paginator=NextPageTokenPaginator,
        restart_on=PageTokenExpired,
        key="engagement_id",
        count_key="total_records",
        describe_window=lambda window: f"{zoom_time(window.start)} to {zoom_time(window.end)}",
    )
