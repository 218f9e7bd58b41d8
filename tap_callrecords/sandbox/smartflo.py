"""Tata Smartflo's call records API, as documented: ``POST /v1/auth/login`` for a token,
``Authorization`` with or without ``Bearer ``, ``GET /v1/call/records`` paged by
``page``/``limit`` with ``from_date``/``to_date`` in India time, newest call first.

Options (``/_sandbox/configure``) the tests use:

- ``to_date_inclusive``: whether ``to_date`` includes its own second (undocumented).
- ``token_max_requests``: a login token is refused (401) after this many data requests,
  so a test can expire it mid-sync; ``token_expires_in`` is the lifetime reported.
- ``rate_limit_per_second``: Smartflo's account-wide limit (0: off); over it, 429 with
  ``{"success": "false", "message": "Too many requests."}``.
- ``max_limit``: the largest page served; a larger ``limit`` is capped, as ``limit``
  in the reply shows.

Readings (:data:`READINGS`; the first value of each is the default), where the docs are
silent:

- ``token_form``: which ``Authorization`` form is read: ``either``, only ``bare``, only
  ``bearer``; the other is a 401.
- ``array_filters``: how a repeated query key is read: ``all_values`` (every value, with
  or without ``[]``), or ``last_value`` (PHP: a bare repeated key is its last value,
  ``agents[]`` the whole list). ``agents`` (``agent|<id>``) and ``department`` (the
  department's name) filter the records; the filters as read are in ``filters_read``.
- ``agent_hangup_data``: sent as the sampled ``array``, or as a ``string`` (its
  documented type).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import msgspec

from tap_callrecords.sandbox.data import local_date_time, mix
from tap_callrecords.sandbox.server import (
    JSON_ENCODER,
    Request,
    Response,
    VendorAPI,
    json_response,
    token_reply,
)

IST_SECONDS = 19_800  # UTC+05:30
IST = timezone(timedelta(seconds=IST_SECONDS))
POOL_SIZE = 1024
FILTER_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
AGENTS = ("Parag Yadav", "Ananya Iyer", "Rohit Sharma", "Meera Nair", "Vikram Singh", "Sana Khan")
CIRCLES = (("Airtel India", "Delhi"), ("Vodafone Idea", "Maharashtra"), ("Jio", "Karnataka"),
           ("BSNL", "Kerala"))
TOO_MANY = {"success": "false", "message": "Too many requests."}
#: Each undocumented behaviour -> its possible values, the default first.
READINGS: dict[str, tuple[str, ...]] = {
    "token_form": ("either", "bare", "bearer"),
    "array_filters": ("all_values", "last_value"),
    "agent_hangup_data": ("array", "string"),
}
DEFAULTS: dict[str, Any] = {
    "count": 1000,
    "start": "2024-07-01T00:00:00+00:00",
    "end": "2024-07-31T00:00:00+00:00",
    "seed": 3,
    "api_token": "sandbox-smartflo-token",
    "email": "ops@sandbox.example",
    "password": "sandbox-smartflo-password",
    "token_expires_in": 3600,
    # How the login reply gives ``expires_in``: "number" (the lifetime), "null" or "missing".
    "expires_in_reply": "number",
    "token_max_requests": 0,
    "to_date_inclusive": True,
    "rate_limit_per_second": 0,
    "max_limit": 10_000,
    "login_failure_status": 401,
    **{name: values[0] for name, values in READINGS.items()},
    # A page size the server caps at without saying so: the reply's ``limit`` echoes the
    # one asked for, but no page holds more rows than this (0: no such cap).
    "hidden_page_cap": 0,
    # This many record requests are served in an order that shifts between requests
    # (each page rotated by a few rows more), as a server without a stable sort would.
    "unstable_order_requests": 0,
}
#: The filters documented as arrays, which ``array_filters`` reads.
ARRAY_FILTERS = ("agents", "department", "ivr")


def _ist_seconds(text: str) -> int:
    """Epoch seconds of ``Y-m-d H:i:s`` in India time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=IST).timestamp())


def _flow_step(kind: str, moment: float, **fields: Any) -> dict[str, Any]:
    readable = datetime.fromtimestamp(int(moment), IST).strftime("%d-%m-%Y %H:%M:%S")
    return {"type": kind, **fields, "time": round(moment, 3), "readableTime": readable}


class SmartfloAPI(VendorAPI):
    """``POST /v1/auth/login`` and ``GET /v1/call/records``."""

    prefix = "smartflo"
    defaults = DEFAULTS
    readings: ClassVar[dict[str, tuple[Any, ...]]] = {**VendorAPI.readings, **READINGS}
    benchmark_settings: ClassVar[dict[str, Any]] = {"max_requests_per_second": 100_000, "page_size": 1000}

    @classmethod
    def tap_settings(cls, base_url: str) -> dict[str, Any]:
        # The sandbox has no trunk behind it: the tests lift the rate cap unless they test it.
        return {"email": DEFAULTS["email"], "password": DEFAULTS["password"],
                "api_url": f"{base_url}/smartflo", "max_requests_per_second": 1000}

    def __init__(self) -> None:
        self.lock = threading.Lock()
        super().__init__()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, int | None] = {}
            self.recent: deque[float] = deque()
            self.observed: dict[str, Any] = {"logins": 0, "failed_logins": 0, "expired_token_401s": 0,
                                             "rate_limited": 0, "bearer_prefixed": 0, "bare": 0,
                                             "last_query": None, "latest_window_query": None,
                                             "filters_read": None, "wrong_form_401s": 0}
            super().reset()

    def add_records(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.extra.append((_ist_seconds(f"{record['date']} {record['time']}"), record))
        self.extra.sort(key=lambda item: item[0], reverse=True)

    def counters(self) -> dict[str, Any]:
        return dict(self.observed)

    def is_data_request(self, request: Request) -> bool:
        return request.path.startswith("/v1/call/records")

    # -- Data ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        super().rebuild()
        o = self.options
        self.seed = int(o["seed"])
        self.pool = [self._pooled_body(mix(self.seed * 1_000_003 + i)) for i in range(POOL_SIZE)]
        # Each body pre-encoded once, as the JSON members after the record's own fields.
        if o["agent_hangup_data"] == "string":
            for body in self.pool:
                body["agent_hangup_data"] = ", ".join(
                    f"{step['name']}: {step['disposition']}" for step in body["agent_hangup_data"])
        self.pool_json = [b"," + JSON_ENCODER.encode(body)[1:] for body in self.pool]
        #: Per pooled body, what the array filters match: its agent and its department.
        self.pool_filters = [
            ({f"agent|{step['id']}" for step in body["call_flow"] if step["type"] == "Agent"},
             body["department_name"])
            for body in self.pool]

    def record(self, index: int) -> dict[str, Any]:
        """Record ``index``: a pooled body with its own ids, start and end (India time)."""
        return msgspec.json.decode(self.record_json(index))

    def record_json(self, index: int) -> msgspec.Raw:
        """Record ``index`` as encoded JSON: its own fields, then its pooled body's.

        The benchmark pulls up to a million records; splicing pre-encoded bodies keeps the
        sandbox from being what it measures.
        """
        slot = mix(self.seed + index) % POOL_SIZE
        epoch = self.timeline.epoch_ms(index) // 1000
        day, clock = local_date_time(epoch + IST_SECONDS)
        end_day, end_clock = local_date_time(epoch + IST_SECONDS + self.pool[slot]["call_duration"])
        own = (
            f'{{"id":"{epoch & 0xFFFFFFFF:08x}{self.seed & 0xFF:02x}{index:014x}",'
            f'"call_id":"{epoch}.{index % 1_000_000:06d}","uuid":"{mix(index) & 0xFFFFFFFFFFFFF:013x}",'
            f'"date":"{day}","time":"{clock}","end_stamp":"{end_day} {end_clock}"'
        )
        return msgspec.Raw(own.encode() + self.pool_json[slot])

    def _pooled_body(self, h: int) -> dict[str, Any]:
        """One of ``POOL_SIZE`` bodies shaped like seed 003's sample (all but ids and times).

        ``call_flow`` times are the pool's own, not the record's: only shapes matter here.
        """
        kind = h % 4  # 0: dialer (the sample), 1: click to call, 2: missed, 3: IVR
        agent = AGENTS[(h >> 4) % len(AGENTS)]
        agent_id = f"0504753{(h >> 8) % 10_000:04d}"
        extension = f"Extension-0604753{(h >> 12) % 10_000:04d}"
        client = f"9196{(h >> 16) % 100_000_000:08d}"
        duration = 5 + (h >> 24) % 900
        ring = (h >> 34) % 20
        answered = max(0, duration - ring - 3) if kind != 2 else 0
        t0 = 1_715_235_734.438 + (h >> 40) % 100_000
        operator, circle = CIRCLES[(h >> 20) % len(CIRCLES)]
        queue = {"app_data": "test parag dialer", "app_id": "53273", "app_name": "Dialer Campaign",
                 "dept_dialst": "Answered" if kind != 2 else "Missed", "id": "10060", "name": "AHMM",
                 "ringst": 1}
        agent_step = {"id": agent_id, "name": agent, "num": extension}
        flow = [_flow_step("init", t0, value=f"{int(t0)}.129662")]
        if kind in (0, 2):
            flow.append(_flow_step("Inbound Queue", t0, **queue))
        flow.append(_flow_step("Customer", t0 + 0.1, dialst="Answered"))
        flow.append(_flow_step("Agent", t0 + 3, **agent_step, dialst="Dialed", app_id=53273))
        if kind != 2:
            flow.append(_flow_step("Agent", t0 + 3 + ring, **agent_step, dialst="Answered", app_id=53273))
            flow.append(_flow_step("Agent-Hangup", t0 + duration, id=agent_id, name=agent))
        flow.append(_flow_step("Hangup", t0 + duration))
        missed = ([_flow_step("Agent", t0 + 3, **agent_step, dialst="Missed")] if kind == 2 else [])
        record: dict[str, Any] = {
            "direction": "outbound" if kind == 1 else "inbound",
            "description": "Call missed" if kind == 2 else "Call answered",
            "detailed_description": None,
            "status": "missed" if kind == 2 else "answered",
            "blocked_number_id": None,
            "recording_url": None if kind == 2 else
            f"https://cloudphone.tatateleservices.com/file/recording?callId={int(t0)}&type=rec",
            "service": ("Dialer", "Click to Call", "Inbound", "IVR")[kind],
            "broadcast_id": None,
            "dtmf_input": str((h >> 44) % 9 + 1) if kind == 3 else None,
            "call_duration": duration,
            "answered_seconds": answered,
            "minutes_consumed": (duration + 59) // 60 if kind == 1 else 0,
            "charges": round(((h >> 46) % 300) / 100, 2) if kind == 1 else 0,
            "department_name": None if kind == 0 else "support",
            "agent_number": extension,
            "agent_number_with_prefix": extension,
            "agent_name": agent,
            "client_number": client,
            "did_number": "+918069651170",
            "reason": "disconnected_by_caller" if kind != 2 else "no_answer",
            "hangup_cause": "Normal clearing",
            "notes": "Customer asked for a call back" if kind == 3 else None,
            "contact_details": {"id": 35_866_918 + h % 100_000, "field_0": f"+{client}",
                                "field_1": agent.split()[0].lower()},
            "missed_agents": missed,
            "call_flow": flow,
            "accountid": "Shrish.test",
            "agent_ring_time": "N.A." if kind in (2, 3) else str(ring),
            "circle": {"operator": operator, "circle": circle},
            "agent_hangup_data": [] if kind == 2 else [{
                "id": agent_id, "name": f"{agent}({extension})", "timegroup_id": None,
                "timegroup_name": None, "disposition": "ANSWERED", "time": round(t0 + 3, 3),
                "readableTime": flow[-1]["readableTime"]}],
            "transfer_missed_agent": [],
            "call_hint": ("dialer", "C2C", "inbound", "ivr")[kind],
            "support_api_call": False,
            "lead_id": f"62415995212bae083f1e{h % 0xFFFF:04x}" if kind == 0 else None,
            "is_incoming_from_broadcast": False,
            "caller_id_num": f"+{client}",
            "sip_agent_ids": None,
            "dialer_call_details": None,
            "custom_status": None,
            "voicemail_recording": False,
            "aws_call_recording_identifier": f"{mix(h) & ((1 << 128) - 1):032x}"[:32],
        }
        if kind == 0:
            record["dialer_call_details"] = {
                "customer_ring_time": 0, "call_wait_time": ring, "agent_talk_time": answered,
                "total_hold_duration": None, "hold_count": None, "disposition_id": None,
                "total_call_duration": duration, "disposition_name": "Undisposed",
                "disposition_code": "UNDIS", "hangup_cause": 16, "sub_disposition_id": None,
                "sub_disposition_name": None, "sub_disposition_code": None, "call_type": "inbound",
                "dialin_enabled": None, "dialout_enabled": True, "campaign_id": 53273,
                "campaign_name": "test parag dialer", "list_id": "149897", "list_name": "test parag",
                "extension_dialer": True,
                "dialer_queue_details": [{"queue_details": flow[1], "missed_by": [],
                                          "answered_by": flow[4]}],
                "dialer_queue_transfer_details": [], "inbound_queue": "AHMM", "is_short_call": "No",
                "sla_status": "Call answered outside SLA", "feedback_rating": None,
                "feedback_recording_type": None, "disposition_duration": 0,
                "first_call_resolution": "No", "agent_call_duration": f"{agent}: {answered}",
                "agents_call_details": {agent_id: {"hold_duration": 0, "hold_count": 0}},
            }
        return record

    # -- Requests -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if self._over_rate_limit():
            return json_response(429, TOO_MANY)
        if path == "/v1/auth/login" and request.method == "POST":
            return self._login(request)
        if path == "/v1/call/records" and request.method == "GET":
            refused = self._check_token(request)
            return refused or self._records(request)
        return json_response(404, {"success": False, "message": "Not found"})

    def _over_rate_limit(self) -> bool:
        limit = int(self.options["rate_limit_per_second"] or 0)
        with self.lock:
            now = time.monotonic()
            while self.recent and self.recent[0] <= now - 1.0:
                self.recent.popleft()
            if limit and len(self.recent) >= limit:
                self.observed["rate_limited"] += 1
                return True
            self.recent.append(now)
            return False

    def _login(self, request: Request) -> Response:
        body = request.json()
        o = self.options
        credentials = (body.get("email"), body.get("password")) if isinstance(body, dict) else None
        valid = credentials == (o["email"], o["password"])
        if not valid:
            with self.lock:
                self.observed["failed_logins"] += 1
            return json_response(int(o["login_failure_status"]),
                                 {"success": False, "message": "Invalid email or password."})
        with self.lock:
            self.observed["logins"] += 1
            number = self.observed["logins"]
            token = f"sf{number}.{mix(self.seed * 7919 + number):016x}{mix(number):016x}"
            limit = int(o["token_max_requests"] or 0)
            self.tokens[token] = limit or None
        return token_reply({"success": True, "access_token": token, "token_type": "bearer",
                            "expires_in": o["token_expires_in"]}, o["expires_in_reply"])

    def _check_token(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "").strip()
        prefixed = header[:7].lower() == "bearer "
        token = header[7:].strip() if prefixed else header
        form = self.options["token_form"]
        with self.lock:
            self.observed["bearer_prefixed" if prefixed else "bare"] += 1
            if form != "either" and prefixed != (form == "bearer"):
                self.observed["wrong_form_401s"] += 1
                return json_response(401, {"success": False, "message": "Unauthenticated."})
            if token and token == self.options["api_token"]:
                return None
            if token in self.tokens:
                left = self.tokens[token]
                if left is None:
                    return None
                if left > 0:
                    self.tokens[token] = left - 1
                    return None
                self.observed["expired_token_401s"] += 1
                return json_response(401, {"success": False, "message": "Token has expired."})
        return json_response(401, {"success": False, "message": "Unauthenticated."})

    def _array_filters(self, request: Request) -> dict[str, list[str]]:
        """The array filters as this reading's server reads the query."""
        read: dict[str, list[str]] = {}
        last_value = self.options["array_filters"] == "last_value"
        for name in ARRAY_FILTERS:
            listed = request.query.get(f"{name}[]", [])
            bare = request.query.get(name, [])
            values = listed or (bare[-1:] if last_value else bare)
            if values:
                read[name] = values
        return read

    def _matches(self, index: int, filters: dict[str, list[str]]) -> bool:
        agents, department = self.pool_filters[mix(self.seed + index) % POOL_SIZE]
        wanted_agents, wanted_departments = filters.get("agents"), filters.get("department")
        return ((not wanted_agents or not agents.isdisjoint(wanted_agents))
                and (not wanted_departments or department in wanted_departments))

    def _shift(self, page: int) -> int:
        """How far this request's order is rotated: by the page number, so every read of a
        window skips the same rows (0 once the unstable requests are spent)."""
        with self.lock:
            left = int(self.options["unstable_order_requests"] or 0)
            if left <= 0:
                return 0
            self.options["unstable_order_requests"] = left - 1
            self.observed["unstable_pages"] = self.observed.get("unstable_pages", 0) + 1
            return 3 * page

    def _records(self, request: Request) -> Response:
        query = {k: v if len(v) > 1 else v[0] for k, v in request.query.items()}
        with self.lock:
            self.observed["last_query"] = query
            # With windows in flight the last request need not be the last window's: the
            # query reaching furthest is kept too (the filter's text sorts as its time).
            latest = self.observed["latest_window_query"]
            if latest is None or str(query.get("to_date", "")) >= str(latest.get("to_date", "")):
                self.observed["latest_window_query"] = query
        bounds: dict[str, int | None] = {}
        for name in ("from_date", "to_date"):
            value = request.param(name)
            if value is not None and not FILTER_RE.match(value):
                return json_response(400, {"success": False,
                                           "message": f"{name} must be in the Y-m-d H:i:s format."})
            bounds[name] = _ist_seconds(value) if value else None
        try:
            page = int(request.param("page") or 1)
            limit = int(request.param("limit") or 20)
        except ValueError:
            return json_response(400, {"success": False, "message": "page and limit must be numbers."})
        if page < 1 or limit < 1:
            return json_response(400, {"success": False, "message": "page and limit must be positive."})
        limit = min(limit, int(self.options["max_limit"]))
        served = min(limit, int(self.options["hidden_page_cap"] or limit))
        low = bounds["from_date"] if bounds["from_date"] is not None else -(2**40)
        high = bounds["to_date"] if bounds["to_date"] is not None else 2**40
        if self.options["to_date_inclusive"] and bounds["to_date"] is not None:
            high += 1  # the whole to_date second
        base: Sequence[int] = self.select(low * 1000, high * 1000)
        extra = [record for moment, record in self.extra if low <= moment < high]
        filters = self._array_filters(request)
        self.observed["filters_read"] = filters or None
        if filters.get("agents") or filters.get("department"):
            base = [index for index in base if self._matches(index, filters)]
        total = len(base) + len(extra)
        first = (page - 1) * served
        last = min(first + served, total)
        newest = len(base) - 1
        shift = self._shift(page)
        positions = [(i + shift) % total for i in range(first, max(first, last))]
        results = [
            self.record_json(base[newest - i]) if i < len(base) else extra[i - len(base)]
            for i in positions
        ]
        return json_response(200, {"count": total, "limit": limit, "size": len(results), "page": page,
                                   "results": results})
