"""Voiso API v4, as documented: scoped keys as ``Authorization: Bearer``, ``started_at`` /
``ended_at`` comparisons, ``limit``/``offset`` over the first 10,000 records,
``metadata.next_cursor`` beyond, ``{"error": ...}`` and ``{"errors": {...}}`` bodies.

The calls are v2's (:mod:`~tap_callrecords.sandbox.voiso`): the same data set options
give the same interactions with the same ids, so the two APIs' counts match; v4 writes
each one in its own shape (common fields, a type-specific ``data``), ``started_at`` at
the instant v2 puts its ``timestamp``.

The query syntax of the comparisons is undocumented; the sandbox takes the bracket
form the tap sends (``started_at[gte]=2024-07-01T00:00:00Z``). ``reject_cursors``
treats every cursor as invalid, as the docs describe: the offset is used instead, and
an offset past the first 10,000 is a 400. ``requests_per_second`` (``None``: no limit)
answers the requests past it within any one second with the documented 429
``{"error":"Too many requests"}``, without ``Retry-After`` (the docs name none).
"""

from __future__ import annotations

import base64
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any, ClassVar

from tap_callrecords.sandbox.data import local_date_time, mix, uuid_for
from tap_callrecords.sandbox.server import JSON_ENCODER, Request, Response, json_response
from tap_callrecords.sandbox.voiso import CALL_TYPES, DISPOSITIONS, POOL_SIZE, READINGS, VoisoAPI
from tap_callrecords.sandbox.voiso import DEFAULTS as V2_DEFAULTS

PATH = "/api/v4/reporting/cdrs"
SCOPE = "reporting.cdrs.read"
OFFSET_CAP = 10_000
LIMIT_MAX = 1000
#: Longest interaction of the data set, in seconds (for ``ended_at`` filters).
LONGEST = 1800
SCOPED_KEY = "sandbox-voiso-v4-key"
UNSCOPED_KEY = "sandbox-voiso-v4-key-without-cdrs"
DEFAULTS: dict[str, Any] = {
    **{k: v for k, v in V2_DEFAULTS.items() if k in ("count", "start", "end", "seed")},
    #: A scoped key with the scope reporting.cdrs.read.
    "api_key": SCOPED_KEY,
    #: Scoped keys without it (403); any other key (a v2 key) is a 401.
    "unscoped_keys": [UNSCOPED_KEY],
    #: Every cursor is invalid (the API falls back to the offset).
    "reject_cursors": False,
    #: Requests answered within any one second; past it, a 429 (``None``: no limit).
    "requests_per_second": None,
}
COMPARISONS = ("gte", "gt", "lte", "lt")


def _utc_text(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    day, clock = local_date_time(seconds)
    return f"{day}T{clock}.{millis:03d}Z"


def _parse_time(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


class VoisoV4API(VoisoAPI):
    """``GET /api/v4/reporting/cdrs``."""

    prefix = "voiso_v4"
    settings_key = "voiso"
    defaults = DEFAULTS
    #: v4 filters on ``started_at`` by name, so which time it selects by is documented;
    #: whether a call is listed before it ends is not. (v2's ``sla`` and key-error
    #: readings are v2's.)
    instant = "start"
    readings: ClassVar[dict[str, tuple[Any, ...]]] = {
        "listed": ("always", "once_ended"), **{name: values[:1] for name, values in READINGS.items()}}

    @classmethod
    def tap_settings(cls, base_url: str) -> dict[str, Any]:
        return {"api_key": SCOPED_KEY, "api_url": f"{base_url}/voiso_v4", "api_version": "v4"}

    def reset(self) -> None:
        self._arrivals: deque[float] = deque()
        self._arrivals_lock = threading.Lock()
        self.rate_limited = 0
        super().reset()

    def _over_the_limit(self) -> bool:
        """Whether this request is past ``requests_per_second`` within the last second."""
        limit = self.options["requests_per_second"]
        if limit is None:
            return False
        now = time.monotonic()
        with self._arrivals_lock:
            while self._arrivals and self._arrivals[0] <= now - 1.0:
                self._arrivals.popleft()
            if len(self._arrivals) >= int(limit):
                self.rate_limited += 1
                return True
            self._arrivals.append(now)
            return False

    def rebuild(self) -> None:
        self.options.setdefault("account_offset_minutes", 0)
        self.options.setdefault("filter_timezone", "utc")
        self.options.setdefault("endless_search_token", False)
        super().rebuild()
        bodies = [self._v4_body(mix(self.timeline.seed * 1_000_003 + i)) for i in range(POOL_SIZE)]
        self.durations = [body.pop("duration") for body in bodies]
        self.v4_pool = [JSON_ENCODER.encode(body)[1:] for body in bodies]

    def counters(self) -> dict[str, Any]:
        return {"rate_limited": self.rate_limited}

    @staticmethod
    def _v4_body(h: int) -> dict[str, Any]:
        """The v4 form of v2's pooled body for the same hash (same kinds, same people; one
        of v2's dialer calls in twenty is an HLR look-up here, a kind only v4 serves)."""
        kind = h % 20
        duration = (h >> 16) % LONGEST
        from_number, to_number = f"1555{h % 10_000_000:07d}", f"3120{(h >> 24) % 10_000_000:07d}"
        body: dict[str, Any] = {
            "duration": duration,
            "type": "call",
            "subtype": CALL_TYPES[kind % len(CALL_TYPES)],
            "disposition": DISPOSITIONS[(h >> 8) % len(DISPOSITIONS)],
            "user_id": 50000 + (h >> 40) % 9000,
            "user_name": ("Mike A", "Chandra Agarwal", "Ana Souza", "Liu Wei", "Sam Okafor", None)[h % 6],
            "queue_name": None if kind % 3 else "Support",
            "data": {"from": from_number, "to": to_number, "wrapup_code": f"{(h >> 32) % 2000:04d}",
                     "talk_time": duration // 2, "cost": ((h >> 44) % 5000) / 10000, "currency": "USD"},
        }
        if kind == 18:
            body.update(type="sms", subtype="outbound", duration=0, disposition="sent",
                        data={"from": "VOISO", "to": to_number, "text": "Your appointment is confirmed",
                              "segments": 1, "template": "confirm"})
        elif kind == 19:
            body.update(type="conversation", subtype="chat", duration=0, disposition="archived",
                        user_id=None, user_name=None,
                        data={"channel": "chat", "messages_count": 7, "first_response_time": 105})
        elif kind == 17:
            body.update(type="hlr_lookup", subtype=None, duration=0, disposition="available",
                        user_id=None, user_name=None, queue_name=None,
                        data={"number": to_number, "status": "available", "network": "KPN Mobile"})
        return body

    def record_json(self, index: int) -> bytes:
        """Record ``index`` in v4's shape: v2's id, the start at v2's instant, the end after it."""
        started = self.timeline.epoch_ms(index)
        pooled = mix(self.timeline.seed + index) % POOL_SIZE
        head = (
            f'{{"id":"{uuid_for(self.timeline.seed, index)}","started_at":"{_utc_text(started)}",'
            f'"ended_at":"{_utc_text(started + self.durations[pooled] * 1000)}",'
            f'"duration":{self.durations[pooled]},'
        )
        return head.encode() + self.v4_pool[pooled]

    def _ended_ms(self, index: int) -> int:
        duration = self.durations[mix(self.timeline.seed + index) % POOL_SIZE]
        return self.timeline.epoch_ms(index) + duration * 1000

    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != PATH or request.method != "GET":
            return json_response(404, {"error": "Not found"})
        authorization = request.headers.get("authorization") or request.headers.get("Authorization") or ""
        key = authorization[7:] if authorization.startswith("Bearer ") else None
        if key and key in self.options["unscoped_keys"]:
            return json_response(403, {"error": "Forbidden"})
        if not key or key != self.options["api_key"]:
            return json_response(401, {"error": "Unauthorized"})
        if self._over_the_limit():
            return json_response(429, {"error": "Too many requests"})
        errors: dict[str, list[str]] = {}
        limit = self._int(request, "limit", 100, errors)
        offset = self._int(request, "offset", 0, errors)
        bounds: dict[str, dict[str, int]] = {"started_at": {}, "ended_at": {}}
        for field, comparisons in bounds.items():
            for comparison in COMPARISONS:
                value = request.param(f"{field}[{comparison}]")
                if value is None:
                    continue
                try:
                    comparisons[comparison] = _parse_time(value)
                except ValueError:
                    errors[field] = ["must be an ISO 8601 date-time"]
        if limit is not None and not 1 <= limit <= LIMIT_MAX:
            errors["limit"] = [f"must be between 1 and {LIMIT_MAX}"]
        if errors or limit is None or offset is None:
            return json_response(422, {"errors": errors})

        position: int | None = None
        cursor = request.param("cursor")
        if cursor and not self.options["reject_cursors"]:
            try:
                position = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("cdr:"))
            except ValueError:
                position = None
        by_offset = position is None
        if position is None:
            if not 0 <= offset < OFFSET_CAP:
                return json_response(400, {"error": "Invalid offset"})
            position = offset

        matches = self._matches(bounds)
        extra = [r for r in self.extra if self._extra_in(r, bounds)]
        total = len(matches) + len(extra)
        last = min(position + limit, total)
        if by_offset:
            last = min(last, OFFSET_CAP)
        records = b",".join(
            self.record_json(matches[i]) if i < len(matches) else JSON_ENCODER.encode(extra[i - len(matches)])
            for i in range(position, max(position, last))
        )
        next_cursor = (base64.urlsafe_b64encode(f"cdr:{last}".encode()).decode()
                       if last < total else None)
        metadata = JSON_ENCODER.encode({"metadata": {"total": total, "next_cursor": next_cursor}})
        return Response(200, raw=b'{"data":[' + records + b"]," + metadata[1:],
                        headers={"Content-Type": "application/json"})

    def _matches(self, bounds: dict[str, dict[str, int]]) -> list[int] | range:
        started, ended = bounds["started_at"], bounds["ended_at"]
        low = max(started.get("gte", -(2**62)), started.get("gt", -(2**62)) + 1)
        high = min(started.get("lt", 2**62), started.get("lte", 2**62 - 1) + 1)
        if ended:
            earliest = max(ended.get("gte", -(2**62)), ended.get("gt", -(2**62)))
            low = max(low, earliest - LONGEST * 1000)
            high = min(high, ended.get("lt", 2**62), ended.get("lte", 2**62 - 1) + 1)
        indexes: list[int] | range = self.timeline.index_range(low, high)
        if self.reading("listed") == "once_ended":
            now_ms = int(self.now().timestamp() * 1000)
            indexes = [i for i in indexes if self._ended_ms(i) <= now_ms]
        if not ended:
            return indexes
        return [i for i in indexes if self._ended_in(self._ended_ms(i), ended)]

    @classmethod
    def _extra_in(cls, record: dict[str, Any], bounds: dict[str, dict[str, int]]) -> bool:
        """Whether an added record passes the filters (a broken one: in every reply)."""
        try:
            moments = {field: _parse_time(record[field]) for field in bounds if bounds[field]}
        except (KeyError, TypeError, ValueError, AttributeError):
            return True
        return all(cls._ended_in(moment, bounds[field]) for field, moment in moments.items())

    @staticmethod
    def _ended_in(moment: int, ended: dict[str, int]) -> bool:
        """Whether ``moment`` passes the comparisons ``ended`` (of either time field)."""
        return (moment >= ended.get("gte", moment) and moment > ended.get("gt", moment - 1)
                and moment < ended.get("lt", moment + 1) and moment <= ended.get("lte", moment))
