"""Voiso CDR v2, as documented: ``key`` in the query, pages inside 10,000-record chains,
``search_token`` across chains, whole-day ``start_date``/``end_date`` filters.

The timezone of the day filters is undocumented; ``filter_timezone`` chooses between
``"utc"`` and ``"account"`` (the account offset that timestamps carry) so tests can
check the tap under both readings.

Readings (:data:`READINGS`; the first value of each is the default), where the docs are
silent or contradict the samples:

- ``sla``: a chat's SLA times as the sampled ``object``, or as a ``list`` (its documented
  type "array") of one such object.
- ``key_error``: a wrong key answered ``status`` 401, or 200 with the legacy ``body``
  ``{"error": "Invalid api_key"}``.

``pages_past_chain_cap`` counts requests whose page reaches past a chain's 10,000th record.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar

from tap_callrecords.sandbox.data import local_date_time, mix, uuid_for
from tap_callrecords.sandbox.server import JSON_ENCODER, Request, Response, VendorAPI, json_response

CHAIN_CAP = 10_000
POOL_SIZE = 1024
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CALL_TYPES = ("inbound", "outbound", "dialer", "click_to_call", "queue_callback")
DISPOSITIONS = ("answered", "no_answer", "busy", "failed", "voicemail")
AGENTS = ("Mike A", "Chandra Agarwal", "Ana Souza", "Liu Wei", "Sam Okafor", None)
#: Each undocumented behaviour -> its possible values, the default first.
READINGS: dict[str, tuple[str, ...]] = {"sla": ("object", "list"), "key_error": ("status", "body")}
DEFAULTS: dict[str, Any] = {
    "api_key": "sandbox-voiso-key",
    "count": 1000,
    "start": "2024-07-01T00:00:00+00:00",
    "end": "2024-07-31T00:00:00+00:00",
    "seed": 1,
    "account_offset_minutes": -180,
    "filter_timezone": "utc",
    #: A broken server: every reply carries a fresh search_token for the same records.
    "endless_search_token": False,
    **{name: values[0] for name, values in READINGS.items()},
}


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class VoisoAPI(VendorAPI):
    """``GET /api/v2/cdr``."""

    prefix = "voiso"
    defaults = DEFAULTS
    #: A record's ``timestamp`` is when the call ended; whether ``start_date`` and
    #: ``end_date`` select by it is undocumented (the default is that they do).
    instant = "end"
    readings: ClassVar[dict[str, tuple[Any, ...]]] = {
        **VendorAPI.readings, "range_by": ("end", "start"), **READINGS}
    benchmark_settings: ClassVar[dict[str, Any]] = {"max_requests_per_second": 100_000}

    @classmethod
    def tap_settings(cls, base_url: str) -> dict[str, Any]:
        # The tests lift the rate cap unless they test it.
        return {"api_key": DEFAULTS["api_key"], "api_url": f"{base_url}/voiso",
                "max_requests_per_second": 1000}

    def reset(self) -> None:
        self.chains_started = 0
        self.pages_past_chain_cap = 0
        super().reset()

    def counters(self) -> dict[str, Any]:
        return {"search_token_chains": self.chains_started, "pages_past_chain_cap": self.pages_past_chain_cap}

    def rebuild(self) -> None:
        super().rebuild()
        o = self.options
        self.account_tz = timezone(timedelta(minutes=int(o["account_offset_minutes"])))
        self.filter_tz = timezone.utc if o["filter_timezone"] == "utc" else self.account_tz
        offset_minutes = int(o["account_offset_minutes"])
        self.offset_ms = offset_minutes * 60_000
        sign = "-" if offset_minutes < 0 else "+"
        self.offset_text = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
        pool = [self._pooled_body(mix(self.timeline.seed * 1_000_003 + i)) for i in range(POOL_SIZE)]
        if o["sla"] == "list":
            for body in pool:
                if "sla" in body:
                    body["sla"] = [body["sla"]]
        # Each body as the JSON members after the record's own fields, closing brace included.
        self.pool_json = [JSON_ENCODER.encode(body)[1:] for body in pool]

    def record_json(self, index: int) -> bytes:
        """Record ``index`` of the synthetic data set, encoded: a pooled body with its own
        id and time (assembled as bytes, so the sandbox keeps ahead of the tap)."""
        local_seconds, millis = divmod(self.timeline.epoch_ms(index) + self.offset_ms, 1000)
        day, clock = local_date_time(local_seconds)
        head = (
            f'{{"uuid":"{uuid_for(self.timeline.seed, index)}",'
            f'"timestamp":"{day}T{clock}.{millis:03d}{self.offset_text}",'
        )
        return head.encode() + self.pool_json[mix(self.timeline.seed + index) % POOL_SIZE]

    def _pooled_body(self, h: int) -> dict[str, Any]:
        """One of ``POOL_SIZE`` varied record bodies (all fields but id and time)."""
        kind = h % 20
        record: dict[str, Any] = {
            "agent": AGENTS[h % len(AGENTS)],
            "from": f"1555{h % 10_000_000:07d}",
            "disposition": DISPOSITIONS[(h >> 8) % len(DISPOSITIONS)],
            "duration": _hms((h >> 16) % 1800),
            "queue": None if kind % 3 else "Support",
            "to": f"3120{(h >> 24) % 10_000_000:07d}",
            "wrapup_code": f"{(h >> 32) % 2000:04d}",
            "type": CALL_TYPES[kind % len(CALL_TYPES)],
            "agent_id": 50000 + (h >> 40) % 9000,
            "cpc": ((h >> 44) % 5000) / 10000,
        }
        if kind == 18:
            record.update(type="outbound SMS", sid="VOISO", text="Your appointment is confirmed",
                          related_call=None, template="confirm", num_segments=1,
                          duration="00:00:00")
        elif kind == 19:
            record.update(type="chat", agent=None, agent_id=None, disposition="archived",
                          duration="00:00:00", cpc=0.0,
                          sla={"time_to_first_response": "00:01:45",
                               "time_to_resolution": "48:16:27", "time_to_reply": "00:00:23"})
        return record

    def _day_bounds_ms(self, day: date, *, end: bool) -> int:
        moment = datetime(day.year, day.month, day.day, tzinfo=self.filter_tz)
        if end:
            moment += timedelta(days=1)
        return int(moment.timestamp() * 1000)

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/api/v2/cdr" or request.method != "GET":
            return json_response(404, {"error": "Not found"})
        if request.param("key") != self.options["api_key"]:
            if self.options["key_error"] == "body":
                return json_response(200, {"error": "Invalid api_key"})
            return json_response(401, {"error": "Unauthorized"})
        errors: dict[str, list[str]] = {}
        page = self._int(request, "page", 1, errors)
        per_page = self._int(request, "per_page", 1000, errors)
        if per_page is not None and not 1 <= per_page <= CHAIN_CAP:
            errors["per_page"] = ["must be between 1 and 10000"]
        days: dict[str, date | None] = {}
        for name in ("start_date", "end_date"):
            value = request.param(name)
            if value is not None and not DATE_RE.match(value):
                errors[name] = ["must be in the 'YYYY-MM-DD' format"]
            days[name] = date.fromisoformat(value) if value and DATE_RE.match(value) else None
        if errors or page is None or per_page is None or page < 1:
            return json_response(422, {"errors": errors or {"page": ["must be positive"]}})

        low = self._day_bounds_ms(days["start_date"], end=False) if days["start_date"] else None
        high = self._day_bounds_ms(days["end_date"], end=True) if days["end_date"] else None
        base = self.select(low if low is not None else -(2**62), high if high is not None else 2**62)
        extra = [r for r in self.extra if self._extra_matches(r, low, high)]
        total = len(base) + len(extra)

        token = request.param("search_token")
        try:
            chain_start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[0]) if token else 0
        except ValueError:
            return json_response(422, {"errors": {"search_token": ["is invalid"]}})
        if token and page == 1:
            self.chains_started += 1
        chain_end = min(chain_start + CHAIN_CAP, total)
        first = chain_start + (page - 1) * per_page
        if page * per_page > CHAIN_CAP:
            self.pages_past_chain_cap += 1
        last = min(first + per_page, chain_end)
        records = b",".join(
            self.record_json(base[i]) if i < len(base) else JSON_ENCODER.encode(extra[i - len(base)])
            for i in range(first, max(first, last))
        )
        next_token = (
            base64.urlsafe_b64encode(str(chain_start + CHAIN_CAP).encode()).decode()
            if chain_start + CHAIN_CAP < total
            else None
        )
        if self.options["endless_search_token"]:
            self.chains_started += 1
            next_token = base64.urlsafe_b64encode(f"{chain_start}:{self.chains_started}".encode()).decode()
        envelope = JSON_ENCODER.encode({"total": total, "page": page, "search_token": next_token})
        return Response(200, raw=b'{"records":[' + records + b"]," + envelope[1:],
                        headers={"Content-Type": "application/json"})

    @staticmethod
    def _int(request: Request, name: str, default: int, errors: dict[str, list[str]]) -> int | None:
        value = request.param(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            errors[name] = ["must be an integer"]
            return None

    @staticmethod
    def _extra_matches(record: dict[str, Any], low: int | None, high: int | None) -> bool:
        try:
            moment = int(datetime.fromisoformat(record["timestamp"]).timestamp() * 1000)
        except (KeyError, TypeError, ValueError):
            return True  # a broken record (a test of the tap's checks): in every reply
        return (low is None or moment >= low) and (high is None or moment < high)
