"""The base stream every vendor stream builds on.

It owns everything that is the same for all vendors, so a vendor stream only declares
its API: path, keys, paging, query parameters and record conversion.

- **Windows and bookmarks.** A run covers ``[bookmark - lookback, now - latency)`` in
  windows; records outside the current window are dropped (so overlapping vendor
  filters never emit a record twice in a run), and the bookmark moves to a window's end
  once all of its records are written, followed by a STATE message.
- **Retries.** 429, 5xx, timeouts, dropped connections and malformed bodies are retried
  with exponential backoff and jitter, honouring ``Retry-After``; past the budget the run
  stops with one clear :class:`VendorAPIError`.
- **Auth and rate.** One authenticator and one rate limiter per vendor configuration,
  shared by that vendor's streams; a 401 renews a renewable token once, else is fatal.
- **Redaction.** Error messages never carry a URL query string or a secret.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import SinglePagePaginator

from tap_callrecords.core.convert import UTC, parse_iso_datetime, to_utc_iso
from tap_callrecords.core.errors import TokenRejected, VendorAPIError, VendorAuthError
from tap_callrecords.core.http import VendorHTTPSession
from tap_callrecords.core.output import DirectRecordWriter
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.redact import redact
from tap_callrecords.core.retry import RetryPolicy, describe_failure, retrying
from tap_callrecords.core.state import advance_bookmark, read_bookmark
from tap_callrecords.core.windows import Window, iter_windows, sync_range

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context

_JSON = msgspec.json.Decoder()


@dataclass
class VendorSession:
    """What all streams of one vendor configuration share."""

    authenticator: requests.auth.AuthBase
    rate_limiter: RequestRateLimiter
    retry_policy: RetryPolicy


def parsed_body(response: requests.Response) -> t.Any:
    """The decoded JSON body, parsed once while the response was validated."""
    return response.__dict__["parsed_body"]


class CallRecordsStream(RESTStream[t.Any]):
    """A windowed, incrementally replicated call-records endpoint."""

    #: Key of the vendor's settings object, e.g. ``"voiso"``.
    vendor: t.ClassVar[str]
    #: Vendor name for messages, e.g. ``"Voiso"``.
    vendor_label: t.ClassVar[str]
    #: Settings that hold the vendor credentials, named in authentication errors.
    credential_settings: t.ClassVar[tuple[str, ...]] = ()
    #: How long after a call the vendor's data is complete; the default end of a run.
    data_latency: t.ClassVar[timedelta] = timedelta(minutes=5)
    #: Length of one window.
    window_step: t.ClassVar[timedelta] = timedelta(days=1)
    #: Where window boundaries fall, e.g. ``staticmethod(floor_to_day)``, so a resumed run
    #: asks for the same ranges a fresh one would; ``None``: counted from the run's start.
    window_align: t.ClassVar[staticmethod[[datetime], datetime] | None] = None
    #: Key of the record list in a response body.
    records_key: t.ClassVar[str]

    is_sorted = False
    # Records leave ``convert_record`` already typed to the schema (tests check every
    # emitted record against it), so the SDK's recursive conformance pass is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    current_window: Window | None = None
    _direct_writer: DirectRecordWriter | None = None
    _extracted_at: str = ""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._requests_session = VendorHTTPSession()

    # -- Configuration -------------------------------------------------------------

    @property
    def vendor_config(self) -> t.Mapping[str, t.Any]:
        """This vendor's settings object."""
        return t.cast("t.Mapping[str, t.Any]", self.config[self.vendor])

    @property
    def url_base(self) -> str:
        """The vendor API root; every vendor URL is a setting so it can be redirected."""
        return str(self.vendor_config["api_url"]).rstrip("/")

    @property
    def session(self) -> VendorSession:
        """The authenticator, rate limiter and retry policy of this vendor config."""
        return self._tap.vendor_session(self)  # type: ignore[attr-defined,no-any-return]

    @property
    def authenticator(self) -> requests.auth.AuthBase:  # type: ignore[override]
        """The single authenticator of this vendor configuration."""
        return self.session.authenticator

    @classmethod
    def build_authenticator(
        cls, vendor_config: t.Mapping[str, t.Any], *, policy: RetryPolicy, timeout: float
    ) -> requests.auth.AuthBase:
        """Create the vendor's authenticator; called once per vendor configuration.

        Token-based vendors pass ``policy`` and ``timeout`` to a
        :class:`~tap_callrecords.core.auth.RenewableTokenAuth`.
        """
        raise NotImplementedError

    @property
    def timeout(self) -> float:  # type: ignore[override]
        """Seconds to wait for a response before retrying."""
        return float(self.config.get("request_timeout_seconds", 60))

    # -- Requests and retries -------------------------------------------------------

    def request_decorator(self, func: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
        """Retry transient failures; past the budget, raise one clear error."""
        return retrying(func, policy=self.session.retry_policy, vendor=self.vendor_label,
                        what=self.path or "", on_backoff=self.backoff_handler)

    def backoff_handler(self, details: Details) -> None:
        """Log each retry without the request URL (it can carry credentials)."""
        exc = details.get("exception")
        self.logger.warning(
            "%s: %s; retrying %s in %.1f s (attempt %d of %d)",
            self.vendor_label,
            describe_failure(exc) if exc else "request failed",
            self.path,
            details.get("wait", 0.0),
            details.get("tries", 0),
            self.session.retry_policy.max_tries,
        )

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        self.session.rate_limiter.wait()
        return super()._request(prepared_request, context)

    def validate_response(self, response: requests.Response) -> None:
        """Sort a response into success, retriable, renewable-auth and fatal."""
        status = response.status_code
        if status == HTTPStatus.UNAUTHORIZED:
            invalidate = getattr(self.authenticator, "invalidate", None)
            if invalidate is not None and invalidate():
                raise TokenRejected(self.response_error_message(response), response)
            settings = ", ".join(f"{self.vendor}.{name}" for name in self.credential_settings)
            raise VendorAuthError(
                f"{self.vendor_label} rejected the credentials (HTTP 401); check {settings}."
            )
        if status in self.extra_retry_statuses or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status >= HTTPStatus.BAD_REQUEST:
            self.raise_for_client_error(response)
        try:
            response.__dict__["parsed_body"] = _JSON.decode(response.content)
        except msgspec.DecodeError:
            raise RetriableAPIError(
                f"{self.vendor_label}: malformed JSON body from {self.path} "
                f"(HTTP {status}, {len(response.content)} bytes)",
                response,
            ) from None

    def raise_for_client_error(self, response: requests.Response) -> None:
        """A 4xx other than 401 and 429: fatal unless a vendor stream knows better."""
        raise VendorAPIError(self.response_error_message(response))

    def response_error_message(self, response: requests.Response) -> str:
        """Status, path and a short redacted body; never the query string."""
        body = redact(response.text[:300]) if response.content else ""
        return redact(
            f"{self.vendor_label}: HTTP {response.status_code} {response.reason} "
            f"from {self.path}" + (f": {body}" if body else "")
        )

    # -- Records --------------------------------------------------------------------

    def request_records(self, context: Context | None) -> Iterable[dict]:
        """Page through the current window, fetching the next page while this one is emitted.

        The next request depends only on the current response (its token or count), so
        it is sent as soon as that response is parsed; the vendor's latency then overlaps
        the tap's own work. The paginator and retries are the same as the SDK's loop.
        """
        paginator = self.get_new_paginator() or SinglePagePaginator()
        fetch = self.request_decorator(self._request)
        with (
            self.get_http_request_counter() as request_counter,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name) as prefetcher,
        ):
            request_counter.with_context(context)
            pending: Future[requests.Response] | None = prefetcher.submit(
                fetch, self._prepare_request(context=context, page=paginator), context
            )
            while pending is not None:
                response = pending.result()
                request_counter.increment()
                records = list(self.parse_response(response))
                pending = None
                if records or paginator.continue_if_empty(response):
                    paginator.advance(response)
                    if not paginator.finished:
                        pending = prefetcher.submit(
                            fetch, self._prepare_request(context=context, page=paginator), context
                        )
                yield from records

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The records of one page."""
        self._extracted_at = to_utc_iso(datetime.now(UTC))
        body = parsed_body(response)
        return (body.get(self.records_key) or []) if isinstance(body, dict) else []

    def convert_record(self, record: dict) -> dict:
        """Vendor hook: type the raw record to the schema, replication key in UTC."""
        return record

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Convert a record and keep it only if it belongs to the current window."""
        record = self.convert_record(row)
        window = self.current_window
        key = record.get(t.cast("str", self.replication_key))
        if window is None or key is None:
            return record
        if self._window_bounds[0] <= key < self._window_bounds[1]:
            return record
        return None

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> t.Generator[dict, t.Any, t.Any]:
        """The SDK's record loop, minus its per-record steps when they would change nothing.

        With no stream maps, flattening, deselected properties, partitions or child
        streams (see :class:`DirectRecordWriter`), records are written directly; this is
        most of the tap's speed. Any other configuration runs the SDK's own loop.
        """
        writer = (
            DirectRecordWriter.for_stream(self)
            if write_messages and context is None and not self.child_streams and not self.partitions
            else None
        )
        if writer is None:
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        self._direct_writer = writer
        record_counter = self.get_record_counter()
        with record_counter, self.get_sync_timer():
            self._write_starting_replication_value(None)
            check_limit = self.ABORT_AT_RECORD_COUNT is not None
            for index, row in enumerate(self.get_records(None)):
                if check_limit:
                    self._check_max_record_limit(current_record_index=index)
                record = self.post_process(row, None)
                if record is None:
                    continue
                writer.write(record, self._extracted_at)
                record_counter.increment()
                yield record
        self._finalize_state(self.stream_state)
        self._write_state_message()

    # -- Windows and state -------------------------------------------------------------

    def run_range(self) -> Window:
        """The range this run covers, from settings and the stored bookmark."""
        config = self.config
        end_date = config.get("end_date")
        return sync_range(
            start_date=parse_iso_datetime(config["start_date"]),
            end_date=parse_iso_datetime(end_date) if end_date else None,
            now=datetime.now(UTC),
            latency=self.data_latency,
            bookmark=read_bookmark(self.stream_state, t.cast("str", self.replication_key)),
            lookback=timedelta(minutes=int(config.get("lookback_minutes", 180))),
        )

    def windows(self, run: Window) -> Iterable[Window]:
        """The windows of a run; vendors with range limits may shorten ``window_step``."""
        return iter_windows(run.start, run.end, self.window_step, self.window_align)

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Request window after window, checkpointing the bookmark after each."""
        run = self.run_range()
        self.logger.info(
            "%s: syncing %s from %s to %s", self.vendor_label, self.name, run.start, run.end
        )
        try:
            for window in self.windows(run):
                self.current_window = window
                self._window_bounds = (to_utc_iso(window.start), to_utc_iso(window.end))
                yield from self.request_records(context)
                self.complete_window(window)
        finally:
            self.current_window = None
            self._flush_records()

    def complete_window(self, window: Window) -> None:
        """All records of ``window`` are written: move the bookmark and emit STATE."""
        if advance_bookmark(self.stream_state, t.cast("str", self.replication_key), window.end):
            self.state_manager.is_flushed = False
            self._write_state_message()

    def _write_state_message(self) -> None:
        """Records buffered by the direct writer always precede the STATE that covers them."""
        self._flush_records()
        super()._write_state_message()

    def _abort_sync(self, abort_reason: Exception) -> None:
        """An aborted run (record limit, SIGTERM) always ends with its last bookmark."""
        self.state_manager.is_flushed = False
        super()._abort_sync(abort_reason)

    def _flush_records(self) -> None:
        if self._direct_writer is not None:
            self._direct_writer.flush()

    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """Bookmarks move per window (``complete_window``), never per record.

        The SDK's per-record progress markers are not resumable for unsorted streams and
        can move a bookmark backwards; windows give both guarantees instead.
        """

