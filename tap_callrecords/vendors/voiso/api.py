"""Voiso's CDR v2 API: the client (key in the query string) and the ``/api/v2/cdr`` endpoint.

Voiso filters by whole days (``start_date``/``end_date``, inclusive) in a timezone it
does not document. Each window therefore asks for one extra day on either side; the
stream keeps only the records whose ``timestamp`` (the end of the interaction) falls in
the window, which is correct whether Voiso reads the dates as UTC or as account time.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from tap_callrecords.core.auth import QueryParamAuth
from tap_callrecords.core.client import VendorClient
from tap_callrecords.core.paged import PagedEndpoint
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.voiso.paging import ChainPage, SearchTokenPaginator

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from tap_callrecords.core.client import RequestSettings
    from tap_callrecords.core.windows import Window

LABEL = "Voiso"
ONE_DAY = timedelta(days=1)


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
        rate_limiter=RequestRateLimiter(settings["max_requests_per_second"]),
        credential_settings=("voiso.api_key",),
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
