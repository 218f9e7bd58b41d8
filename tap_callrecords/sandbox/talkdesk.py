"""Talkdesk Explore's ``explore_calls`` report, as documented (seeds 000, 002).

Talkdesk serves call records as report *jobs*: create one for a timespan, poll it until
it is done, download its file from a short-lived pre-signed object-store URL, delete it.

- ``POST /oauth/token``: OAuth2 client credentials, HTTP Basic ``client_id:client_secret``,
  form ``grant_type=client_credentials`` and a ``scope`` holding ``data-reports:read`` and
  ``data-reports:write`` (else 400 ``invalid_scope``). Tokens live ``token_lifetime``
  seconds (600). Every API request needs ``Authorization: Bearer``; an unknown, expired
  or revoked token is a 401 with Talkdesk's error body ``{code, description, message,
  fields}``. ``revoke_tokens_after``: after that many API requests every token issued so
  far is revoked once, to test 401 renewal.
- ``POST /data/reports/explore_calls/jobs`` ``{name, timezone, format, timespan: {from,
  to}}``: 202 ``{"job": {...}, "_links": {...}}`` (``flat_job_reply``: the job object
  itself, as the reference's schema shows, in every job reply). 400 for a malformed
  body, a non-IANA timezone, a format other than csv/json/json_bulk, an unreadable
  date-time, ``to`` before ``from``, more than 31 days, or ``to`` later than now plus
  ``future_tolerance`` seconds. ``from``/``to`` may carry an offset (``Z``, ``±hh:mm``);
  without one they are read in the job's timezone. ``from`` is inclusive, ``to``
  exclusive. At most ``job_quota`` (15) jobs per account at once (created, processing
  or uploading), counting ``held_jobs`` held by someone else for ``held_for`` seconds
  from when configured; over it, 429 (``Retry-After`` only if ``quota_retry_after``).
- Jobs go ``created → processing → uploading`` in thirds of ``job_duration`` seconds,
  then ``done``, or ``failed`` for the next ``fail_jobs`` jobs (every job with
  ``fail_all_jobs``).
- ``GET /data/reports/explore_calls/jobs/{id}``: 200 with the job while it runs; once
  done, ``done_status`` (303, or 300, or 200 with ``status: done``) with ``Location:
  /talkdesk/data/reports/explore_calls/files/{id}`` (the documented path, below the
  sandbox's mount point).
- ``GET /data/reports/explore_calls/files/{id}``: 200 with the job while not done; once
  done, 303 to a pre-signed URL on this server (``/talkdesk/_objects/{id}?X-Amz-...``),
  on the request's ``Host``, or on ``object_host`` (with the request's port): another
  host name, as S3's is, so that an HTTP client drops ``Authorization`` on the redirect
  by itself; on the default host only a client that leaves it out gets the file. The
  URL needs no token, rejects any request carrying ``Authorization`` with S3's 400 "Only
  one auth mechanism allowed", expires after ``url_ttl`` seconds (60) with S3's 403
  "Request has expired" (``expire_urls``: the next n URLs are issued already expired)
  and is a 404 once the file is deleted. The file is streamed (chunked), never built
  in memory.
- ``DELETE /data/reports/explore_calls/files/{id}``: 204; file and job become
  ``deleted`` (a second delete is a 404).
- Files: ``csv`` (header row, RFC 4180 quoting, CRLF), ``json``
  (``{"entries": [...], "total": N}``), ``json_bulk``. Rows are the calls whose start
  is in ``[from, to)``, at most ``row_cap`` (1,000,000, the documented per-request
  limit: a bigger file is cut there, with ``total`` equal to the cap). Times are written
  in the job's timezone without an offset (``2022-06-30 16:42:24``), durations
  (``talk_time``, ``waiting_time``, ``holding_time``, ``agent_speed_to_answer``) as
  fractions of a day, booleans as ``"TRUE"``/``"FALSE"`` and ``"Yes"``/``"No"``, nulls as
  empty CSV cells or JSON ``null``. ``payload``: ``"2026"`` (default: the payload in
  force from 2026-05-11, with ``data_status``, ``disposition_set``, ``nested_disposition``,
  typed custom fields and the undocumented ``mood``) or ``"legacy"``.
- Records added through the admin API are rows in Talkdesk's own shape, except that
  ``start_time``, ``end_time``, ``csat_survey_time`` and ``timestamp_custom_field_n1``
  are ISO instants with an offset: the sandbox renders them into each job's timezone
  like the synthetic rows, selects them by ``start_time`` and serves them after the
  synthetic rows. Keys the payload does not have become extra CSV columns.

Inferred (undocumented): the cancel endpoint (``DELETE .../jobs/{id}``: a running job
becomes ``canceled``, a done one ``deleted``, 204 either way); ``json_bulk`` as one JSON
object per line; the error codes; the status timings; the pre-signed URL's shape. Two
readings of the 2026 payload are served on demand, since the sibling Calls report moved
to them at that date: ``duration_unit: "seconds"`` (integer seconds) and
``time_format: "utc_z"`` (``2025-10-09T16:59:52Z``). Row times are whole seconds.

Readings (:data:`READINGS`; the first value of each is the default), where the docs are
silent: ``timespan_zone``: whether an offset in ``from``/``to`` wins (``offset_wins``)
or the job's ``timezone`` does (``timezone_wins``: the wall time is read in the zone,
its offset ignored); ``csv_header``: a CSV header of the JSON ``keys``, or of the Explore
UI's ``display_names`` (``Interaction ID``, ``In Business Hours?``); ``report_rows``:
whether a report other than calls selects its rows by their own time (``by_own_time``:
a ring attempt by when it rang) or by their call's (``by_call``: the rows of the calls
the calls report selects for the same timespan, under ``range_by`` and ``listed``).
``duration_unit`` also takes ``"hms"``: durations written ``0:00:06`` as the Explore UI
shows them.

Faults apply to the API and the object store, and to the token endpoint only when
aimed at it (``"path": "/oauth/token"``); a fault's ``path`` and ``method`` target one
endpoint (``"/_objects"`` for downloads, where ``drop_after_bytes`` cuts a file
midway). The stats' ``vendor`` object: ``tokens_issued``,
``invalid_access_tokens``, ``api_requests``, ``jobs_created``, ``jobs_rejected`` (400s),
``quota_rejections`` (429s), ``jobs_by_status``, ``job_statuses`` (each of the tap's
jobs' status, in the order they were created), ``max_concurrent_jobs``, ``running_jobs``
(the tap's jobs only), ``held_jobs_active``, ``undeleted_files``, ``status_polls``,
``file_requests``, ``urls_issued``, ``expired_url_requests``,
``auth_header_on_object_store``, ``downloads_started``, ``downloads_completed``,
``rows_served``, ``capped_files``, ``files_deleted``, ``jobs_canceled`` and
``timespans`` (each job's ``from``/``to`` as sent, its timezone and format, and
``from_utc``/``to_utc``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
import secrets
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, available_timezones

import msgspec

from tap_callrecords.sandbox.data import mix, uuid_for
from tap_callrecords.sandbox.server import (
    JSON_ENCODER,
    Request,
    Response,
    VendorAPI,
    json_response,
    token_reply,
)
from tap_callrecords.sandbox.talkdesk_reports import (
    REPORTS,
    SPREAD_SECONDS,
    call_rows,
    local_writer,
    report_columns,
)

UTC = timezone.utc
POOL_SIZE = 1024
#: Target size of one streamed chunk of a file.
CHUNK_BYTES = 256 * 1024
MAX_SPAN = timedelta(days=31)
TOKEN_PATH = "/oauth/token"
CALLS_REPORT = "explore_calls"
JOBS_PATH = f"/data/reports/{CALLS_REPORT}/jobs"
FILES_PATH = f"/data/reports/{CALLS_REPORT}/files"
#: ``/data/reports/{report}/{jobs|files}[/{id}]``.
REPORT_ROUTE = re.compile(r"^/data/reports/(?P<report>[a-z_]+)/(?P<kind>jobs|files)(?:/(?P<id>[^/]+))?$")
OBJECTS_PATH = "/_objects"
REQUIRED_SCOPES = frozenset({"data-reports:read", "data-reports:write"})
FORMATS = ("csv", "json", "json_bulk")
ACTIVE = frozenset({"created", "processing", "uploading"})
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json", "json_bulk": "application/x-ndjson"}
#: Prefix of every access token the sandbox issues, so tests can look for leaks.
TOKEN_PREFIX = "tdsbxtok"

#: Each undocumented behaviour -> its possible values, the default first.
READINGS: dict[str, tuple[str, ...]] = {
    "timespan_zone": ("offset_wins", "timezone_wins"),
    "csv_header": ("keys", "display_names"),
    "report_rows": ("by_own_time", "by_call"),
}
DEFAULTS: dict[str, Any] = {
    "account_name": "sandbox-talkdesk",
    "client_id": "sandbox-talkdesk-client",
    "client_secret": "talkdesk-sandbox-secret-5b9e07c3",
    "count": 1000,
    "start": "2024-07-01T00:00:00+00:00",
    "end": "2024-07-31T00:00:00+00:00",
    "seed": 1,
    "token_lifetime": 600,
    "revoke_tokens_after": None,
    # How the token reply gives ``expires_in``: "number" (the lifetime), "null" or "missing".
    "expires_in_reply": "number",
    "job_duration": 0.2,
    "fail_jobs": 0,
    "fail_all_jobs": False,
    "done_status": 303,
    "flat_job_reply": False,
    "job_quota": 15,
    "quota_retry_after": None,
    "held_jobs": 0,
    "held_for": 30.0,
    "url_ttl": 60.0,
    "expire_urls": 0,
    "row_cap": 1_000_000,
    "payload": "2026",
    "duration_unit": "day_fraction",
    "time_format": "local",
    "future_tolerance": 5.0,
    "object_host": None,
    **{name: values[0] for name, values in READINGS.items()},
    # The object store's redirects, answered in turn before the file (e.g. [307, 301]).
    "object_redirects": [],
    # The next ``bad_files`` downloads serve a broken file of this kind instead: "html" (a
    # login page with status 200), "empty" (no bytes), "duplicate_column" (a CSV header
    # naming ``start_time`` twice), "missing_key" (a CSV header without ``interaction_id``),
    # "wrong_total" (a JSON file whose ``total`` counts one entry more than it holds),
    # "nested" (a JSON file whose first entry nests 100,000 lists deep).
    "bad_file": None,
    "bad_files": 0,
    # Report types the account is not entitled to: a new job of one is a 403.
    "forbidden_reports": [],
}


def display_name(key: str) -> str:
    """A column's name as the Explore UI shows it: ``in_business_hours?`` -> ``In Business Hours?``."""
    return " ".join("ID" if word == "id" else word.capitalize() for word in key.split("_"))


LEGACY_COLUMNS = (
    "interaction_id", "call_type", "start_time", "end_time", "talkdesk_phone_number",
    "customer_phone_number", "talk_time", "record", "hangup", "in_business_hours?",
    "callback_from_queue?", "waiting_time", "agent_speed_to_answer", "holding_time", "rating",
    "description", "agent_name", "phone_display_name", "disposition_code", "transfer?",
    "handling_agent", "tags", "ivr_options", "csat_score", "csat_survey_time", "team",
    "rating_reason", "agent_disconnected",
)
COLUMNS_2026 = (
    *LEGACY_COLUMNS, "data_status", "disposition_set", "nested_disposition",
    "int_custom_field_n1", "int_custom_field_n2", "float_custom_field_n1", "float_custom_field_n2",
    "text_custom_field_n1", "text_custom_field_n2", "text_custom_field_n3", "text_custom_field_n4",
    "timestamp_custom_field_n1",
    "mood",  # not in the documentation; real files carry keys like it
)
TIME_FIELDS = ("start_time", "end_time", "csat_survey_time", "timestamp_custom_field_n1")

CALL_TYPES = ("inbound", "outbound", "missed", "abandoned", "short_abandoned", "voicemail",
              "outbound_missed")
HANGUPS = ("disconnected", "agent", "customer", "system")
AGENTS = ("Alice Eve", "Mark Jones", "Alex Johnson", "Ana Souza", "Liu Wei", "Chandra Agarwal")
TEAMS = ("Team 2", "APAC_Support_Tier1", "Sales EMEA", None)
DESCRIPTIONS = (None, "They were not interested", 'Asked for a "callback", then hung up',
                "Line one\nline two", "Café, São Paulo ☎", "")
TAGS = ("agents+rg1", "alex johnson, outbound", "", "vip")
IVR = ("1,2,1", "", "3", "2,2")
DISPOSITIONS = ("Not Interested", "Sale", "Callback", None)
MOODS = ("happy", "neutral", "frustrated", None)

# Talkdesk's error codes are not published; these only need to be stable.
ERR_UNAUTHORIZED = "0340001"
ERR_NOT_FOUND = "0340404"
ERR_BAD_REQUEST = "0340002"
ERR_QUOTA = "0340429"
ERR_FORBIDDEN = "0340403"

S3_AUTH_MECHANISMS = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
    "string parameter or the Authorization header should be specified"
)


def error(status: int, code: str, description: str, message: str,
          fields: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> Response:
    """Talkdesk's error body."""
    return json_response(status, {"code": code, "description": description, "message": message,
                                  "fields": fields or []}, **(headers or {}))


def s3_error(status: int, code: str, message: str, **extra: str) -> Response:
    """An object-store error: S3's XML body."""
    parts = "".join(f"<{name}>{value}</{name}>" for name, value in extra.items())
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}'
            f"</Message>{parts}<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>")
    return Response(status, raw=body.encode(), headers={"Content-Type": "application/xml"})


@functools.lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """The IANA timezone names this machine knows."""
    return frozenset(available_timezones())


def parse_instant(text: Any, zone: tzinfo) -> datetime | None:
    """An ISO date-time; one without an offset is read in ``zone``. ``None`` if unreadable."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def day_fraction_text(seconds: int, style: str) -> str:
    """A duration as Talkdesk writes it: a single-precision fraction of a day.

    ``legacy``: fixed decimals as in the old sample (``0.000069444446``); ``2026``: Java's
    ``Float.toString`` as in the new one (``8.1018516E-5``).
    """
    if seconds == 0:
        return "0.0"
    value = _float32(seconds / 86_400)
    if style == "legacy":
        text = f"{value:.12f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    for digits in range(1, 10):  # the shortest text that reads back as the same float32
        mantissa_text = f"{value:.{digits - 1}e}"
        if _float32(float(mantissa_text)) == value:
            break
    if 1e-3 <= value < 1e7:
        return repr(float(mantissa_text))
    mantissa, exponent = mantissa_text.split("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}E{int(exponent)}"


def csv_cell(value: Any) -> str:
    """One CSV cell, RFC 4180: quoted when it holds a comma, a quote or a line break."""
    if value is None:
        return ""
    if isinstance(value, msgspec.Raw):
        return bytes(value).decode()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    text = value if isinstance(value, str) else str(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class MinuteText(dict[int, str]):
    """Epoch minute → its local ``YYYY-MM-DD HH:MM`` in a zone, computed once per minute.

    Offsets change on whole minutes, so a row's time is this text plus ``:SS``.
    """

    def __init__(self, zone: ZoneInfo | timezone, separator: str) -> None:
        super().__init__()
        self.zone = zone
        self.pattern = f"%Y-%m-%d{separator}%H:%M"

    def __missing__(self, minute: int) -> str:
        text = datetime.fromtimestamp(minute * 60, self.zone).strftime(self.pattern)
        self[minute] = text
        return text


@dataclass
class Pooled:
    """One of ``POOL_SIZE`` varied call bodies: every column but the id and the times,
    which are offsets (seconds after the start; ``None`` for a null time)."""

    values: dict[str, Any]
    offsets: dict[str, int | None]


@dataclass
class Template:
    """A pooled body rendered in one format, with ``{0}`` for the id and ``{1}``... for
    the times at ``offsets`` seconds after the start (``str.format`` fields)."""

    text: str
    offsets: tuple[int, ...]


@dataclass
class Job:
    """One report job: the tap's, or (``held``) someone else's occupying the quota."""

    id: str
    name: str
    timezone: str
    format: str
    timespan: dict[str, Any]
    low_ms: int
    high_ms: int
    created: float
    duration: float
    fails: bool
    report: str = CALLS_REPORT
    canceled: bool = False
    deleted: bool = False

    def status(self, now: float) -> str:
        if self.deleted:
            return "deleted"
        if self.canceled:
            return "canceled"
        elapsed = now - self.created
        if elapsed >= self.duration:
            return "failed" if self.fails else "done"
        if elapsed < self.duration / 3:
            return "created"
        return "processing" if elapsed < self.duration * 2 / 3 else "uploading"

    def body(self, now: float) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "timezone": self.timezone, "status": self.status(now),
                "format": self.format, "timespan": self.timespan}


@dataclass
class Counters:
    """What the tap did, for ``/_sandbox/stats``."""

    tokens_issued: int = 0
    invalid_access_tokens: int = 0
    api_requests: int = 0
    jobs_created: int = 0
    jobs_rejected: int = 0
    quota_rejections: int = 0
    max_concurrent_jobs: int = 0
    status_polls: int = 0
    file_requests: int = 0
    urls_issued: int = 0
    expired_url_requests: int = 0
    auth_header_on_object_store: int = 0
    downloads_started: int = 0
    downloads_completed: int = 0
    rows_served: int = 0
    capped_files: int = 0
    files_deleted: int = 0
    jobs_canceled: int = 0
    forbidden_rejections: int = 0
    jobs_by_report: Counter[str] = field(default_factory=Counter)
    timespans: list[dict[str, Any]] = field(default_factory=list)


class TalkdeskAPI(VendorAPI):
    """Talkdesk's token endpoint, Explore ``explore_calls`` jobs and their files."""

    prefix = "talkdesk"
    defaults = DEFAULTS
    readings: ClassVar[dict[str, tuple[Any, ...]]] = {**VendorAPI.readings, **READINGS}

    @classmethod
    def benchmark_options(cls, count: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """One report of ``count`` rows: the row cap is raised on both sides, so a
        million-row benchmark file is read once instead of being split at the cap."""
        options, settings = super().benchmark_options(count)
        cap = max(count + 1, DEFAULTS["row_cap"])
        return {**options, "row_cap": cap, "job_duration": 0.05}, {**settings, "report_row_cap": cap}

    @classmethod
    def tap_settings(cls, base_url: str) -> dict[str, Any]:
        return {
            "account_name": DEFAULTS["account_name"],
            "client_id": DEFAULTS["client_id"],
            "client_secret": DEFAULTS["client_secret"],
            "api_url": f"{base_url}/talkdesk",
            "oauth_url": f"{base_url}/talkdesk{TOKEN_PATH}",
        }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        super().__init__()

    def reset(self) -> None:
        with self._lock:
            self.tokens: dict[str, float] = {}
            self.revoked = False
            self.jobs: dict[str, Job] = {}
            self.held_until: list[float] = []
            self.urls: dict[str, tuple[str, float]] = {}
            self.fail_remaining = 0
            self.expire_remaining = 0
            self.stats = Counters()
        super().reset()

    def configure(self, options: dict[str, Any]) -> None:
        super().configure(options)
        now = time.monotonic()
        with self._lock:
            if "fail_jobs" in options:
                self.fail_remaining = int(options["fail_jobs"])
            if "expire_urls" in options:
                self.expire_remaining = int(options["expire_urls"])
            if "held_jobs" in options or "held_for" in options:
                held_for = float(self.options["held_for"])
                self.held_until = [now + held_for] * int(self.options["held_jobs"])

    def rebuild(self) -> None:
        super().rebuild()
        o = self.options
        self.payload = "legacy" if str(o["payload"]) == "legacy" else "2026"
        self.columns = LEGACY_COLUMNS if self.payload == "legacy" else COLUMNS_2026
        self.pool = [self._pooled(mix(self.timeline.seed * 1_000_003 + i)) for i in range(POOL_SIZE)]
        self._templates: dict[str, list[Template]] = {}

    def counters(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            statuses = Counter(job.status(now) for job in self.jobs.values())
            counters = {name: getattr(self.stats, name) for name in self.stats.__dataclass_fields__}
            counters["timespans"] = list(self.stats.timespans)
            counters["jobs_by_report"] = dict(self.stats.jobs_by_report)
            counters.update(
                jobs_by_status=dict(statuses),
                job_statuses=[job.status(now) for job in self.jobs.values()],
                running_jobs=sum(statuses[s] for s in ACTIVE),
                undeleted_files=statuses["done"],
                held_jobs_active=sum(1 for until in self.held_until if until > now),
            )
            return counters

    def is_data_request(self, request: Request) -> bool:
        """Faults apply to the API and the object store; the token endpoint takes only
        faults aimed at it."""
        return request.path.rstrip("/") != TOKEN_PATH

    # -- Data ---------------------------------------------------------------------

    def _pooled(self, h: int) -> Pooled:
        """One varied call (all but id and times), shaped like the seed's samples."""
        call_type = CALL_TYPES[h % len(CALL_TYPES)]
        answered = call_type in ("inbound", "outbound")
        talk = (h >> 4) % 1800 if answered else 0
        waiting = None if call_type.startswith("outbound") else (h >> 16) % 120
        holding = (h >> 24) % 90 if answered and (h >> 3) % 3 == 0 else 0
        speed = None if waiting is None or not answered else min(waiting, (h >> 28) % 30)
        agent = AGENTS[(h >> 8) % len(AGENTS)] if answered else None
        rated = answered and (h >> 12) % 4 == 0
        surveyed = answered and (h >> 13) % 3 == 0
        duration = (waiting or 0) + talk + holding + (h >> 32) % 5
        values: dict[str, Any] = {
            "call_type": call_type,
            "talkdesk_phone_number": f"+1470{(h >> 20) % 10_000_000:07d}",
            "customer_phone_number": f"+1775{(h >> 36) % 10_000_000:07d}",
            "talk_time": ("duration", talk),
            "record": f"/recordings/{h:016x}" if answered and h % 5 else None,
            "hangup": HANGUPS[(h >> 40) % len(HANGUPS)],
            "in_business_hours?": "TRUE" if (h >> 41) % 4 else "FALSE",
            "callback_from_queue?": "TRUE" if (h >> 42) % 9 == 0 else "FALSE",
            "waiting_time": None if waiting is None else ("duration", waiting),
            "agent_speed_to_answer": None if speed is None else ("duration", speed),
            "holding_time": ("duration", holding),
            "rating": (h >> 44) % 5 + 1 if rated else None,
            "description": DESCRIPTIONS[(h >> 45) % len(DESCRIPTIONS)],
            "agent_name": agent,
            "phone_display_name": ("support", "sales", "alex-j")[(h >> 47) % 3],
            "disposition_code": DISPOSITIONS[(h >> 49) % len(DISPOSITIONS)] if answered else None,
            "transfer?": "Yes" if (h >> 51) % 6 == 0 else "No",
            "handling_agent": agent if (h >> 52) % 2 else None,
            "tags": TAGS[(h >> 53) % len(TAGS)],
            "ivr_options": IVR[(h >> 55) % len(IVR)],
            "csat_score": (h >> 57) % 5 + 1 if surveyed else None,
            "team": TEAMS[(h >> 59) % len(TEAMS)],
            "rating_reason": "Quick answer" if rated else "",
            "agent_disconnected": "Yes" if answered and (h >> 61) % 2 else "No",
            "data_status": "Valid" if h % 11 else "Partial",
            "disposition_set": "Default set" if (h >> 5) % 3 == 0 else None,
            "nested_disposition": "Sales > Won" if (h >> 6) % 4 == 0 else "",
            "int_custom_field_n1": (h >> 7) % 1000 if (h >> 7) % 2 else None,
            "int_custom_field_n2": None,
            "float_custom_field_n1": ((h >> 9) % 10_000) / 100 if (h >> 9) % 2 else None,
            "float_custom_field_n2": None,
            "text_custom_field_n1": "priority, high" if (h >> 10) % 3 == 0 else None,
            "text_custom_field_n2": 'quote "inside"' if (h >> 11) % 7 == 0 else None,
            "text_custom_field_n3": None,
            "text_custom_field_n4": "",
            "mood": MOODS[(h >> 14) % len(MOODS)],
        }
        offsets: dict[str, int | None] = {
            "start_time": 0,
            "end_time": duration,
            "csat_survey_time": duration + 60 + (h >> 15) % 600 if surveyed else None,
            "timestamp_custom_field_n1": -86_400 * ((h >> 17) % 30) if (h >> 17) % 2 else None,
        }
        return Pooled(values, offsets)

    def _duration(self, seconds: int) -> msgspec.Raw:
        if self.options["duration_unit"] == "seconds":
            return msgspec.Raw(str(seconds).encode())
        if self.options["duration_unit"] == "hms":
            text = f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
            return msgspec.Raw(JSON_ENCODER.encode(text))  # a JSON string; a quoted CSV cell
        return msgspec.Raw(day_fraction_text(seconds, self.payload).encode())

    def templates(self, file_format: str) -> list[Template]:
        """The pool rendered in ``file_format`` (built on first use after each rebuild)."""
        with self._lock:
            cached = self._templates.get(file_format)
            if cached is None:
                cached = self._templates[file_format] = [self._template(p, file_format) for p in self.pool]
            return cached

    def _template(self, pooled: Pooled, file_format: str) -> Template:
        row: dict[str, Any] = {}
        offsets: list[int] = []
        for column in self.columns:
            if column == "interaction_id":
                value: Any = "@@0@@"
            elif column in TIME_FIELDS:
                offset = pooled.offsets[column]
                value = None if offset is None else f"@@{len(offsets) + 1}@@"
                if offset is not None:
                    offsets.append(offset)
            else:
                value = pooled.values[column]
                if isinstance(value, tuple):
                    value = self._duration(value[1])
            row[column] = value
        if file_format == "csv":
            text = ",".join(csv_cell(v) for v in row.values())
        else:
            text = JSON_ENCODER.encode(row).decode()
        text = text.replace("{", "{{").replace("}", "}}")
        for n in range(len(offsets) + 1):
            text = text.replace(f"@@{n}@@", f"{{{n}}}")
        return Template(text, tuple(offsets))

    def _render_added(self, record: dict[str, Any], zone: ZoneInfo, time_format: str) -> dict[str, Any]:
        """An added record with its ISO instants written as the file writes times."""
        rendered = dict(record)
        for name in TIME_FIELDS:
            moment = parse_instant(record.get(name), UTC)
            if moment is not None:
                rendered[name] = (moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                                  if time_format == "utc_z"
                                  else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"))
        return rendered

    def file_chunks(self, job: Job) -> Iterator[bytes]:
        """The job's file, produced in chunks of about ``CHUNK_BYTES``."""
        if job.report != CALLS_REPORT:
            yield from self.report_chunks(job)
            return
        zone = ZoneInfo(job.timezone)
        time_format = str(self.options["time_format"])
        base = self.select(job.low_ms, job.high_ms)
        added = [self._render_added(r, zone, time_format) for r in list(self.extra)
                 if self._added_matches(r, job.low_ms, job.high_ms)]
        cap = max(0, int(self.options["row_cap"]))
        capped = len(base) + len(added) > cap
        base = base[:cap]
        added = added[: cap - len(base)]
        total = len(base) + len(added)
        with self._lock:
            self.stats.downloads_started += 1
            self.stats.capped_files += capped
        templates = self.templates(job.format)
        extra_columns = list(dict.fromkeys(k for r in added for k in r if k not in self.columns))
        if job.format == "csv":
            names = [*self.columns, *extra_columns]
            if self.options["csv_header"] == "display_names":
                names = [display_name(name) for name in names]
            head = ",".join(csv_cell(c) for c in names) + "\r\n"
            separator, end, tail = "", "," * len(extra_columns) + "\r\n", ""
        elif job.format == "json":
            head, separator, end, tail = '{"entries":[', ",", "", f'],"total":{total}}}'
        else:
            head, separator, end, tail = "", "", "\n", ""

        if time_format == "utc_z":
            minutes, seconds = MinuteText(UTC, "T"), [f":{s:02d}Z" for s in range(60)]
        else:
            minutes, seconds = MinuteText(zone, " "), [f":{s:02d}" for s in range(60)]
        timeline = self.timeline
        # SyntheticTimeline.epoch_ms, inlined: the loop below is the sandbox's hot path.
        seed, count = timeline.seed, max(timeline.count, 1)
        start_ms = int(timeline.start.timestamp() * 1000)
        span_ms = int(timeline.end.timestamp() * 1000) - start_ms
        per_chunk = max(1, CHUNK_BYTES // max(1, len(templates[0].text) + 120))
        yield head.encode()
        first = True
        for low in range(0, len(base), per_chunk):
            rows = []
            for i in base[low: low + per_chunk]:
                template = templates[mix(seed + i) % POOL_SIZE]
                second = (start_ms + i * span_ms // count) // 1000
                times = [minutes[(second + o) // 60] + seconds[(second + o) % 60] for o in template.offsets]
                rows.append(template.text.format(uuid_for(seed, i).replace("-", ""), *times))
            text = (separator + end).join(rows) + end
            yield (text if first else separator + text).encode()
            first = False
        if added:
            if job.format == "csv":
                columns = (*self.columns, *extra_columns)
                rows = [",".join(csv_cell(r.get(c)) for c in columns) for r in added]
                end = "\r\n"  # the added rows have their own cells for the extra columns
            else:
                rows = [JSON_ENCODER.encode(r).decode() for r in added]
            text = (separator + end).join(rows) + end
            yield (text if first else separator + text).encode()
        yield tail.encode()
        with self._lock:
            self.stats.downloads_completed += 1
            self.stats.rows_served += total

    def report_chunks(self, job: Job) -> Iterator[bytes]:
        """The file of a report other than calls (:mod:`~tap_callrecords.sandbox.talkdesk_reports`)."""
        local = local_writer(ZoneInfo(job.timezone))
        seed = self.timeline.seed
        rows: list[dict[str, Any]] = []
        if self.reading("report_rows") == "by_call":
            for index in self.select(job.low_ms, job.high_ms):
                start = self.timeline.epoch_ms(index) // 1000
                rows.extend(row for _, row in call_rows(job.report, seed, index, start, local))
        else:
            for index in self.timeline.index_range(job.low_ms - SPREAD_SECONDS * 1000, job.high_ms):
                start = self.timeline.epoch_ms(index) // 1000
                rows.extend(row for at, row in call_rows(job.report, seed, index, start, local)
                            if job.low_ms <= at * 1000 < job.high_ms)
        with self._lock:
            self.stats.downloads_started += 1
        if job.format == "csv":
            columns = report_columns(job.report)
            lines = [",".join(csv_cell(c) for c in columns)]
            lines += [",".join(csv_cell(row.get(c)) for c in columns) for row in rows]
            text = "\r\n".join(lines) + "\r\n"
        elif job.format == "json":
            text = JSON_ENCODER.encode({"entries": rows, "total": len(rows)}).decode()
        else:
            text = "".join(JSON_ENCODER.encode(row).decode() + "\n" for row in rows)
        yield text.encode()
        with self._lock:
            self.stats.downloads_completed += 1
            self.stats.rows_served += len(rows)

    @staticmethod
    def _added_matches(record: dict[str, Any], low_ms: int, high_ms: int) -> bool:
        moment = parse_instant(record.get("start_time"), UTC)
        return moment is not None and low_ms <= int(moment.timestamp() * 1000) < high_ms

    # -- Requests -------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        if path.startswith(OBJECTS_PATH + "/") and request.method == "GET":
            return self._object(request, path[len(OBJECTS_PATH) + 1:])
        if not self._authorised(request):
            return error(401, ERR_UNAUTHORIZED, "Unauthorized", "The access token is invalid or expired.")
        route = REPORT_ROUTE.match(path)
        if route is not None and route["report"] in (CALLS_REPORT, *REPORTS):
            report, kind, job_id = route["report"], route["kind"], route["id"]
            if kind == "jobs" and job_id is None and request.method == "POST":
                return self._create(request, report)
            if kind == "jobs" and job_id is not None and request.method == "GET":
                return self._job_status(request, job_id)
            if kind == "jobs" and job_id is not None and request.method == "DELETE":
                return self._cancel(job_id)
            if kind == "files" and job_id is not None and request.method == "GET":
                return self._file(request, job_id)
            if kind == "files" and job_id is not None and request.method == "DELETE":
                return self._delete_file(job_id)
        return error(404, ERR_NOT_FOUND, "Not found", f"No route for {request.method} {path}.")

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        expected = f"{self.options['client_id']}:{self.options['client_secret']}"
        header = request.headers.get("authorization", "")
        try:
            given = base64.b64decode(header.removeprefix("Basic ").strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        if not header.startswith("Basic ") or given != expected:
            return json_response(401, {"error": "invalid_client",
                                       "error_description": "Client authentication failed."})
        if form.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "Use grant_type=client_credentials."})
        scopes = form.get("scope", "").split()
        if not set(scopes) >= REQUIRED_SCOPES:
            return json_response(400, {"error": "invalid_scope",
                                       "error_description": "Scope must include data-reports:read "
                                                            "data-reports:write."})
        lifetime = int(self.options["token_lifetime"])
        with self._lock:
            self.stats.tokens_issued += 1
            token = f"{TOKEN_PREFIX}{self.stats.tokens_issued}x{secrets.token_hex(16)}"
            self.tokens[token] = time.monotonic() + lifetime
        return token_reply({"access_token": token, "token_type": "Bearer", "expires_in": lifetime,
                            "scope": " ".join(scopes)}, self.options["expires_in_reply"])

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        now = time.monotonic()
        with self._lock:
            self.stats.api_requests += 1
            revoke_after = self.options["revoke_tokens_after"]
            if revoke_after is not None and not self.revoked and self.stats.api_requests > int(revoke_after):
                self.revoked = True
                self.tokens.clear()
            expires = self.tokens.get(token)
            if expires is None or now >= expires:
                self.stats.invalid_access_tokens += 1
                return False
            return True

    def _api_base(self, request: Request) -> str:
        return f"http://{request.headers.get('host', '127.0.0.1')}/{self.prefix}"

    def _job_reply(self, request: Request, job: Job, now: float) -> dict[str, Any]:
        body = job.body(now)
        if self.options["flat_job_reply"]:
            return body
        base = self._api_base(request)
        reports = f"{base}/data/reports/{job.report}"
        return {"job": body, "_links": {"self": {"href": f"{reports}/jobs/{job.id}"},
                                        "files": {"href": f"{reports}/files/{job.id}"}}}

    def _rejected(self, message: str, fields: list[dict[str, str]]) -> Response:
        with self._lock:
            self.stats.jobs_rejected += 1
        return error(400, ERR_BAD_REQUEST, "Bad request", message, fields)

    def _create(self, request: Request, report: str = CALLS_REPORT) -> Response:
        if report in self.options["forbidden_reports"]:
            with self._lock:
                self.stats.forbidden_rejections += 1
            return error(403, ERR_FORBIDDEN, "Forbidden",
                         f"The account does not have access to the {report} report.")
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("timespan"), dict):
            return self._rejected("The report request does not have a valid structure.",
                                  [{"name": "timespan", "description": "must be an object"}])
        fields: list[dict[str, str]] = []
        name = body.get("name", "explore_calls")
        if not isinstance(name, str):
            fields.append({"name": "name", "description": "must be a string"})
        zone_name = body.get("timezone")
        if not isinstance(zone_name, str) or zone_name not in iana_zones():
            fields.append({"name": "timezone", "description": "must be a valid IANA timezone"})
        file_format = body.get("format")
        if file_format not in FORMATS:
            fields.append({"name": "format", "description": "must be one of csv, json, json_bulk"})
        if fields:
            return self._rejected("Some report request fields have invalid values.", fields)
        zone = ZoneInfo(str(zone_name))
        timespan = body["timespan"]
        low, high = parse_instant(timespan.get("from"), zone), parse_instant(timespan.get("to"), zone)
        if self.options["timespan_zone"] == "timezone_wins":  # the wall time, in the job's zone
            low, high = (moment.replace(tzinfo=None).replace(tzinfo=zone) if moment else None
                         for moment in (low, high))
        for label, moment in (("from", low), ("to", high)):
            if moment is None:
                fields.append({"name": f"timespan.{label}", "description": "must be an ISO 8601 date-time"})
        if low is None or high is None:
            return self._rejected("The report timespan is not a properly formatted date time.", fields)
        if high < low:
            return self._rejected("The report end date is prior to the start date.",
                                  [{"name": "timespan.to", "description": "must not be before from"}])
        if high - low > MAX_SPAN:
            return self._rejected("The report timespan is greater than 31 days.",
                                  [{"name": "timespan", "description": "must span at most 31 days"}])
        tolerance = timedelta(seconds=float(self.options["future_tolerance"]))
        if high > self.now() + tolerance:
            return self._rejected("The report end date is in the future.",
                                  [{"name": "timespan.to", "description": "must not be in the future"}])

        now = time.monotonic()
        with self._lock:
            running = sum(1 for job in self.jobs.values() if job.status(now) in ACTIVE)
            held = sum(1 for until in self.held_until if until > now)
            if running + held >= int(self.options["job_quota"]):
                self.stats.quota_rejections += 1
                retry_after = self.options["quota_retry_after"]
                headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
                return error(429, ERR_QUOTA, "Too many requests",
                             "The account-based quota limit of simultaneous reports has been exceeded.",
                             headers=headers)
            fails = bool(self.options["fail_all_jobs"]) or self.fail_remaining > 0
            self.fail_remaining = max(0, self.fail_remaining - 1)
            job = Job(id=str(uuid.uuid4()), name=str(name), timezone=str(zone_name), format=str(file_format),
                      timespan={"from": timespan["from"], "to": timespan["to"]},
                      low_ms=int(low.timestamp() * 1000), high_ms=int(high.timestamp() * 1000),
                      created=now, duration=max(0.0, float(self.options["job_duration"])), fails=fails,
                      report=report)
            self.jobs[job.id] = job
            self.stats.jobs_created += 1
            self.stats.jobs_by_report[report] += 1
            self.stats.max_concurrent_jobs = max(self.stats.max_concurrent_jobs, running + 1)
            self.stats.timespans.append({
                "from": job.timespan["from"], "to": job.timespan["to"], "timezone": job.timezone,
                "format": job.format,
                "from_utc": low.astimezone(UTC).isoformat(), "to_utc": high.astimezone(UTC).isoformat(),
            })
            return json_response(202, self._job_reply(request, job, now))

    def _find(self, job_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def _job_status(self, request: Request, job_id: str) -> Response:
        job = self._find(job_id)
        with self._lock:
            self.stats.status_polls += 1
        if job is None:
            return error(404, ERR_NOT_FOUND, "Not found", f"Job {job_id} not found.")
        now = time.monotonic()
        reply = self._job_reply(request, job, now)
        done_status = int(self.options["done_status"])
        if job.status(now) == "done" and done_status != 200:
            return json_response(done_status, reply,
                                 Location=f"/{self.prefix}/data/reports/{job.report}/files/{job.id}")
        return json_response(200, reply)

    def _cancel(self, job_id: str) -> Response:
        now = time.monotonic()
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return error(404, ERR_NOT_FOUND, "Not found", f"Job {job_id} not found.")
            status = job.status(now)
            if status in ACTIVE:
                job.canceled = True
                self.stats.jobs_canceled += 1
            elif status == "done":
                job.deleted = True
                self.stats.files_deleted += 1
        return Response(204)

    def _file(self, request: Request, job_id: str) -> Response:
        job = self._find(job_id)
        with self._lock:
            self.stats.file_requests += 1
        now = time.monotonic()
        if job is None or job.status(now) == "deleted":
            return error(404, ERR_NOT_FOUND, "Not found", f"No file for job {job_id}.")
        if job.status(now) != "done":
            return json_response(200, self._job_reply(request, job, now))
        ttl = float(self.options["url_ttl"])
        signature = secrets.token_hex(32)
        with self._lock:
            self.stats.urls_issued += 1
            expired = self.expire_remaining > 0
            self.expire_remaining = max(0, self.expire_remaining - 1)
            self.urls[signature] = (job.id, now - 1 if expired else now + ttl)
        host = self.options["object_host"] or request.headers.get("host", "127.0.0.1")
        if self.options["object_host"] and ":" not in str(host) and ":" in request.headers.get("host", ""):
            host = f"{host}:{request.headers['host'].rsplit(':', 1)[1]}"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        url = (f"http://{host}/{self.prefix}{OBJECTS_PATH}/{job.id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
               f"&X-Amz-Credential=SANDBOXKEY%2F{stamp[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
               f"&X-Amz-Date={stamp}&X-Amz-Expires={math.ceil(ttl)}&X-Amz-SignedHeaders=host"
               f"&X-Amz-Signature={signature}")
        return Response(303, headers={"Location": url, "Content-Type": "application/json"})

    def _delete_file(self, job_id: str) -> Response:
        now = time.monotonic()
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None or job.status(now) != "done":
                return error(404, ERR_NOT_FOUND, "Not found", f"No file for job {job_id}.")
            job.deleted = True
            self.stats.files_deleted += 1
        return Response(204)

    def _object(self, request: Request, job_id: str) -> Response:
        """The object store behind the pre-signed URLs: no token, S3's rules."""
        if "authorization" in request.headers:
            with self._lock:
                self.stats.auth_header_on_object_store += 1
            return s3_error(400, "InvalidArgument", S3_AUTH_MECHANISMS,
                            ArgumentName="Authorization", ArgumentValue="Bearer")
        now = time.monotonic()
        with self._lock:
            issued = self.urls.get(request.param("X-Amz-Signature") or "")
            job = self.jobs.get(job_id)
            if issued is None or issued[0] != job_id or job is None:
                return s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                                "not match the signature you provided.")
            if now >= issued[1]:
                self.stats.expired_url_requests += 1
                return s3_error(403, "AccessDenied", "Request has expired",
                                **{"X-Amz-Expires": request.param("X-Amz-Expires") or ""})
            if job.deleted:
                return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=job_id)
        redirects = list(self.options["object_redirects"] or [])
        hop = int(request.param("hop") or 0)
        if hop < len(redirects):
            query = "&".join(f"{k}={v[0]}" for k, v in request.query.items() if k != "hop")
            return Response(int(redirects[hop]), headers={
                "Location": f"/{self.prefix}{OBJECTS_PATH}/{job_id}?{query}&hop={hop + 1}"})
        with self._lock:
            bad = self.options["bad_file"] if int(self.options["bad_files"] or 0) > 0 else None
            if bad:
                self.options["bad_files"] = int(self.options["bad_files"]) - 1
        if bad == "html":
            return Response(200, raw=b"<!DOCTYPE html><html><body>Sign in</body></html>\n",
                            headers={"Content-Type": "text/html"})
        if bad == "empty":
            return Response(200, raw=b"", headers={"Content-Type": CONTENT_TYPES[job.format]})
        chunks = self.file_chunks(job)
        if bad in ("duplicate_column", "missing_key"):
            chunks = _broken_header(chunks, bad)
        elif bad == "wrong_total":
            chunks = _total_one_more(chunks)
        elif bad == "nested":
            chunks = _nested_first_entry(chunks)
        return Response(200, headers={"Content-Type": CONTENT_TYPES[job.format]}, chunks=chunks)


def _nested_first_entry(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A JSON file's chunks with its first entry gaining a member nested 100,000 lists deep."""
    deep = b'"deep":' + b"[" * 100_000 + b"]" * 100_000 + b","
    buffered = b""
    for chunk in chunks:
        buffered += chunk
        if (opening := buffered.find(b"[{")) >= 0:
            yield buffered[:opening + 2] + deep + buffered[opening + 2:]
            yield from chunks
            return
    yield buffered


def _total_one_more(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A JSON file's chunks with its closing ``"total":N`` saying one entry more."""
    tail = b""
    for chunk in chunks:
        yield tail
        tail = chunk
    yield re.sub(rb'"total":(\d+)', lambda found: b'"total":%d' % (int(found[1]) + 1), tail)


def _broken_header(chunks: Iterator[bytes], kind: str) -> Iterator[bytes]:
    """A CSV file's chunks with its header naming ``start_time`` twice (in place of
    ``end_time``), or without ``interaction_id``."""
    first = next(chunks, b"")
    header, _, rest = first.partition(b"\n")
    if kind == "duplicate_column":
        header = header.replace(b"end_time", b"start_time", 1)
    else:
        header = header.replace(b"interaction_id", b"interaction", 1)
    yield header + b"\n" + rest
    yield from chunks
