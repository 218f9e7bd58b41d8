"""Zoom Contact Center's "List voice call logs", as documented (seed 001).

- ``POST /oauth/token``: Server-to-Server OAuth, HTTP Basic ``client_id:client_secret``
  and ``grant_type=account_credentials&account_id=...`` (form or query); tokens live
  ``token_lifetime`` seconds (3600). Data requests need ``Authorization: Bearer``; an
  unknown, expired or revoked token is a 401 ``{"code": 124}``.
- ``GET /v2/contact_center/voice_calls``: ``from``/``to`` at most one month apart (else
  400 with code 300), no ``from`` means the last 24 h; ``page_size`` default 10, at most
  100; ``next_page_token`` expires after ``page_token_ttl`` seconds (900) and is then a
  400 with code 300; the last page has ``"next_page_token": ""``. ``start_time`` and
  ``end_time`` carry the offset given in ``from`` (a trailing ``Z`` is a literal letter:
  such times are read in the account's time zone). ``to`` is inclusive to the second.
- ``revoke_tokens_after``: after that many data requests, every token issued so far is
  revoked once (as when another app asks Zoom for a new token), to test 401 renewal.

Rate limits (429 with ``Retry-After`` as seconds, as an ISO date, or none) come from the
server's fault injection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs

from tap_callrecords.sandbox.data import local_date_time, mix, uuid_for
from tap_callrecords.sandbox.server import (
    JSON_ENCODER,
    Request,
    Response,
    VendorAPI,
    json_response,
    token_reply,
)

POOL_SIZE = 1024
MAX_PAGE_SIZE = 100
MAX_RANGE = timedelta(days=31)
TOKEN_PATH = "/oauth/token"
DATA_PATH = "/v2/contact_center/voice_calls"
FILTERS = ("types", "sub_types", "distribution", "direction", "consumer_number", "user_ids",
           "engagement_id", "cc_queue_ids", "queue_ids", "country_iso_codes", "number_types",
           "region_ids", "team_ids", "view_type")
DEFAULTS: dict[str, Any] = {
    "account_id": "sandbox-zoom-account",
    "client_id": "sandbox-zoom-client",
    "client_secret": "zoom-sandbox-secret-7c41d9e2",
    "count": 1000,
    "start": "2024-07-01T00:00:00+00:00",
    "end": "2024-07-31T00:00:00+00:00",
    "seed": 1,
    "token_lifetime": 3600,
    "page_token_ttl": 900,
    "account_offset_minutes": -300,
    "revoke_tokens_after": None,
    # Added to ``total_records``: a count larger than what the pages hold.
    "total_records_extra": 0,
    # Past the last record, keep handing out page tokens, each page with new records.
    "endless_pages": False,
    # How the token reply gives ``expires_in``: "number" (the lifetime), "null" or "missing".
    "expires_in_reply": "number",
}
#: Prefix of every access token the sandbox issues, so tests can look for leaks.
TOKEN_PREFIX = "zoomsbxtok"

DIRECTIONS = ("inbound", "outbound")
LEGS = (["inbound"], ["inbound", "outbound"], ["outbound"], ["inbound", "outbound", "outbound"])
TYPES = ("external_call", "internal_call", "external_conference_call", "internal_callback_call",
         "internal_conference_call")
#: Zoom's documented number types.
NUMBER_TYPES = ("virtual_service_number", "byoc_number", "toll_free_number", None)
#: Zoom's documented ``result`` values; ``completed`` the most common.
RESULTS = ("completed", "completed", "completed", "short_abandoned", "long_abandoned", "hold_abandoned",
           "long_calls", "short_calls", "hang_up_calls", "overflowed_to_disconnect", "overflowed_to_inbox",
           "overflowed", "abandon_quit", "auto_closed", "contained", "missed", "declined",
           "callback_abandoned_by_consumer")
#: Results of calls an agent handled.
HANDLED = frozenset(("completed", "long_calls", "short_calls", "hold_abandoned"))
#: A leg's fields that are the call's own in the sandbox.
LEG_FIELDS = ("engagement_id", "caller_number", "caller_number_type", "callee_number", "callee_number_type",
              "start_time", "end_time", "total_duration", "consumer_number", "consumer_display_name",
              "agents", "country_name", "recorded", "monitored", "inbox", "result", "caller_id",
              "calling_party", "charge", "charge_type")
SUB_TYPES = ("callback", "transfer", "warm_transfer")
REGIONS = ("Americas", "EMEA", "APAC")
TEAMS = (("t_front", "Front line"), ("t_escalation", "Escalation"))
AGENTS = (("kT3uWq8XRu2P1xg0aHbVbA", "Ana Souza"), ("p0Lr7cYmQ8eKx1vT5sJd2w", "Liu Wei"),
          ("Zx9Qe4RtY6uI2oP8aS1dFg", "Sam Okafor"), ("Mn3Bv5Cx7Zl9Kj2Hg4Fd6s", "Chandra Agarwal"))
QUEUES = (("q_sales_01", "Sales"), ("q_support_02", "Support"), ("q_billing_03", "Billing"))
FLOWS = (("f_main_ivr", "Main IVR"), ("f_after_hours", "After hours"))
COUNTRIES = ("United States", "Brazil", "India", "Germany", None)


def _error(status: int, code: int, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class ZoomAPI(VendorAPI):
    """Zoom's token endpoint and ``GET /v2/contact_center/voice_calls``."""

    prefix = "zoom"
    defaults = DEFAULTS
    benchmark_settings: ClassVar[dict[str, Any]] = {"max_requests_per_second": 100_000}

    @classmethod
    def tap_settings(cls, base_url: str) -> dict[str, Any]:
        return {
            "account_id": DEFAULTS["account_id"],
            "client_id": DEFAULTS["client_id"],
            "client_secret": DEFAULTS["client_secret"],
            "api_url": f"{base_url}/zoom/v2",
            "oauth_url": f"{base_url}/zoom{TOKEN_PATH}",
        }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        super().__init__()

    def reset(self) -> None:
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.data_requests = 0
        self.expired_page_tokens = 0
        self.invalid_access_tokens = 0
        self.literal_z_requests = 0
        self.revoked = False
        self.last_filters: dict[str, list[str]] = {}
        self._recent: deque[float] = deque()
        self.data_max_per_second = 0
        super().reset()

    def counters(self) -> dict[str, Any]:
        return {
            "tokens_issued": self.tokens_issued,
            "data_requests": self.data_requests,
            "expired_page_tokens": self.expired_page_tokens,
            "invalid_access_tokens": self.invalid_access_tokens,
            "literal_z_requests": self.literal_z_requests,
            "data_max_per_second": self.data_max_per_second,
            "last_filters": self.last_filters,
        }

    def is_data_request(self, request: Request) -> bool:
        """Faults apply to the voice calls endpoint, not to the token endpoint."""
        return request.path.rstrip("/") != TOKEN_PATH

    def rebuild(self) -> None:
        super().rebuild()
        o = self.options
        self.account_tz = timezone(timedelta(minutes=int(o["account_offset_minutes"])))
        self.pool = [self._pooled_body(mix(self.timeline.seed * 1_000_003 + i)) for i in range(POOL_SIZE)]
        # The same bodies as JSON members (no braces): a page is assembled as bytes.
        self.pool_json = [JSON_ENCODER.encode(body)[1:-1] for body in self.pool]

    # -- Data ---------------------------------------------------------------------

    def _pooled_body(self, h: int) -> dict[str, Any]:
        """One of ``POOL_SIZE`` varied call bodies (all fields but id and times)."""
        direction = DIRECTIONS[h % 2]
        legs = LEGS[(h >> 3) % len(LEGS)]
        agent = AGENTS[(h >> 6) % len(AGENTS)]
        queue = QUEUES[(h >> 9) % len(QUEUES)]
        team = TEAMS[(h >> 11) % len(TEAMS)]
        consumer = f"+1555{(h >> 12) % 10_000_000:07d}"
        service = f"+1800{(h >> 20) % 10_000_000:07d}"
        result = RESULTS[(h >> 28) % len(RESULTS)]
        answered = result in HANDLED
        duration = (h >> 32) % 1800 if answered else (h >> 32) % 60
        minutes = max(1, -(-duration // 60))
        rate = ((h >> 44) % 40 + 1) / 1000
        return {
            "direction": direction,
            "call_legs": list(legs),
            "distributions": ["acd" if (h >> 14) % 4 else "non_acd" for _ in legs],
            "types": [TYPES[(h >> 16) % len(TYPES)]],
            "sub_types": [SUB_TYPES[(h >> 17) % len(SUB_TYPES)]] if h % 3 == 0 else [],
            "caller_number": consumer if direction == "inbound" else service,
            "caller_number_type": NUMBER_TYPES[(h >> 18) % len(NUMBER_TYPES)],
            "callee_number": service if direction == "inbound" else consumer,
            "callee_number_type": NUMBER_TYPES[(h >> 22) % len(NUMBER_TYPES)],
            "total_duration": duration,
            "consumer_number": consumer,
            "consumer_display_name": None if h % 5 == 0 else f"Customer {(h >> 24) % 1000}",
            "queues": [{"queue_id": queue[0], "cc_queue_id": queue[0], "queue_name": queue[1]}]
            if h % 7 else [],
            "agents": [{"user_id": agent[0], "display_name": agent[1],
                        "user_email": f"{agent[1].split()[0].lower()}@example.com",
                        "user_region": REGIONS[(h >> 7) % len(REGIONS)],
                        "team_ids": [team[0]], "team_names": [team[1]]}] if answered else [],
            "flows": [{"flow_id": flow[0], "flow_name": flow[1]} for flow in FLOWS[: (h >> 26) % 3]],
            "country_name": COUNTRIES[(h >> 36) % len(COUNTRIES)],
            "recorded": bool((h >> 40) & 1) and answered,
            "monitored": bool((h >> 41) & 1),
            "inbox": result == "overflowed_to_inbox",
            "result": result,
            "caller_id": service,
            "calling_party": "consumer" if direction == "inbound" else "agent",
            "charge": f"${rate * minutes:.3f}",
            "rates": [f"${rate:.3f}/min"],
            "charge_type": "per_minute",
        }

    @staticmethod
    def _local_text(epoch_ms: int, offset_ms: int) -> str:
        day, clock = local_date_time((epoch_ms + offset_ms) // 1000)
        return f"{day}T{clock}"

    def _identity(self, index: int, offset_minutes: int) -> tuple[int, str, str, str]:
        """Pool slot, engagement id, start and end time of call ``index``."""
        slot = mix(self.timeline.seed + index) % POOL_SIZE
        start_ms = self.timeline.epoch_ms(index) // 1000 * 1000
        offset_ms = offset_minutes * 60_000
        offset = _offset_text(offset_minutes)
        start = self._local_text(start_ms, offset_ms) + offset
        end = self._local_text(start_ms + self.pool[slot]["total_duration"] * 1000, offset_ms) + offset
        return slot, uuid_for(self.timeline.seed, index), start, end

    def record_json(self, index: int, offset_minutes: int) -> bytes:
        """Call ``index`` (summary view) encoded, without building a dict."""
        slot, engagement_id, start, end = self._identity(index, offset_minutes)
        head = f'{{"engagement_id":"{engagement_id}","start_time":"{start}","end_time":"{end}",'
        return head.encode() + self.pool_json[slot] + b"}"

    def record(self, index: int, offset_minutes: int, detail: bool) -> dict[str, Any]:
        """Call ``index``: a pooled body, its own id, times in the offset of ``from``."""
        slot, engagement_id, start, end = self._identity(index, offset_minutes)
        body = self.pool[slot]
        record = {**body, "engagement_id": engagement_id, "start_time": start, "end_time": end}
        if detail:
            record["voice_call_details"] = self.legs(record)
        return record

    @staticmethod
    def legs(call: dict[str, Any]) -> list[dict[str, Any]]:
        """The detail view's entries of ``call``: one per leg, Zoom's documented leg fields."""
        queues, flows = call["queues"], call["flows"]
        queue = {key: queues[0][key] for key in ("cc_queue_id", "queue_name")} if queues else None
        shared = {key: call[key] for key in LEG_FIELDS}
        return [
            {**shared, "call_leg": leg, "distribution": distribution, "type": call["types"][0],
             "queue": queue, "flow": flows[0] if flows else None, "rate": call["rates"][0]}
            for leg, distribution in zip(call["call_legs"], call["distributions"], strict=True)
        ]

    # -- Requests -------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        if path == DATA_PATH and request.method == "GET":
            return self._voice_calls(request)
        return _error(404, 404, "Not found")

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        form.update({k: v[0] for k, v in request.query.items()})
        expected = f"{self.options['client_id']}:{self.options['client_secret']}"
        header = request.headers.get("authorization", "")
        try:
            given = base64.b64decode(header.removeprefix("Basic ").strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        if not header.startswith("Basic ") or given != expected:
            return json_response(401, {"reason": "Invalid client_id or client_secret",
                                       "error": "invalid_client"})
        if form.get("grant_type") != "account_credentials":
            return json_response(400, {"reason": "unsupported grant type", "error": "unsupported_grant_type"})
        if form.get("account_id") != self.options["account_id"]:
            return json_response(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        lifetime = int(self.options["token_lifetime"])
        with self._lock:
            self.tokens_issued += 1
            token = f"{TOKEN_PREFIX}{self.tokens_issued}x{secrets.token_hex(12)}"
            self.tokens[token] = time.monotonic() + lifetime
        reply: dict[str, Any] = {"access_token": token, "token_type": "bearer", "expires_in": lifetime,
                                 "scope": "contact_center_voice_call:read:admin",
                                 "api_url": "https://api.zoom.us"}
        return token_reply(reply, self.options["expires_in_reply"])

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        now = time.monotonic()
        with self._lock:
            self.data_requests += 1
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            self.data_max_per_second = max(self.data_max_per_second, len(self._recent))
            revoke_after = self.options["revoke_tokens_after"]
            if revoke_after is not None and not self.revoked and self.data_requests > int(revoke_after):
                self.revoked = True
                self.tokens.clear()
            expires = self.tokens.get(token)
            if expires is None or now >= expires:
                self.invalid_access_tokens += 1
                return False
            return True

    def _moment(self, text: str) -> tuple[datetime, int] | None:
        """A ``from``/``to`` value and the offset (minutes) it carries."""
        value = text.strip().replace(" ", "+")  # an unencoded '+' arrives as a space
        if value.endswith(("Z", "z")):
            # Zoom takes a trailing Z as a literal letter, not as UTC.
            self.literal_z_requests += 1
            value = value[:-1]
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.account_tz)
        offset = moment.utcoffset()
        return moment, int(offset.total_seconds() // 60) if offset is not None else 0

    def _voice_calls(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, 124, "Invalid access token.")
        self.last_filters = {name: request.query[name] for name in FILTERS if name in request.query}
        page_size_text = request.param("page_size", "10") or "10"
        try:
            page_size = min(MAX_PAGE_SIZE, int(page_size_text))
        except ValueError:
            return _error(400, 300, "Invalid field: page_size.")
        if page_size < 1:
            return _error(400, 300, "Invalid field: page_size.")

        from_text, to_text = request.param("from"), request.param("to")
        if from_text is None:
            now = self.now().replace(microsecond=0)
            low_moment, high_moment, offset_minutes = now - timedelta(days=1), now, 0
            from_text, to_text = low_moment.isoformat(), high_moment.isoformat()
        else:
            if not to_text:
                return _error(400, 300, "The to field is required when from is given.")
            parsed_from, parsed_to = self._moment(from_text), self._moment(to_text)
            if parsed_from is None or parsed_to is None:
                return _error(400, 300, "Invalid date format for from or to.")
            (low_moment, offset_minutes), (high_moment, _) = parsed_from, parsed_to
            if high_moment < low_moment:
                return _error(400, 300, "The to date must not be earlier than the from date.")
            if high_moment - low_moment > MAX_RANGE:
                return _error(400, 300, "The date range should be within one month.")
        low = int(low_moment.timestamp() * 1000)
        high = int(high_moment.timestamp() * 1000) + 1000  # ``to`` is inclusive to the second

        query_key = hashlib.sha1(
            repr(sorted((k, v) for k, v in request.query.items() if k != "next_page_token")).encode()
        ).hexdigest()[:12]
        offset = 0
        page_token = request.param("next_page_token")
        if page_token:
            decoded = self._decode_page_token(page_token)
            if decoded is None or decoded[2] != query_key:
                return _error(400, 300, "Invalid next_page_token.")
            offset, issued, _ = decoded
            if time.time() - issued > float(self.options["page_token_ttl"]):
                with self._lock:
                    self.expired_page_tokens += 1
                return _error(400, 300, "The next page token is invalid or expired.")

        base = self.select(low, high)
        extra = [r for r in self.extra if self._extra_matches(r, low, high)]
        total = len(base) + len(extra)
        detail = request.param("view_type") == "detail"
        last = min(offset + page_size, total)
        calls = [
            (self.record_json(base[i], offset_minutes) if not detail
             else JSON_ENCODER.encode(self.record(base[i], offset_minutes, detail)))
            if i < len(base) else JSON_ENCODER.encode(extra[i - len(base)])
            for i in range(offset, max(offset, last))
        ]
        if self.options["endless_pages"] and base and offset >= total:
            last = offset + page_size
            calls = [JSON_ENCODER.encode({**self.record(base[i % len(base)], offset_minutes, False),
                                          "engagement_id": f"endless-{i}"}) for i in range(offset, last)]
        endless = bool(self.options["endless_pages"])
        next_token = self._encode_page_token(last, query_key) if last < total or endless else ""
        head = JSON_ENCODER.encode({
            "next_page_token": next_token,
            "page_size": page_size,
            "total_records": total + int(self.options["total_records_extra"] or 0),
            "from": from_text,
            "to": to_text,
        })
        payload = head[:-1] + b',"voice_calls":[' + b",".join(calls) + b"]}"
        return Response(200, raw=payload, headers={"Content-Type": "application/json"})

    @staticmethod
    def _encode_page_token(offset: int, query_key: str) -> str:
        raw = f"{offset}:{int(time.time() * 1000)}:{query_key}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_page_token(token: str) -> tuple[int, float, str] | None:
        """Offset, issue time (epoch seconds) and query fingerprint of a page token."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset, issued_ms, query_key = raw.split(":")
            return int(offset), int(issued_ms) / 1000, query_key
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None

    @staticmethod
    def _extra_matches(record: dict[str, Any], low: int, high: int) -> bool:
        text = str(record.get("start_time", ""))
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        moment_ms = int(moment.timestamp() * 1000)
        return low <= moment_ms < high
