"""The ``zoom_voice_calls`` stream: Zoom Contact Center's "List voice call logs".

``GET /contact_center/voice_calls`` with ``from``/``to`` (at most one month apart) and
``next_page_token`` paging. Windows are one UTC day: far inside the one-month limit,
quick to page through before a 15-minute page token expires, and small enough that the
per-window set of engagement ids used to survive an expiry stays a few megabytes.
"""

from __future__ import annotations

import functools
import re
import typing as t
from datetime import datetime, timedelta

import msgspec
from singer_sdk import SchemaDirectory, StreamSchema

from tap_callrecords.core.auth import ClientCredentialsAuth
from tap_callrecords.core.convert import UTC, as_bool, as_int, as_text, iso_to_utc_iso
from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.rest import CallRecordsStream
from tap_callrecords.core.windows import floor_to_day
from tap_callrecords.vendors.zoom import schemas
from tap_callrecords.vendors.zoom.paging import (
    NextPageTokenPaginator,
    PageTokenExpired,
    is_expired_page_token,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import requests
    from singer_sdk.helpers.types import Context

    from tap_callrecords.core.retry import RetryPolicy
    from tap_callrecords.core.windows import Window

DEFAULT_API_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
DEFAULT_PAGE_SIZE = 100
#: Filters sent as repeated query parameters (``types=a&types=b``), as in Zoom's docs.
LIST_FILTERS = ("types", "sub_types", "user_ids", "cc_queue_ids", "country_iso_codes",
                "number_types", "team_ids", "region_ids")
SINGLE_FILTERS = ("distribution", "direction", "view_type")
#: Restarts of one window after expired page tokens before the run gives up.
MAX_WINDOW_RESTARTS = 5

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_UTC_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")


def utc_time(value: str | None) -> str | None:
    """Zoom's time (any offset) in the tap's UTC form; the usual ``+00:00`` reply without parsing."""
    if value is not None and len(value) == 25 and _UTC_SECONDS.fullmatch(value):
        return value[:19] + ".000000+00:00"
    return iso_to_utc_iso(value)


class _Queue(msgspec.Struct):
    queue_id: str | None = None
    queue_name: str | None = None


class _Agent(msgspec.Struct):
    user_id: str | None = None
    display_name: str | None = None


class _Flow(msgspec.Struct):
    flow_id: str | None = None
    flow_name: str | None = None


class VoiceCall(msgspec.Struct):
    """A voice call as the schema types it; ``msgspec.convert`` checks and coerces in C."""

    engagement_id: str
    start_time: str | None = None
    end_time: str | None = None
    total_duration: int | None = None
    direction: str | None = None
    call_legs: list[str] | None = None
    distributions: list[str] | None = None
    types: list[str] | None = None
    caller_number: str | None = None
    caller_number_type: str | None = None
    callee_number: str | None = None
    callee_number_type: str | None = None
    consumer_number: str | None = None
    consumer_display_name: str | None = None
    queues: list[_Queue] | None = None
    agents: list[_Agent] | None = None
    flows: list[_Flow] | None = None
    country_name: str | None = None
    recorded: bool | None = None
    monitored: bool | None = None
    inbox: bool | None = None
    result: str | None = None
    caller_id: str | None = None
    calling_party: str | None = None
    charge: str | None = None
    rates: list[str] | None = None
    charge_type: str | None = None
    voice_call_details: list[dict[str, t.Any]] | None = None


def zoom_time(moment: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss+00:00``: Zoom reads a trailing ``Z`` as a literal letter."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _ceil_second(moment: datetime) -> datetime:
    return moment + timedelta(microseconds=1_000_000 - moment.microsecond) if moment.microsecond else moment


@functools.lru_cache(maxsize=4096)
def _charge_text_amount(value: str) -> float | None:
    match = _NUMBER.search(value.replace(",", ""))
    return float(match.group()) if match else None


def charge_amount(value: t.Any) -> float | None:
    """``"$0.019"`` -> ``0.019``; numbers pass through; anything unreadable is ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return _charge_text_amount(value) if isinstance(value, str) else None





def _strings(value: t.Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [item if isinstance(item, str) else str(item) for item in value if item is not None]


def _named(value: t.Any, id_key: str, name_key: str) -> list[dict[str, str | None]] | None:
    if not isinstance(value, list):
        return None
    return [
        {id_key: as_text(item.get(id_key)), name_key: as_text(item.get(name_key))}
        for item in value
        if isinstance(item, dict)
    ]


def _details(value: t.Any) -> list[dict[str, t.Any]] | None:
    """Detail-view entries as given, their ``start_time``/``end_time`` in UTC."""
    if not isinstance(value, list):
        return None
    entries = []
    for item in value:
        if isinstance(item, dict):
            entry = dict(item)
            for key in ("start_time", "end_time"):
                if isinstance(entry.get(key), str):
                    entry[key] = iso_to_utc_iso(entry[key])
            entries.append(entry)
    return entries


class ZoomVoiceCallsStream(CallRecordsStream):
    """Zoom Contact Center voice call logs, one UTC day per window."""

    name = "zoom_voice_calls"
    path = "/contact_center/voice_calls"
    primary_keys = ("engagement_id",)
    replication_key = "start_time"
    records_key = "voice_calls"
    schema = StreamSchema(SchemaDirectory(schemas))

    vendor = "zoom"
    vendor_label = "Zoom Contact Center"
    credential_settings = ("account_id", "client_id", "client_secret")
    window_step = timedelta(days=1)
    window_align = staticmethod(floor_to_day)

    @property
    def url_base(self) -> str:
        return str(self.vendor_config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @classmethod
    def build_authenticator(
        cls, vendor_config: Mapping[str, t.Any], *, policy: RetryPolicy, timeout: float
    ) -> requests.auth.AuthBase:
        """Server-to-Server OAuth: the ``account_credentials`` grant, no refresh token."""
        return ClientCredentialsAuth(
            token_url=str(vendor_config.get("oauth_url") or DEFAULT_OAUTH_URL),
            client_id=str(vendor_config["client_id"]),
            client_secret=str(vendor_config["client_secret"]),
            form={"grant_type": "account_credentials", "account_id": str(vendor_config["account_id"])},
            vendor=cls.vendor_label,
            credential_settings=tuple(f"{cls.vendor}.{name}" for name in cls.credential_settings),
            policy=policy,
            timeout=timeout,
        )

    def get_new_paginator(self) -> NextPageTokenPaginator:
        return NextPageTokenPaginator()

    @functools.cached_property
    def _filters(self) -> dict[str, t.Any]:
        config = self.vendor_config
        filters: dict[str, t.Any] = {
            name: list(config[name]) for name in LIST_FILTERS if config.get(name)
        }
        filters.update({name: config[name] for name in SINGLE_FILTERS if config.get(name)})
        return filters

    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict[str, t.Any]:
        """The window as whole seconds covering it; post-processing trims to the window."""
        window = t.cast("Window", self.current_window)
        params: dict[str, t.Any] = {
            "from": zoom_time(window.start),
            "to": zoom_time(_ceil_second(window.end)),
            "page_size": int(self.vendor_config.get("page_size") or DEFAULT_PAGE_SIZE),
            **self._filters,
        }
        if next_page_token:
            params["next_page_token"] = next_page_token
        return params

    def raise_for_client_error(self, response: requests.Response) -> None:
        """An expired page token restarts the window; other 4xx are fatal."""
        if is_expired_page_token(response):
            raise PageTokenExpired(self.response_error_message(response))
        super().raise_for_client_error(response)

    def request_records(self, context: Context | None) -> Iterable[dict]:
        """Page through the window; on an expired page token, start it again from page one.

        Engagement ids already read in this window are skipped, so a restart emits
        nothing twice. The set lives for one window (one day of calls) only.
        """
        seen: set[t.Any] = set()
        restarts = 0
        while True:
            try:
                for record in super().request_records(context):
                    key = record.get("engagement_id")
                    if key in seen:
                        continue
                    seen.add(key)
                    yield record
            except PageTokenExpired as exc:
                restarts += 1
                window = t.cast("Window", self.current_window)
                if restarts > MAX_WINDOW_RESTARTS:
                    raise VendorAPIError(
                        f"{self.vendor_label}: page tokens kept expiring in the window "
                        f"{zoom_time(window.start)} to {zoom_time(window.end)} "
                        f"({MAX_WINDOW_RESTARTS} restarts); last error: {exc}"
                    ) from None
                self.logger.warning(
                    "%s: a page token expired in the window %s to %s; restarting the window "
                    "from its first page (restart %d of at most %d; %d calls already read "
                    "are skipped)",
                    self.vendor_label, zoom_time(window.start), zoom_time(window.end),
                    restarts, MAX_WINDOW_RESTARTS, len(seen),
                )
                continue
            return

    def convert_record(self, record: dict) -> dict:
        """Schema-typed record: UTC times, integer seconds, ``charge`` also as a number.

        The usual record is checked and typed by ``msgspec`` in one C call (numbers and
        booleans sent as strings are coerced); one it rejects (say a number where text
        is expected) goes through the field-by-field conversion instead.
        """
        try:
            typed = msgspec.to_builtins(msgspec.convert(record, VoiceCall, strict=False))
        except msgspec.ValidationError:
            return self.convert_irregular_record(record)
        typed["start_time"] = utc_time(typed["start_time"])
        typed["end_time"] = utc_time(typed["end_time"])
        typed["charge_amount"] = charge_amount(typed["charge"])
        if typed["voice_call_details"] is not None:
            typed["voice_call_details"] = _details(typed["voice_call_details"])
        return typed

    def convert_irregular_record(self, record: dict) -> dict:
        """Field-by-field conversion that accepts any value shape."""
        if record.get("engagement_id") in (None, ""):
            raise VendorAPIError(
                f"{self.vendor_label}: a voice call without an engagement_id in {self.path} "
                f"(keys: {', '.join(sorted(map(str, record)))})"
            )
        get = record.get
        charge = get("charge")
        return {
            "engagement_id": str(record["engagement_id"]),
            "start_time": utc_time(as_text(get("start_time"))),
            "end_time": utc_time(as_text(get("end_time"))),
            "total_duration": as_int(get("total_duration")),
            "direction": as_text(get("direction")),
            "call_legs": _strings(get("call_legs")),
            "distributions": _strings(get("distributions")),
            "types": _strings(get("types")),
            "caller_number": as_text(get("caller_number")),
            "caller_number_type": as_text(get("caller_number_type")),
            "callee_number": as_text(get("callee_number")),
            "callee_number_type": as_text(get("callee_number_type")),
            "consumer_number": as_text(get("consumer_number")),
            "consumer_display_name": as_text(get("consumer_display_name")),
            "queues": _named(get("queues"), "queue_id", "queue_name"),
            "agents": _named(get("agents"), "user_id", "display_name"),
            "flows": _named(get("flows"), "flow_id", "flow_name"),
            "country_name": as_text(get("country_name")),
            "recorded": as_bool(get("recorded")),
            "monitored": as_bool(get("monitored")),
            "inbox": as_bool(get("inbox")),
            "result": as_text(get("result")),
            "caller_id": as_text(get("caller_id")),
            "calling_party": as_text(get("calling_party")),
            "charge": as_text(charge),
            "charge_amount": charge_amount(charge),
            "rates": _strings(get("rates")),
            "charge_type": as_text(get("charge_type")),
            "voice_call_details": _details(get("voice_call_details")),
        }
