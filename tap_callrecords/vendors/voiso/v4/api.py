"""Voiso's API v4: the client (a scoped key as ``Authorization: Bearer``) and
``GET /api/v4/reporting/cdrs``.

v4 filters on ``started_at`` with comparisons, so a window is asked for exactly
(``started_at[gte]`` its start, ``started_at[lt]`` its end) and nothing is read twice
beyond the lookback. The docs name the comparisons (``gte``, ``lt``) without spelling
the query; the tap sends the bracket form (``started_at[gte]=...``), its documented
choice (README, Voiso).
"""

from __future__ import annotations

import typing as t
from http import HTTPStatus

from tap_callrecords.core.auth import BearerKeyAuth
from tap_callrecords.core.client import ErrorDialect, VendorClient
from tap_callrecords.core.errors import VendorAPIError, VendorAuthError
from tap_callrecords.core.paged import PagedEndpoint
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.vendors.voiso.v4.paging import CursorPage, CursorPaginator

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    import requests

    from tap_callrecords.core.client import RequestSettings
    from tap_callrecords.core.windows import Window

LABEL = "Voiso"
PATH = "/api/v4/reporting/cdrs"
SCOPE = "reporting.cdrs.read"
#: Said after a 401: the kind of key v4 takes and where an administrator makes it.
KEY_HINT = (
    "Voiso API v4 takes a scoped API key (not the contact center or user API key of v2), "
    "which an administrator generates on Voiso's API keys page, with the scope "
    f"{SCOPE}; or set voiso.api_version to v2 for a v2 user API key."
)


def time_param(window_edge: str) -> str:
    """A window edge as v4 is sent it: the tap's UTC form with ``Z`` for ``+00:00``."""
    return window_edge.replace("+00:00", "Z")


class V4Dialect(ErrorDialect):
    """v4's 403 (a key without the scope) and 400 (a rejected cursor's fallback) in words."""

    def client_error(self, client: VendorClient, response: requests.Response) -> Exception | None:
        if response.status_code == HTTPStatus.FORBIDDEN:
            return VendorAuthError(
                f"{LABEL} refused the API key (HTTP 403): a v4 key needs the scope {SCOPE}; "
                "an administrator adds it to the key (or generates one with it) on Voiso's "
                "API keys page, then set it in voiso.api_key."
            )
        if response.status_code == HTTPStatus.BAD_REQUEST and "cursor=" in (response.url or ""):
            return VendorAPIError(
                f"{client.error_message(response, 'the CDR list')}; Voiso rejected the "
                "paging cursor it had handed out, so the window cannot be read to its end. "
                "Nothing after the last complete window is claimed; run again (a smaller "
                "voiso.window_days keeps a window within the first 10,000 records)."
            )
        return None


def voiso_v4_client(
    settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
) -> VendorClient:
    """The scoped key travels in the ``Authorization`` header (and is redacted everywhere)."""
    return VendorClient(
        label=LABEL,
        base_url=str(settings["api_url"]),
        settings=request,
        logger=logger,
        auth=BearerKeyAuth(str(settings["api_key"])),
        dialect=V4Dialect(),
        rate_limiter=RequestRateLimiter(settings["max_requests_per_second"]),
        credential_settings=("voiso.api_key",),
        credential_hint=KEY_HINT,
    )


def cdrs_endpoint(settings: Mapping[str, t.Any]) -> PagedEndpoint:
    """``GET /api/v4/reporting/cdrs``: ``limit``/``offset``, then ``metadata.next_cursor``."""
    limit = int(settings["limit"])

    def params(window: Window, page: CursorPage) -> dict[str, t.Any]:
        query: dict[str, t.Any] = {
            "limit": limit,
            "offset": page.offset,
            "started_at[gte]": time_param(window.start.isoformat()),
            "started_at[lt]": time_param(window.end.isoformat()),
        }
        if page.cursor:
            query["cursor"] = page.cursor
        return query

    return PagedEndpoint(
        path=PATH,
        records_key="data",
        params=params,
        paginator=lambda: CursorPaginator(limit=limit),
        key="id",
    )
