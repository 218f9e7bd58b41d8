"""One client per vendor configuration: session, authentication, rate cap, retries, replies.

In the spirit of dlt's ``RESTClient``: everything a request to one vendor account needs
lives in one object, built once by the tap from the vendor's settings and handed to
that vendor's streams (and fetchers). Nothing reaches back into the tap.

Each call says what it is for and hands back a value of its own, never a response with
something attached to it:

- :meth:`~VendorClient.get_page`: one page of a list endpoint, a :class:`Page` (its
  ``records``, its decoded ``body`` for the paginator, its ``response``);
- :meth:`~VendorClient.post_json`: a request with a JSON body (a job), a :class:`JSONReply`;
- :meth:`~VendorClient.get_json_or_redirect`: a resource that answers JSON, or a redirect
  once it is ready (a report file), a :class:`JSONReply` or a :class:`Redirect`;
- :meth:`~VendorClient.stream_file`: a file at an absolute URL (pre-signed: no
  credentials), its body left on the connection, a :class:`FileStream`;
- :meth:`~VendorClient.delete`.

A caller that gives a status a meaning of its own (a 429 that means "job quota full", a
403 from an expired pre-signed URL, a 404 for a file already deleted) names it among the
call's ``refusals``: that reply comes back as a :class:`Refused`, neither retried nor
raised. Every other reply is sorted once, here, into four kinds:

- **success**: 2xx (and 3xx for the call that takes a redirect for an answer); a JSON
  body is decoded once, and its shape checked where the call knows it (a page's record
  list) before anything in it is trusted;
- **retriable**: 429, 5xx, timeouts, dropped connections, a malformed JSON body, a body
  of the wrong shape, or whatever the vendor's :class:`ErrorDialect` calls retriable.
  Retried with backoff and ``Retry-After`` (:mod:`~tap_callrecords.core.retry`); past
  the budget, one clear error;
- **renewable auth**: a 401 for a token that can be renewed: renewed once, retried at once;
- **fatal**: anything else, as one clear :class:`~tap_callrecords.core.errors.VendorAPIError`
  naming the vendor and the path, never the query string or a secret.
"""

from __future__ import annotations

import logging
import sys
import time
import typing as t
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.errors import CreationUnconfirmed, TokenRejected, VendorAPIError, VendorAuthError
from tap_callrecords.core.http import BodyTooLarge, VendorHTTPSession, read_body
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.redact import redact
from tap_callrecords.core.retry import RetryPolicy, describe_failure, retrying

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping

    from backoff.types import Details

_JSON = msgspec.json.Decoder()
#: Redirects an object store may answer a file download with; each is followed with a GET.
FOLLOWED_REDIRECTS = frozenset((301, 302, 303, 307, 308))
#: Redirects followed for one file before it is taken for a loop.
MAX_FILE_REDIRECTS = 5
_ReplyT = t.TypeVar("_ReplyT", bound="Reply")


# -- What a call hands back -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply the client has classified; the call that asked says which kind it is."""

    response: requests.Response


@dataclass(frozen=True, slots=True)
class JSONReply(Reply):
    """A 2xx reply and its JSON body, decoded once."""

    body: t.Any


@dataclass(frozen=True, slots=True)
class Page(JSONReply):
    """One page of a list endpoint, like dlt's ``PageData``.

    ``records`` is the body's record list, checked to be a list of objects (an absent
    list, where the reply's count allowed it, is ``[]``); the paginator reads what leads
    on (a token, a count) from ``body``.
    """

    records: list[dict[str, t.Any]]


@dataclass(frozen=True, slots=True)
class Redirect(Reply):
    """A 3xx taken as an answer; ``location`` made absolute, ``None`` without a ``Location``."""

    location: str | None


@dataclass(frozen=True, slots=True)
class FileStream(Reply):
    """A 2xx reply whose body is still on the connection: read its chunks, then close it."""

    def chunks(self, size: int) -> Iterator[bytes]:
        """The body as it arrives, ``size`` bytes at a time (decompressed)."""
        return self.response.iter_content(size)

    @property
    def length_checked(self) -> bool:
        """Whether the HTTP layer checks the body against its ``Content-Length``, so that a
        body cut short is an error there (a chunked one's end is the reader's to check)."""
        return "Content-Length" in self.response.headers

    def close(self) -> None:
        """Let go of the connection, whether or not the body was read to its end."""
        self.response.close()

    def __enter__(self) -> FileStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Refused(Reply):
    """A reply with one of the statuses the caller named as the call's ``refusals``."""


# -- The client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSettings:
    """The settings every vendor client shares (their defaults live in the settings schema)."""

    timeout: float
    retry_policy: RetryPolicy

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> RequestSettings:
        """Read from the tap config, whose defaults the SDK has filled in."""
        return cls(
            timeout=float(config["request_timeout_seconds"]),
            retry_policy=RetryPolicy(
                max_tries=int(config["max_retries"]),
                initial_wait=float(config["retry_initial_wait_seconds"]),
                max_retry_after=float(config["max_retry_after_seconds"]),
            ),
        )


class ErrorDialect:
    """How a vendor says "error" beyond status codes; vendors override what they need.

    Each hook returns an exception to raise (a ``RetriableAPIError`` to retry, any
    :class:`VendorAPIError` to stop) or ``None`` to keep the default classification.
    """

    def client_error(self, client: VendorClient, response: requests.Response) -> Exception | None:
        """A 4xx other than 401 and 429 (default: fatal)."""
        return None

    def body_error(self, client: VendorClient, response: requests.Response, body: t.Any) -> Exception | None:
        """A 2xx JSON body that is really an error (default: none is)."""
        return None


class VendorClient:
    """Sends requests to one vendor account and classifies its replies."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        settings: RequestSettings,
        logger: logging.Logger,
        auth: requests.auth.AuthBase | None = None,
        rate_limiter: RequestRateLimiter | None = None,
        dialect: ErrorDialect | None = None,
        credential_settings: tuple[str, ...] = (),
        credential_hint: str = "",
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.timeout = settings.timeout
        self.retry_policy = settings.retry_policy
        self.logger = logger
        self.auth = auth
        self.rate_limiter = rate_limiter or RequestRateLimiter(None)
        self.dialect = dialect or ErrorDialect()
        #: Settings named when the vendor rejects the credentials (e.g. ``<vendor>.api_key``).
        self.credential_settings = credential_settings
        #: What kind of credential the API takes and where it is made, said after a 401
        #: (an API that takes one of several kinds of key); empty: nothing more to say.
        self.credential_hint = credential_hint
        self.session = VendorHTTPSession()
        self._attempts_with_retries: dict[str, t.Callable[..., t.Any]] = {}
        self.requests_sent = 0
        self.retries = 0

    def credentials_accepted(self) -> bool:
        """Whether the vendor has accepted the credentials before any data request: a token
        issued for them (fetched now if need be) by an auth with nothing left to learn from
        a first reply. ``False`` for a key sent as is: only a reply tells whether it is good."""
        accepts = getattr(self.auth, "accepts_credentials", None)
        return bool(accepts is not None and accepts())

    def url(self, path: str) -> str:
        """An absolute URL for a path below the API root (absolute URLs pass through)."""
        return path if "://" in path else f"{self.base_url}{path}"

    # -- The calls ------------------------------------------------------------------------

    def get_page(
        self, path: str, params: Mapping[str, t.Any], *, records_key: str, count_key: str | None = None
    ) -> Page:
        """``GET`` one page of a list endpoint, its records under ``records_key``.

        A body that is not an object whose ``records_key`` holds a list of objects is a
        reply of the wrong shape (an absent list is allowed only where ``count_key`` says
        0): retried like a malformed one, then one clear error. It is never taken for an
        empty page, which would end the window and move the bookmark past calls never read.
        """
        label = _label(path)

        def page(response: requests.Response) -> Page:
            self._raise_unless_success(response, label)
            body = self._json_body(response, label)
            problem = _page_problem(body, records_key, count_key)
            if problem:
                raise RetriableAPIError(f"a reply of the wrong shape from {label}: {problem}", response)
            return Page(response, body, body.get(records_key) or [])

        return self._exchange(self._request("GET", path, params=params), label, page)

    def post_json(
        self, path: str, body: t.Any, *, what: str | None = None, refusals: Collection[int] = (),
        creates: bool = False,
    ) -> JSONReply | Refused:
        """``POST`` a JSON body; the reply's JSON body, or a :class:`Refused` for ``refusals``.

        ``creates``: the request creates something the account counts (a report job), so
        it is sent again only after a reply that shows nothing was done (a 429, a 503, a
        connection never made). A 2xx whose body cannot be read, a 500, 502 or 504, a
        timeout or a connection dropped once the request was out may follow a creation:
        :class:`~tap_callrecords.core.errors.CreationUnconfirmed`, never a blind retry.
        """
        label = _label(path, what)

        def reply(response: requests.Response) -> JSONReply | Refused:
            if response.status_code in refusals:
                return Refused(response)
            if creates and response.status_code in UNCONFIRMED_STATUSES:
                raise CreationUnconfirmed(self.error_message(response, label))
            self._raise_unless_success(response, label)
            if not creates:
                return JSONReply(response, self._json_body(response, label))
            try:
                return JSONReply(response, self._json_body(response, label))
            except RetriableAPIError as exc:
                raise CreationUnconfirmed(f"{self.label}: {exc}") from None

        request = self._request("POST", path, json=body)
        if not creates:
            return self._exchange(request, label, reply)
        attempt = self._attempt_with_retries(label, creating=True)
        return t.cast("JSONReply | Refused", attempt(request, label, reply, False))

    def get_json_or_redirect(self, path: str, *, what: str | None = None) -> JSONReply | Redirect:
        """``GET`` a resource that answers JSON, or a 3xx once what it stands for is ready.

        The redirect is handed back, not followed: where it leads (and with which
        credentials) is the caller's to say.
        """
        label = _label(path, what)

        def reply(response: requests.Response) -> JSONReply | Redirect:
            if HTTPStatus.MULTIPLE_CHOICES <= response.status_code < HTTPStatus.BAD_REQUEST:
                location = response.headers.get("Location")
                return Redirect(response, urljoin(response.url, location) if location else None)
            self._raise_unless_success(response, label)
            return JSONReply(response, self._json_body(response, label))

        return self._exchange(self._request("GET", path), label, reply)

    def stream_file(self, url: str, *, what: str, refusals: Collection[int] = ()) -> FileStream | Refused:
        """``GET`` a file at an absolute URL without the client's credentials, body unread.

        For a pre-signed object-store URL, which carries its own signature and rejects
        a request that also carries ``Authorization``. ``what`` names it in messages (the
        URL itself holds the signature). An object store may redirect (S3 answers a
        request sent to the wrong region with a 301 or 307): 301, 302, 303, 307 and 308
        are followed, still without credentials, at most :data:`MAX_FILE_REDIRECTS`
        times; more is a redirect loop, one clear error.
        """
        for _ in range(MAX_FILE_REDIRECTS + 1):
            reply = self._exchange(requests.Request("GET", url), what, self._file_reply(what, refusals),
                                   streamed=True)
            if not isinstance(reply, Redirect):
                return reply
            if reply.location is None:
                raise VendorAPIError(f"{self.label}: {what} redirected (HTTP {reply.response.status_code}) "
                                     "without a Location")
            url = reply.location
        raise VendorAPIError(f"{self.label}: {what} redirected more than {MAX_FILE_REDIRECTS} times "
                             "(a redirect loop); stopped.")

    def _file_reply(
        self, what: str, refusals: Collection[int]
    ) -> Callable[[requests.Response], FileStream | Refused | Redirect]:
        def file(response: requests.Response) -> FileStream | Refused | Redirect:
            if response.status_code in refusals:
                return Refused(response)
            if response.status_code in FOLLOWED_REDIRECTS:
                location = response.headers.get("Location")
                return Redirect(response, urljoin(response.url, location) if location else None)
            self._raise_unless_success(response, what)
            return FileStream(response)

        return file

    def delete(
        self, path: str, *, what: str | None = None, refusals: Collection[int] = (), retry: bool = True
    ) -> Reply | Refused:
        """``DELETE`` a resource; ``retry=False``: one attempt only (clean-up on the way out
        must not linger)."""
        label = _label(path, what)

        def reply(response: requests.Response) -> Reply | Refused:
            if response.status_code in refusals:
                return Refused(response)
            self._raise_unless_success(response, label)
            return Reply(response)

        return self._exchange(self._request("DELETE", path), label, reply, retry=retry)

    # -- Sending ----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: Mapping[str, t.Any] | None = None, json: t.Any = None
    ) -> requests.Request:
        """A request below the API root, with the client's credentials."""
        return requests.Request(method, self.url(path), params=params, json=json, auth=self.auth)

    def _exchange(
        self,
        request: requests.Request,
        label: str,
        read: Callable[[requests.Response], _ReplyT],
        *,
        streamed: bool = False,
        retry: bool = True,
    ) -> _ReplyT:
        """Send ``request`` (retried unless ``retry=False``) until ``read`` makes a reply of it.

        ``read`` classifies the reply and raises to retry or to stop; ``streamed``: a
        success's body is left on the connection for the caller.
        """
        attempt = self._attempt_with_retries(label) if retry else self._attempt
        return attempt(request, label, read, streamed)

    def _attempt_with_retries(self, label: str, *, creating: bool = False) -> t.Callable[..., t.Any]:
        """``_attempt`` under the retry policy, built once per label (not per request)."""
        attempt = self._attempts_with_retries.get(label)
        if attempt is None:
            attempt = self._attempts_with_retries[label] = retrying(
                self._creating_attempt if creating else self._attempt, policy=self.retry_policy,
                vendor=self.label, what=label, on_backoff=self._on_backoff(label),
            )
        return attempt

    def _creating_attempt(self, request: requests.Request, label: str, read: t.Any, streamed: bool) -> t.Any:
        """:meth:`_attempt` for a request that creates: a failure once the request may have
        reached the vendor (a timeout waiting for the reply, a connection dropped mid-reply)
        is :class:`CreationUnconfirmed`; only a connection never made is retried."""
        try:
            return self._attempt(request, label, read, streamed)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError):
            raise
        except (requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError) as exc:
            if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
                raise
            raise CreationUnconfirmed(f"{self.label}: {describe_failure(exc)} from {label}") from None

    def _attempt(
        self,
        request: requests.Request,
        label: str,
        read: Callable[[requests.Response], _ReplyT],
        streamed: bool,
    ) -> _ReplyT:
        """One request under the rate cap; its body read by the deadline, within the size limit."""
        prepared = self.session.prepare_request(request)
        self.rate_limiter.wait()  # as close to the send as it gets: the cap is on arrivals
        self.requests_sent += 1
        deadline = time.monotonic() + self.timeout
        response = self.session.send(prepared, timeout=self.timeout, allow_redirects=False, stream=True)
        if not streamed or response.status_code >= HTTPStatus.MULTIPLE_CHOICES:
            try:
                read_body(response, deadline=deadline)
            except BodyTooLarge as exc:
                raise VendorAPIError(f"{self.label}: {exc} ({label}); stopped rather than run out of "
                                     "memory.") from None
        try:
            return read(response)
        except BaseException:
            response.close()
            raise

    def _on_backoff(self, label: str) -> t.Callable[[Details], None]:
        def log_retry(details: Details) -> None:
            """Each retry, without the request URL (it can carry credentials)."""
            self.retries += 1
            exc = details.get("exception")
            response = getattr(exc, "response", None)
            if response is not None and (response.status_code == HTTPStatus.TOO_MANY_REQUESTS
                                         or "Retry-After" in response.headers):
                # The account's limit: every window in flight waits, not just this one.
                self.rate_limiter.pause(float(details.get("wait", 0.0)))
            self.logger.warning(
                "%s: %s; retrying %s in %.1f s (attempt %d of %d)",
                self.label,
                describe_failure(exc) if exc else "request failed",
                label,
                details.get("wait", 0.0),
                details.get("tries", 0),
                self.retry_policy.max_tries,
            )

        return log_retry

    # -- Classifying replies ------------------------------------------------------------------

    def _raise_unless_success(self, response: requests.Response, label: str) -> None:
        """Raise for anything but a 2xx: renewable auth, retriable or fatal (see the module doc)."""
        status = response.status_code
        if status < HTTPStatus.MULTIPLE_CHOICES:
            return
        if status == HTTPStatus.UNAUTHORIZED and self.auth is not None:
            invalidate = getattr(self.auth, "invalidate", None)
            if invalidate is not None and invalidate(response.request.headers.get("Authorization")):
                raise TokenRejected(self.error_message(response, label, named=False), response)
            hint = f" {self.credential_hint}" if self.credential_hint else ""
            raise VendorAuthError(
                f"{self.label} rejected the credentials (HTTP 401); check "
                f"{', '.join(self.credential_settings)}.{hint}"
            )
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.error_message(response, label, named=False), response)
        if status >= HTTPStatus.BAD_REQUEST:
            raise self.dialect.client_error(self, response) or VendorAPIError(
                self.error_message(response, label)
            )
        raise VendorAPIError(self.error_message(response, label))

    def _json_body(self, response: requests.Response, label: str) -> t.Any:
        """A success's body decoded: a malformed one is retried, and the vendor's dialect
        may read an error in a well-formed one."""
        try:
            body = _JSON.decode(response.content)
        except RecursionError:
            raise VendorAPIError(
                f"{self.label}: the reply from {label} nests deeper than the JSON parser allows "
                f"(about {sys.getrecursionlimit()} levels); no call record is shaped like that, so "
                "the run stops here. Report it to the vendor if it lasts."
            ) from None
        except msgspec.DecodeError:
            raise RetriableAPIError(
                f"malformed JSON body from {label} "
                f"(HTTP {response.status_code}, {len(response.content)} bytes)",
                response,
            ) from None
        error = self.dialect.body_error(self, response, body)
        if error is not None:
            raise error
        return body

    def error_message(self, response: requests.Response, label: str, *, named: bool = True) -> str:
        """Status, path and a short redacted body; never the query string.

        ``named``: prefixed with the vendor, for a message that ends the run; a retried
        failure is logged and wrapped by lines that name the vendor already.
        """
        body = redact(response.text[:300]) if response.content else ""
        return redact(
            (f"{self.label}: " if named else "")
            + f"HTTP {response.status_code} {response.reason} from {label}"
            + (f": {body}" if body else "")
        )


#: Replies to a creating request that may follow a creation (the server or a gateway
#: failed after the request arrived).
UNCONFIRMED_STATUSES = frozenset((500, 502, 504))


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether the connection failed before the request was sent (refused, no route)."""
    text = str(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "Failed to resolve" in text


def _label(path: str, what: str | None = None) -> str:
    """How a request is named in messages: ``what``, else its path without the query."""
    return what or path.split("?", 1)[0]


def _page_problem(body: t.Any, records_key: str, count_key: str | None) -> str | None:
    """What is wrong with a reply body, or ``None`` if it is a page of records."""
    if not isinstance(body, dict):
        return f"the reply is a JSON {type(body).__name__}, not an object"
    records = body.get(records_key)
    if records is None:
        if records_key not in body and count_key is not None and body.get(count_key) in (0, "0"):
            return None
        return f'its "{records_key}" list is ' + ("null" if records_key in body else "missing")
    if not isinstance(records, list):
        return f'its "{records_key}" is a {type(records).__name__}, not a list'
    if not all(type(record) is dict for record in records):
        return f'its "{records_key}" list holds items that are not objects'
    return None
