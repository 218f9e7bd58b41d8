"""The sandbox HTTP server: routing, fault injection, request statistics, admin API.

Vendor APIs are mounted under ``/<vendor>/`` (so ``voiso.api_url`` becomes
``http://127.0.0.1:PORT/voiso``). The admin API lives under ``/_sandbox/``:

- ``POST /_sandbox/reset``: forget faults, statistics and added records.
- ``POST /_sandbox/configure`` ``{"vendor": ..., ...options}``: a vendor's data set and
  behaviour (see each vendor's ``configure``).
- ``POST /_sandbox/faults`` ``{"vendor": ..., "faults": [...]}``: queue faults; each
  applies to one data request (``"repeat": n`` for n requests). A fault is an object
  with any of ``status``, ``retry_after`` (header value as given),
  ``retry_after_http_date_in`` / ``retry_after_iso_in`` (seconds from now),
  ``body`` (JSON), ``drop`` (close the connection), ``malformed`` (truncated JSON),
  ``delay`` (seconds before answering), ``path`` (only requests under this path),
  ``method`` (only requests with this method, e.g. ``"GET"``), ``after`` (let this
  many matching requests through first), ``drop_after_bytes`` (answer normally but
  close the connection once that many body bytes are out: a download cut midway),
  ``headers`` (extra reply headers, e.g. a ``Location`` for a redirect loop), ``raw``
  (the body's bytes, given as latin-1 text: not JSON, not UTF-8, ...), ``trickle``
  (seconds between the body's bytes), ``gzip_bomb`` (a gzip body inflating to that
  many bytes), ``nest`` (the reply's JSON object gains a first member nested that many
  lists deep). Faults apply to a vendor's data requests; an endpoint the vendor exempts
  (its token endpoint) takes only a fault whose ``path`` is exactly its own.
- ``POST /_sandbox/records`` ``{"vendor": ..., "records": [...]}``: add records.
- ``GET /_sandbox/stats``: per vendor, request count, status counts, the most
  requests seen in any one-second span, ``span_seconds`` from the first request to the
  last (a rate is ``(requests - 1) / span_seconds``), and ``faults_served``: how many times each kind of
  fault hit each endpoint (``"GET /_objects malformed"``, ``"* /cdr 429"``).

A response may be streamed (:attr:`Response.chunks`): it is sent with
``Transfer-Encoding: chunked``, so a vendor can serve a file of any size without
building it in memory.
"""

from __future__ import annotations

import bisect
import functools
import json
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import msgspec

from tap_callrecords.sandbox.data import SyntheticTimeline, mix

JSON_ENCODER = msgspec.json.Encoder()


@dataclass
class Request:
    """One request as a vendor module sees it: path below the vendor prefix."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body decoded as JSON (``None`` when empty or invalid)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class Response:
    """What a vendor module answers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    #: A streamed body, sent chunked as it is produced (``body`` and ``raw`` unused).
    chunks: Iterable[bytes] | None = None

    def encode(self) -> bytes:
        """The body as bytes (a streamed body is materialised: avoid for large ones)."""
        if self.raw is not None:
            return self.raw
        if self.chunks is not None:
            return b"".join(self.chunks)
        return b"" if self.body is None else JSON_ENCODER.encode(self.body)


def json_response(status: int, body: Any, **headers: str) -> Response:
    """A JSON response."""
    return Response(status, body, {"Content-Type": "application/json", **headers})


def token_reply(reply: dict[str, Any], lifetime_form: str) -> Response:
    """An OAuth-style token reply whose ``expires_in`` is given as ``lifetime_form`` says:
    "number" (as in ``reply``), "null" or "missing" (a reply that leaves the lifetime
    unsaid, which the tap must still use and renew on a 401)."""
    if lifetime_form == "null":
        reply = {**reply, "expires_in": None}
    elif lifetime_form == "missing":
        reply = {name: value for name, value in reply.items() if name != "expires_in"}
    return json_response(200, reply)


class VendorAPI:
    """Base for a vendor module: its URL prefix, options, data set and request handling.

    ``defaults`` lists the options the admin API may set; ``count``, ``start``, ``end``
    and ``seed`` describe the synthetic data set (:attr:`timeline`). Records added
    through the admin API are kept in :attr:`extra`.

    **Readings.** Where a vendor's documentation is silent, :attr:`readings` names each
    choice and the values it may take, the first being the default; each is also an
    option the admin API sets (``{"vendor": ..., "range_by": "end"}``), and a vendor
    module extends the mapping with its own. The base class serves two for every
    vendor through :meth:`select`, the one way a module picks its data set's calls for
    a requested range: ``range_by`` (whether the range selects calls by their start or
    their end) and ``listed`` (``once_ended``: a call is listed only once its end has
    passed on the sandbox's clock). The sandbox's clock is the ``clock`` option (an ISO
    date-time; ``None``: the real time), read through :meth:`now`, so a test can run a
    day of scheduled syncs in seconds. Calls last up to ``max_call_minutes``
    (:meth:`duration_ms`; the readings' view of a call, whatever its record says).
    Records added through the admin API are selected by their own time, as before.
    """

    prefix: str = ""
    #: The tap's settings object this API is read with; ``None``: the one named ``prefix``
    #: (another API version of a vendor names the vendor's).
    settings_key: ClassVar[str | None] = None
    defaults: ClassVar[dict[str, Any]] = {}
    #: Each undocumented choice the sandbox can be switched to: its values, default first.
    readings: ClassVar[dict[str, tuple[Any, ...]]] = {
        "range_by": ("start", "end"),
        "listed": ("always", "once_ended"),
    }
    #: Options every vendor has beside its own ``defaults`` and its readings.
    common_defaults: ClassVar[dict[str, Any]] = {"clock": None, "max_call_minutes": 30}
    #: Which of a call's times the data set's instants are (``start`` or ``end``).
    instant: ClassVar[str] = "start"
    #: Vendor settings the benchmark run needs on top of :meth:`tap_settings`.
    benchmark_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.reset()

    @classmethod
    def tap_settings(cls, base_url: str) -> dict[str, Any]:
        """The tap's settings object for this vendor, pointed at this sandbox."""
        raise NotImplementedError

    @classmethod
    def benchmark_options(cls, count: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sandbox options for a benchmark data set of ``count`` records over the default
        range, and the vendor settings the benchmark run adds."""
        return (
            {"count": count, "start": cls.defaults["start"], "end": cls.defaults["end"]},
            dict(cls.benchmark_settings),
        )

    def reset(self) -> None:
        """Back to the default data set and behaviour."""
        self.options = {**self.common_defaults, **{name: values[0] for name, values in self.readings.items()},
                        **self.defaults}
        self.extra: list[Any] = []
        self.rebuild()

    def configure(self, options: dict[str, Any]) -> None:
        """Set the data set and behaviour from admin options (a reading only to one of its values)."""
        for name, values in self.readings.items():
            if name in options and options[name] not in values:
                raise ValueError(f"reading {name} is one of {list(values)}, not {options[name]!r}")
        known = {k: v for k, v in options.items() if k in self.options}
        self.options.update(known)
        if known.keys() - {"clock"}:  # moving the clock changes no data: a day of runs moves it often
            self.rebuild()

    def reading(self, name: str) -> Any:
        """The current value of reading ``name``."""
        return self.options[name]

    def now(self) -> datetime:
        """The sandbox's clock: the ``clock`` option, or the real time."""
        clock = self.options.get("clock")
        return datetime.fromisoformat(clock) if clock else datetime.now(timezone.utc)

    def duration_ms(self, index: int) -> int:
        """How long call ``index`` lasts, as the readings see it: up to ``max_call_minutes``,
        a pure function of the seed and the index."""
        longest = int(self.options["max_call_minutes"]) * 60_000
        return mix(self.timeline.seed * 7_919 + index) % (longest + 1)

    def select(self, low_ms: int, high_ms: int) -> Sequence[int]:
        """Indexes of the data set's calls a range ``[low_ms, high_ms)`` returns, in time
        order, under the current ``range_by`` and ``listed`` readings."""
        by, once_ended = self.reading("range_by"), self.reading("listed") == "once_ended"
        longest = int(self.options["max_call_minutes"]) * 60_000
        now_ms = int(self.now().timestamp() * 1000)
        if by == self.instant and (not once_ended or high_ms + longest <= now_ms):
            return self.timeline.index_range(low_ms, high_ms)
        # A call's other time lies within the longest call of its instant.
        wider = (low_ms - longest, high_ms) if self.instant == "start" else (low_ms, high_ms + longest)
        chosen = []
        for index in self.timeline.index_range(*wider):
            instant, length = self.timeline.epoch_ms(index), self.duration_ms(index)
            start = instant if self.instant == "start" else instant - length
            end = start + length
            if low_ms <= (start if by == "start" else end) < high_ms and (not once_ended or end <= now_ms):
                chosen.append(index)
        return chosen

    def rebuild(self) -> None:
        """Derive the data set from the options; vendors add what they precompute."""
        o = self.options
        self.timeline = SyntheticTimeline(
            count=int(o["count"]),
            start=datetime.fromisoformat(o["start"]),
            end=datetime.fromisoformat(o["end"]),
            seed=int(o.get("seed", 1)),
        )

    def add_records(self, records: list[dict[str, Any]]) -> None:
        """Add records to the data set."""
        self.extra.extend(records)

    def counters(self) -> dict[str, Any]:
        """Vendor-specific observations for the stats endpoint (e.g. chains followed)."""
        return {}

    def is_data_request(self, request: Request) -> bool:
        """Whether faults apply to this request (token endpoints are exempt by default)."""
        return True

    def handle(self, request: Request) -> Response:
        """Answer a request."""
        raise NotImplementedError


@dataclass
class VendorStats:
    """What the sandbox saw of one vendor's clients."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    recent: list[float] = field(default_factory=list)
    max_per_second: int = 0
    #: When the first and the last request arrived (monotonic seconds; 0: none yet).
    first_at: float = 0.0
    last_at: float = 0.0
    paths: Counter[str] = field(default_factory=Counter)
    faults_served: Counter[str] = field(default_factory=Counter)

    def record(self, path: str, status: int, arrived: float | None = None) -> None:
        """One request, counted at its arrival (before any latency the sandbox adds: a
        vendor's rate limit counts requests as they come in)."""
        now = time.monotonic() if arrived is None else arrived
        self.requests += 1
        self.first_at = min(self.first_at, now) if self.first_at else now
        self.last_at = max(self.last_at, now)
        self.statuses[status] += 1
        self.paths[path] += 1
        # Arrivals are recorded once answered, so not quite in order: kept sorted.
        recent = self.recent
        bisect.insort(recent, now)
        while recent and recent[0] <= self.last_at - 2.0:
            recent.pop(0)
        # The busiest one-second span holding this arrival starts at one of the arrivals
        # in the second before it.
        for first in range(bisect.bisect_right(recent, now - 1.0), bisect.bisect_right(recent, now)):
            in_span = bisect.bisect_left(recent, recent[first] + 1.0) - first
            self.max_per_second = max(self.max_per_second, in_span)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "max_per_second": self.max_per_second,
            "span_seconds": self.last_at - self.first_at,
            "paths": dict(self.paths),
            "faults_served": dict(self.faults_served),
        }


def fault_name(fault: Mapping[str, Any]) -> str:
    """A served fault as the stats count it: where it was aimed, and what it did."""
    kinds = [str(fault["status"])] if fault.get("status") is not None else []
    kinds += [kind for kind in ("drop_after_bytes", "malformed", "delay", "nest") if fault.get(kind)]
    if fault.get("drop") and not fault.get("drop_after_bytes"):
        kinds.append("drop")
    return f"{fault.get('method') or '*'} {fault.get('path') or '*'} {'+'.join(kinds) or 'none'}"


class Sandbox:
    """All vendor APIs, their queued faults and their statistics."""

    def __init__(self, vendors: dict[str, VendorAPI]) -> None:
        self.vendors = vendors
        self.lock = threading.Lock()
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.stats: dict[str, VendorStats] = {}
        self.latency: dict[str, float] = {}
        #: Bumped by every reset: a request still waiting out a delay from before it is
        #: dropped unanswered and uncounted, so it cannot leak into the next test's stats.
        self.generation = 0

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.faults.clear()
            self.stats.clear()
            self.latency.clear()
            for vendor in self.vendors.values():
                vendor.reset()

    def next_fault(self, vendor: str, request: Request, *, exempt: bool = False) -> dict[str, Any] | None:
        """The first due fault for this request; every queued fault's ``after`` counts down.

        An ``exempt`` request (an endpoint the vendor keeps out of data faults) takes only
        faults aimed at exactly its path.
        """
        with self.lock:
            queue = self.faults.get(vendor) or []
            chosen = None
            for fault in queue:
                path = fault.get("path")
                if exempt and (not path or path.rstrip("/") != request.path.rstrip("/")):
                    continue
                if path and not request.path.startswith(path):
                    continue
                if fault.get("method") and str(fault["method"]).upper() != request.method:
                    continue
                if int(fault.get("after", 0)) > 0:
                    fault["after"] = int(fault["after"]) - 1
                elif chosen is None:
                    chosen = fault
            if chosen is not None:
                chosen["repeat"] = int(chosen.get("repeat", 1)) - 1
                if chosen["repeat"] <= 0:
                    queue.remove(chosen)
            return chosen

    def admin(self, request: Request) -> Response:
        action = request.path.strip("/")
        payload = request.json() or {}
        vendor_name = str(payload.get("vendor") or "")
        vendor = self.vendors.get(vendor_name)
        if action == "health":
            return json_response(200, {"ok": True})
        if action == "reset":
            self.reset()
            return json_response(200, {"ok": True})
        if action == "stats":
            with self.lock:
                stats = {name: {**VendorStats().as_dict(), "vendor": api.counters()}
                         for name, api in self.vendors.items()}
                for name, vendor_stats in self.stats.items():
                    stats[name].update(vendor_stats.as_dict())
                return json_response(200, stats)
        if vendor is None:
            return json_response(400, {"error": f"unknown vendor {vendor_name!r}"})
        if action == "configure":
            with self.lock:
                if "latency" in payload:
                    self.latency[vendor_name] = float(payload["latency"])
                try:
                    vendor.configure(payload)
                except ValueError as exc:
                    return json_response(400, {"error": str(exc)})
            return json_response(200, {"ok": True})
        if action == "faults":
            with self.lock:
                self.faults.setdefault(vendor_name, []).extend(payload.get("faults", []))
            return json_response(200, {"ok": True})
        if action == "records":
            with self.lock:
                vendor.add_records(payload.get("records", []))
            return json_response(200, {"ok": True})
        return json_response(404, {"error": f"unknown admin action {action!r}"})


def fault_response(fault: dict[str, Any]) -> Response | None:
    """The response a fault replaces the real one with (``None``: answer normally)."""
    status = fault.get("status")
    if status is None:
        return None
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if "retry_after" in fault:
        headers["Retry-After"] = str(fault["retry_after"])
    if "retry_after_http_date_in" in fault:
        headers["Retry-After"] = formatdate(time.time() + fault["retry_after_http_date_in"], usegmt=True)
    if "retry_after_iso_in" in fault:
        moment = datetime.now(timezone.utc) + timedelta(seconds=fault["retry_after_iso_in"])
        headers["Retry-After"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    headers.update(fault.get("headers") or {})
    if "raw" in fault:  # bytes as given (latin-1 text in the admin JSON): not JSON, not UTF-8...
        return Response(int(status), raw=str(fault["raw"]).encode("latin-1"), headers=headers)
    return Response(int(status), fault.get("body", {"error": "injected fault"}), headers)


@functools.lru_cache(maxsize=2)
def gzip_bomb(size: int) -> bytes:
    """A gzip body of ``size`` zero bytes (about a thousandth of that compressed)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(size >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


def _first_half(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A streamed body cut to half its first non-empty chunk, then ended cleanly."""
    for chunk in chunks:
        if chunk:
            yield chunk[: max(1, len(chunk) // 2)]
            return


def make_handler(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``sandbox``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffered writes and no Nagle delay: headers and body leave together, at once.
        wbufsize = 1 << 16

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read statistics, not access logs."""

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            segments = parts.path.lstrip("/").split("/", 1)
            prefix, rest = segments[0], "/" + (segments[1] if len(segments) > 1 else "")
            request = Request(
                method=self.command,
                path=rest,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            if prefix == "_sandbox":
                self._send(sandbox.admin(request))
                return
            vendor = sandbox.vendors.get(prefix)
            if vendor is None:
                self._send(json_response(404, {"error": "no such vendor"}))
                return
            generation = sandbox.generation
            arrived = time.monotonic()
            delay = sandbox.latency.get(prefix, 0.0)
            fault = sandbox.next_fault(prefix, request, exempt=not vendor.is_data_request(request))
            if fault and fault.get("delay"):
                delay += float(fault["delay"])
            if delay:
                time.sleep(delay)
                if sandbox.generation != generation:
                    self._cut()
                    return
            with sandbox.lock:
                stats = sandbox.stats.setdefault(prefix, VendorStats())
                if fault:
                    stats.faults_served[fault_name(fault)] += 1
            cut_after = None if fault is None else fault.get("drop_after_bytes")
            if fault and fault.get("drop") and cut_after is None:
                with sandbox.lock:
                    stats.record(request.path, 0, arrived)
                self._cut()
                return
            response = (fault_response(fault) if fault else None) or vendor.handle(request)
            with sandbox.lock:
                stats.record(request.path, response.status, arrived)
            if fault and fault.get("gzip_bomb"):
                response = Response(200, raw=gzip_bomb(int(fault["gzip_bomb"])),
                                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
            if fault and fault.get("trickle"):
                self._send_trickle(response, float(fault["trickle"]))
                return
            if fault and fault.get("nest") and response.chunks is None:
                depth = int(fault["nest"])
                payload = response.encode()
                if payload[:1] == b"{":
                    deep = b'{"deep":' + b"[" * depth + b"]" * depth + (b"," if payload[1:2] != b"}" else b"")
                    response = Response(response.status, raw=deep + payload[1:], headers=response.headers)
            if fault and fault.get("malformed"):
                if response.chunks is not None:
                    response.chunks = _first_half(response.chunks)
                else:
                    payload = response.encode()
                    response = Response(response.status, raw=payload[: max(1, len(payload) // 2)],
                                        headers=response.headers)
            self._send(response, None if cut_after is None else int(cut_after))

        def _send_trickle(self, response: Response, interval: float) -> None:
            """The body one byte every ``interval`` seconds, until the client gives up."""
            payload = response.encode()
            self._send_headers(response)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                for index in range(len(payload)):
                    self.wfile.write(payload[index:index + 1])
                    self.wfile.flush()
                    time.sleep(interval)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _cut(self) -> None:
            """Close the connection at once, whatever was sent so far."""
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

        def _send_headers(self, response: Response) -> None:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if "Content-Type" not in response.headers:
                self.send_header("Content-Type", "application/json")

        def _send(self, response: Response, cut_after: int | None = None) -> None:
            if response.chunks is not None:
                self._send_chunked(response, response.chunks, cut_after)
                return
            payload = response.encode()
            self._send_headers(response)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if cut_after is not None and cut_after < len(payload):
                self.wfile.write(payload[:cut_after])
                self._cut()
                return
            self.wfile.write(payload)

        def _send_chunked(self, response: Response, chunks: Iterable[bytes], cut_after: int | None) -> None:
            """Send a streamed body as HTTP/1.1 chunks, one per item (vendors yield large ones)."""
            self._send_headers(response)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            sent = 0
            iterator = iter(chunks)
            try:
                for chunk in iterator:
                    if not chunk:
                        continue
                    if cut_after is not None and sent + len(chunk) > cut_after:
                        # The chunk header promises the whole chunk; the connection ends first.
                        self.wfile.write(b"%x\r\n" % len(chunk) + chunk[: cut_after - sent])
                        self._cut()
                        return
                    self.wfile.write(b"%x\r\n" % len(chunk))
                    self.wfile.write(chunk)
                    self.wfile.write(b"\r\n")
                    sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away mid-body
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()

        do_GET = do_POST = do_DELETE = do_PUT = _dispatch

    return Handler


class SandboxHTTPServer(ThreadingHTTPServer):
    """Threaded server; daemon threads so a stuck client never blocks shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def build_server(
    host: str, port: int, vendor_factories: Mapping[str, Callable[[], VendorAPI]]
) -> tuple[SandboxHTTPServer, Sandbox]:
    """Create (but do not start) a sandbox server."""
    sandbox = Sandbox({name: factory() for name, factory in vendor_factories.items()})
    return SandboxHTTPServer((host, port), make_handler(sandbox)), sandbox
