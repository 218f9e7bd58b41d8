"""Tata Smartflo's API: token or login, an account-wide rate cap, ``/v1/call/records``.

**Filter bounds.** The docs do not say whether ``to_date`` is inclusive; read as
"records till this second", it includes calls that start in that second. Each window
``[start, end)`` is therefore requested one second wider on the left and rounded up to
the next whole second on the right, which covers the window under either reading (and
under an exclusive ``from_date``); the stream keeps only the records whose
``start_time`` falls in ``[start, end)``, so a call exactly on a boundary (for example
23:30:00 IST = 18:00:00 UTC) is emitted by exactly one window.

**Array filters.** ``agents``, ``department`` and ``ivr`` are documented as arrays with
no query encoding. ``array_filter_form`` chooses it: ``brackets`` (the default,
``agents[]=a&agents[]=b``) is read as the whole list by a PHP server (Smartflo's
``Y-m-d H:i:s`` is PHP's date notation) and by every parser that collects repeated keys
and knows the bracket convention; a repeated bare key (``repeated``: ``agents=a&agents=b``)
is read by PHP as its last value only, so it is for a gateway that ignores brackets.

**Errors.** Besides status codes, Smartflo may answer 200 with ``success: false`` and no
``results``: "Too many requests." is retried like a 429, anything else is fatal.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.client import ErrorDialect, VendorClient
from tap_callrecords.core.convert import UTC
from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.paged import PagedEndpoint
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.redact import redact
from tap_callrecords.vendors.smartflo.auth import LOGIN_SETTINGS, SmartfloLoginAuth, StaticTokenAuth
from tap_callrecords.vendors.smartflo.paging import PageNumberPaginator
from tap_callrecords.vendors.smartflo.records import IST

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    import requests

    from tap_callrecords.core.client import RequestSettings
    from tap_callrecords.core.windows import Window

LABEL = "Tata Smartflo"
PATH = "/v1/call/records"
ONE_SECOND = timedelta(seconds=1)
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Optional filters passed through as the API documents them.
FILTERS = ("direction", "call_type", "did_number", "services", "agents", "department", "ivr")
#: The filters documented as arrays: sent in the form ``array_filter_form`` names.
ARRAY_FILTERS = frozenset(("agents", "department", "ivr"))


def floor_to_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding ``moment``."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ist_filter_text(moment: datetime) -> str:
    """``Y-m-d H:i:s`` in India time, as ``from_date``/``to_date`` want it."""
    return moment.astimezone(IST).strftime(FILTER_FORMAT)


class SmartfloDialect(ErrorDialect):
    """A 200 reply with ``success: false`` and no ``results`` is an error."""

    def body_error(self, client: VendorClient, response: requests.Response, body: t.Any) -> Exception | None:
        if not isinstance(body, dict) or "results" in body or body.get("success") not in (False, "false"):
            return None
        message = redact(str(body.get("message") or ""))[:200]
        if "too many" in message.lower():
            return RetriableAPIError(f"{message} (HTTP {response.status_code})", response)
        return VendorAPIError(f"{LABEL}: {PATH} answered: {message or body}")


def smartflo_client(
    settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
) -> VendorClient:
    """The portal token as is, or a login token renewed before expiry and on 401.

    Smartflo's limit is account-wide, so logins wait on the same rate limiter as data.
    """
    limiter = RequestRateLimiter(settings["max_requests_per_second"])
    auth: requests.auth.AuthBase
    if settings.get("api_token"):
        auth = StaticTokenAuth(str(settings["api_token"]))
        credentials: tuple[str, ...] = ("smartflo.api_token",)
    else:
        auth = SmartfloLoginAuth(
            api_url=str(settings["api_url"]),
            email=str(settings["email"]),
            password=str(settings["password"]),
            vendor=LABEL,
            policy=request.retry_policy,
            timeout=request.timeout,
            throttle=limiter.wait,
        )
        credentials = LOGIN_SETTINGS
    return VendorClient(
        label=LABEL,
        base_url=str(settings["api_url"]),
        settings=request,
        logger=logger,
        auth=auth,
        rate_limiter=limiter,
        dialect=SmartfloDialect(),
        credential_settings=credentials,
    )


def call_records_endpoint(settings: Mapping[str, t.Any]) -> PagedEndpoint:
    """``GET /v1/call/records``: the window in India time, page/limit, the user's filters."""
    page_size = int(settings["page_size"])
    brackets = settings.get("array_filter_form", "brackets") == "brackets"
    filters: dict[str, t.Any] = {}
    for name in FILTERS:
        value = settings.get(name)
        if value in (None, "", []):
            continue
        if name == "services" and isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if name in ARRAY_FILTERS:
            values = [str(v) for v in (value if isinstance(value, list) else [value])]
            filters[f"{name}[]" if brackets else name] = values  # one key per value
            continue
        filters[name] = value

    def params(window: Window, page: int) -> dict[str, t.Any]:
        first = window.start.replace(microsecond=0) - ONE_SECOND
        last = window.end.replace(microsecond=0)
        if last < window.end:
            last += ONE_SECOND
        return {
            "from_date": ist_filter_text(first),
            "to_date": ist_filter_text(last),
            "page": page,
            "limit": page_size,
            **filters,
        }

    return PagedEndpoint(
        path=PATH,
        records_key="results",
        params=params,
        paginator=lambda: PageNumberPaginator(limit=page_size),
        key="id",
        count_key="count",
    )
