"""The ``smartflo_call_records`` stream: call detail records from ``/v1/call/records``."""

from __future__ import annotations

import functools
import typing as t
from datetime import datetime, timedelta, timezone

from singer_sdk import SchemaDirectory, StreamSchema
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.convert import UTC, as_bool, as_int, as_number, as_text, hms_to_seconds
from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.redact import redact
from tap_callrecords.core.rest import CallRecordsStream, parsed_body
from tap_callrecords.vendors.smartflo import schemas
from tap_callrecords.vendors.smartflo.auth import SmartfloLoginAuth, StaticTokenAuth
from tap_callrecords.vendors.smartflo.paging import PageNumberPaginator

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    import requests
    from singer_sdk.helpers.types import Context

    from tap_callrecords.core.retry import RetryPolicy
    from tap_callrecords.core.windows import Window

#: India Standard Time: Smartflo's ``date``, ``time``, ``end_stamp`` and date filters.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
ONE_SECOND = timedelta(seconds=1)
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Optional filters passed through as the API documents them.
FILTERS = ("direction", "call_type", "did_number", "services", "agents", "department")


def floor_to_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding ``moment``."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ist_filter_text(moment: datetime) -> str:
    """``Y-m-d H:i:s`` in India time, as ``from_date``/``to_date`` want it."""
    return moment.astimezone(IST).strftime(FILTER_FORMAT)


@functools.lru_cache(maxsize=65_536)
def _utc_minute(day: str, hour_minute: str) -> str | None:
    """``YYYY-MM-DDTHH:MM`` in UTC of a minute in India time (cached: minutes repeat)."""
    try:
        moment = datetime.fromisoformat(f"{day}T{hour_minute}").replace(tzinfo=IST)
    except ValueError:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def ist_to_utc_iso(day: t.Any, clock: t.Any) -> str | None:
    """A date (``YYYY-MM-DD``) and time (``hh:mm:ss``) in India time, as the tap's UTC form."""
    if type(day) is not str or type(clock) is not str:
        return None
    if len(clock) == 8 and clock[5] == ":" and clock[6] in "012345" and clock[7].isdigit():
        prefix = _utc_minute(day, clock[:5])
        return f"{prefix}:{clock[6:]}.000000+00:00" if prefix else None
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=IST)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _start_time(record: Mapping[str, t.Any]) -> str | None:
    """UTC start from ``date`` + ``time`` (India time), else from ``call_id``'s epoch."""
    start = ist_to_utc_iso(record.get("date"), record.get("time"))
    if start:
        return start
    try:
        epoch = int(str(record.get("call_id")).split(".", 1)[0])
    except ValueError:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def _end_time(end_stamp: t.Any) -> str | None:
    """UTC end from ``end_stamp`` (``YYYY-MM-DD hh:mm:ss``, India time)."""
    if type(end_stamp) is not str or len(end_stamp) < 19:
        return None
    return ist_to_utc_iso(end_stamp[:10], end_stamp[11:])


@functools.lru_cache(maxsize=4096)
def _text_seconds(value: str) -> int | None:
    text = value.strip()
    if ":" in text:
        return hms_to_seconds(text)
    return as_int(text)


def _seconds(value: t.Any) -> int | None:
    """Whole seconds from a number, a numeric string or ``hh:mm:ss``; ``"N.A."`` is null."""
    if value is None or type(value) is int:
        return value
    if type(value) is float:
        return round(value)
    return _text_seconds(value) if type(value) is str else None


# Nested objects are conformed in place (they are freshly decoded and ours): each known
# key whose value is not of its schema type is converted; unknown keys are kept as sent,
# since Smartflo's steps and dialer details vary with the call. A table maps each key to
# the types its schema allows and the conversion for any other value.
Kinds = dict[str, tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]]]
STRING: tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]] = ((str,), as_text)
INTEGER: tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]] = ((int,), as_int)
SECONDS: tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]] = ((int,), _seconds)
NUMBER: tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]] = ((int, float), as_number)
BOOLEAN: tuple[tuple[type, ...], t.Callable[[t.Any], t.Any]] = ((bool,), as_bool)

STEP_KINDS: Kinds = {
    **dict.fromkeys(("type", "value", "id", "name", "num", "dialst", "dept_dialst", "app_id",
                     "app_name", "app_data", "readableTime", "timegroup_id", "timegroup_name",
                     "disposition"), STRING),
    "ringst": INTEGER,
    "time": NUMBER,
}
DIALER_KINDS: Kinds = {
    **dict.fromkeys(("customer_ring_time", "call_wait_time", "agent_talk_time",
                     "total_hold_duration", "total_call_duration", "disposition_duration"), SECONDS),
    **dict.fromkeys(("hold_count", "hangup_cause"), INTEGER),
    **dict.fromkeys(("disposition_id", "disposition_name", "disposition_code", "sub_disposition_id",
                     "sub_disposition_name", "sub_disposition_code", "call_type", "campaign_id",
                     "campaign_name", "list_id", "list_name", "inbound_queue", "sla_status",
                     "feedback_recording_type", "agent_call_duration"), STRING),
    **dict.fromkeys(("dialin_enabled", "dialout_enabled", "extension_dialer", "is_short_call",
                     "first_call_resolution"), BOOLEAN),
    "feedback_rating": NUMBER,
}
HOLD_KINDS: Kinds = {"hold_duration": SECONDS, "hold_count": INTEGER}


def _conform(obj: dict, kinds: Kinds) -> dict:
    for key, value in obj.items():
        kind = kinds.get(key)
        if kind is not None and value is not None and type(value) not in kind[0]:
            obj[key] = kind[1](value)
    return obj


def _step(raw: t.Any) -> dict | None:
    return _conform(raw, STEP_KINDS) if type(raw) is dict else None


def _steps(raw: t.Any) -> list[dict] | None:
    if type(raw) is not list:
        return None
    return [_conform(step, STEP_KINDS) for step in raw if type(step) is dict]


def _queue_details(raw: t.Any) -> list[dict] | None:
    if type(raw) is not list:
        return None
    details = [detail for detail in raw if type(detail) is dict]
    for detail in details:
        detail["queue_details"] = _step(detail.get("queue_details"))
        detail["missed_by"] = _steps(detail.get("missed_by"))
        detail["answered_by"] = _step(detail.get("answered_by"))
    return details


def _contact(raw: t.Any) -> dict | None:
    """The contact's integer ``id`` and its ``field_N`` values as strings."""
    if type(raw) is not dict:
        return None
    for key, value in raw.items():
        if key == "id":
            raw[key] = as_int(value)
        elif value is not None and type(value) is not str:
            raw[key] = str(value)
    return raw


def _notes(raw: t.Any) -> dict | None:
    if raw is None or raw == "":
        return None
    return raw if type(raw) is dict else {"text": as_text(raw)}


def _sip_agent_ids(raw: t.Any) -> list[str] | None:
    if raw is None or raw == "":
        return None
    values = raw if type(raw) is list else [raw]
    return [str(value) for value in values if value is not None]


def _dialer(raw: t.Any) -> dict | None:
    """``dialer_call_details``: known keys typed, others kept as sent; ``{}`` is null."""
    if type(raw) is not dict or not raw:
        return None
    _conform(raw, DIALER_KINDS)
    for key in ("dialer_queue_details", "dialer_queue_transfer_details"):
        if key in raw:
            raw[key] = _queue_details(raw[key])
    agents = raw.get("agents_call_details")
    if agents is not None:
        raw["agents_call_details"] = (
            {str(agent): _conform(details, HOLD_KINDS) if type(details) is dict else None
             for agent, details in agents.items()}
            if type(agents) is dict
            else None
        )
    return raw


#: Top-level fields typed as strings in the schema and sent as strings.
STRING_FIELDS = (
    "call_id",
    "uuid",
    "date",
    "time",
    "end_stamp",
    "direction",
    "description",
    "detailed_description",
    "status",
    "blocked_number_id",
    "recording_url",
    "service",
    "broadcast_id",
    "dtmf_input",
    "department_name",
    "agent_number",
    "agent_number_with_prefix",
    "agent_name",
    "client_number",
    "did_number",
    "reason",
    "hangup_cause",
    "call_hint",
    "lead_id",
    "caller_id_num",
    "custom_status",
    "aws_call_recording_identifier",
)
STRING_TYPES = frozenset((str, type(None)))


class SmartfloCallRecordsStream(CallRecordsStream):
    """Tata Smartflo call detail records.

    **Time.** Records carry their start as ``date`` + ``time`` in India time (UTC+05:30,
    no daylight saving); the replication key ``start_time`` is that instant in UTC.
    ``from_date``/``to_date`` are sent in India time too.

    **Filter bounds.** The docs do not say whether ``to_date`` is inclusive; read as
    "records till this second", it includes calls that start in that second. Each window
    ``[start, end)`` is therefore requested one second wider on the left and rounded up
    to the next whole second on the right, which covers the window under either reading
    (and under an exclusive ``from_date``); the base class keeps only the records whose
    ``start_time`` falls in ``[start, end)``, so a call exactly on a boundary (for
    example 23:30:00 IST = 18:00:00 UTC) is emitted by exactly one window.

    **Windows.** Paging is by offset (``page``/``limit``), which is only stable while
    the set of records a filter matches does not change. A run ends ``data_latency``
    (15 minutes) before now, so no window it reads can gain calls that start later; what
    can still arrive in a closed window is the record of a call that started in it and
    ends while it is read. Windows are one hour by default (``window_hours``): at a
    contact center's volume that is a page or a few, read within seconds, so the chance
    of such a shift is small, and a late record is picked up by the next run's lookback.
    Windows align to whole UTC hours, so a resumed run asks for the ranges a fresh one
    would. Longer windows (up to a day) spend fewer requests on quiet accounts, which
    matters under a 1 request/s limit.
    """

    name = "smartflo_call_records"
    path = "/v1/call/records"
    primary_keys = ("id",)
    replication_key = "start_time"
    records_key = "results"
    schema = StreamSchema(SchemaDirectory(schemas))

    vendor = "smartflo"
    vendor_label = "Tata Smartflo"
    data_latency = timedelta(minutes=15)
    window_align = staticmethod(floor_to_hour)

    @property
    def window_step(self) -> timedelta:  # type: ignore[override]
        """Whole hours, as many as ``smartflo.window_hours``."""
        return timedelta(hours=int(self.vendor_config.get("window_hours", 1)))

    @property
    def credential_settings(self) -> tuple[str, ...]:  # type: ignore[override]
        """The settings in use, named when Smartflo rejects them."""
        return ("api_token",) if self.vendor_config.get("api_token") else ("email", "password")

    @classmethod
    def build_authenticator(
        cls, vendor_config: Mapping[str, t.Any], *, policy: RetryPolicy, timeout: float
    ) -> requests.auth.AuthBase:
        """The portal token as is, or a login token renewed before expiry and on 401."""
        if vendor_config.get("api_token"):
            return StaticTokenAuth(str(vendor_config["api_token"]))
        return SmartfloLoginAuth(
            api_url=str(vendor_config["api_url"]),
            email=str(vendor_config["email"]),
            password=str(vendor_config["password"]),
            vendor=cls.vendor_label,
            policy=policy,
            timeout=timeout,
        )

    @property
    def authenticator(self) -> requests.auth.AuthBase:  # type: ignore[override]
        """The vendor's authenticator; logins wait on the same rate limiter as data requests."""
        session = self.session
        auth = session.authenticator
        if isinstance(auth, SmartfloLoginAuth):
            auth.throttle = session.rate_limiter.wait
        return auth

    @property
    def page_size(self) -> int:
        return int(self.vendor_config.get("page_size", 100))

    def get_new_paginator(self) -> PageNumberPaginator:
        return PageNumberPaginator(limit=self.page_size)

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:
        window = t.cast("Window", self.current_window)
        first = window.start.replace(microsecond=0) - ONE_SECOND
        last = window.end.replace(microsecond=0)
        if last < window.end:
            last += ONE_SECOND
        params: dict[str, t.Any] = {
            "from_date": ist_filter_text(first),
            "to_date": ist_filter_text(last),
            "page": next_page_token or 1,
            "limit": self.page_size,
        }
        config = self.vendor_config
        for name in FILTERS:
            value = config.get(name)
            if value in (None, "", []):
                continue
            if name == "services" and isinstance(value, list):
                value = ",".join(str(v) for v in value)
            params[name] = value  # lists go as repeated keys: agents=a&agents=b
        return params

    def validate_response(self, response: requests.Response) -> None:
        """Also treat a 200 reply with ``success: false`` and no results as an error."""
        super().validate_response(response)
        body = parsed_body(response)
        if isinstance(body, dict) and "results" not in body and body.get("success") in (False, "false"):
            message = redact(str(body.get("message") or ""))[:200]
            if "too many" in message.lower():
                raise RetriableAPIError(f"{self.vendor_label}: {message} (HTTP {response.status_code})",
                                        response)
            raise VendorAPIError(f"{self.vendor_label}: {self.path} answered: {message or body}")

    def convert_record(self, record: dict) -> dict:
        """Schema-typed record: UTC ``start_time``/``end_time``, durations in seconds."""
        get = record.get
        # Most fields are strings that arrive as strings: check them all at C speed first.
        texts = list(map(get, STRING_FIELDS))
        if not set(map(type, texts)) <= STRING_TYPES:
            texts = list(map(as_text, texts))
        converted = dict(zip(STRING_FIELDS, texts, strict=True))
        converted.update(
            id=as_text(record["id"]),
            start_time=_start_time(record),
            end_time=_end_time(get("end_stamp")),
            accountid=as_text(get("accountid", get("account_id"))),
            call_duration=_seconds(get("call_duration")),
            answered_seconds=_seconds(get("answered_seconds")),
            minutes_consumed=as_int(get("minutes_consumed")),
            charges=as_number(get("charges")),
            agent_ring_time=_seconds(get("agent_ring_time")),
            notes=_notes(get("notes")),
            contact_details=_contact(get("contact_details")),
            missed_agents=_steps(get("missed_agents")),
            call_flow=_steps(get("call_flow")),
            circle={"operator": as_text(circle.get("operator")), "circle": as_text(circle.get("circle"))}
            if type(circle := get("circle")) is dict
            else None,
            agent_hangup_data=_steps(get("agent_hangup_data")),
            transfer_missed_agent=_steps(get("transfer_missed_agent")),
            support_api_call=as_bool(get("support_api_call")),
            is_incoming_from_broadcast=as_bool(get("is_incoming_from_broadcast")),
            sip_agent_ids=_sip_agent_ids(get("sip_agent_ids")),
            dialer_call_details=_dialer(get("dialer_call_details")),
            voicemail_recording=as_bool(get("voicemail_recording")),
        )
        return converted
