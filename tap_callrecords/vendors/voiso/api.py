"""Voiso's CDR v2 API: the client (key in the query string) and the ``/api/v2/cdr`` endpoint.

Voiso filters by whole days (``start_date``/``end_date``, inclusive) in a timezone it
does not document. Each window therefore asks for one extra day on either side; the
stream keeps only the records whose ``timestamp`` (the end of the interaction) falls in
the window, which is correct whether Voiso reads the dates as UTC or as account time.

**Errors in a 200.** Voiso's legacy error body for a bad key, ``{"error": "Invalid
api_key"}``, has no documented status; sent with a 200 it is read for what it says
(:class:`VoisoDialect`): about the key, a credential error naming ``voiso.api_key``; any
other, a fatal error quoting it. Neither is retried.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from tap_callrecords.core.auth import QueryParamAuth
from tap_callrecords.core.client import ErrorDialect, VendorClient
from tap_callrecords.core.errors import VendorAPIError, VendorAuthError
from tap_callrecords.core.paged import PagedEndpoint
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.redact import redact
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.voiso.paging import ChainPage, SearchTokenPaginator

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    import requests

    from tap_callrecords.core.client import RequestSettings
    from tap_callrecords.core.windows import Window

LABEL = "Voiso"
ONE_DAY = timedelta(days=1)
CREDENTIAL_SETTINGS = ("voiso.api_key",)
#: Words of an error body that say the key was refused.
KEY_WORDS = ("key", "unauthori")


class VoisoDialect(ErrorDialect):
    """A 200 whose body is an ``error`` without ``records`` is that error, never retried."""

    def body_error(self, client: VendorClient, response: requests.Response, body: t.Any) -> Exception | None:
        if not isinstance(body, dict) or "records" in body or not body.get("error"):
            return None
        message = redact(str(body["error"]))[:200]
        if any(word in message.lower() for word in KEY_WORDS):
            return VendorAuthError(f"{LABEL} rejected the API key ({message}, HTTP "
                                   f"{response.status_code}); check {', '.join(CREDENTIAL_SETTINGS)}.")
        return VendorAPIError(f"{LABEL}: /api/v2/cdr answered: {message} (HTTP {response.status_code})")


def voiso_client(
    settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
) -> VendorClient:
    """The API key travels in the query string as ``key`` (and is redacted everywhere)."""
    return VendorClient(
        label=LABEL,
        base_url=str(settings["api_url"]),
        settings=request,
        logger=logger,
        auth=QueryParamAuth("key", str(settings["api_key"])),
        dialect=VoisoDialect(),
        rate_limiter=RequestRateLimiter(settings["max_requests_per_second"]),
        credential_settings=CREDENTIAL_SETTINGS,
    )


def cdr_endpoint(settings: Mapping[str, t.Any]) -> PagedEndpoint:
    """``GET /api/v2/cdr``: pages in 10,000-record chains, ``search_token`` across chains."""
    per_page = int(settings["per_page"])

    def params(window: Window, page: ChainPage) -> dict[str, t.Any]:
        first_day = floor_to_day(window.start) - ONE_DAY
        last_day = floor_to_day(window.end - timedelta(microseconds=1)) + ONE_DAY
        query: dict[str, t.Any] = {
            "page": page.page,
            "per_page": per_page,
            "start_date": first_day.date().isoformat(),
            "end_date": last_day.date().isoformat(),
        }
        if page.search_token:
            query["search_token"] = page.search_token
        return query

    return PagedEndpoint(
        path="/api/v2/cdr",
        records_key="records",
        params=params,
        paginator=lambda: SearchTokenPaginator(per_page=per_page),
        key="uuid",
    )
