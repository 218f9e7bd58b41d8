"""One client per vendor configuration: session, authentication, rate cap, retries, replies.

In the spirit of dlt's ``RESTClient``: everything a request to one vendor account needs
lives in one object, built once by the tap from the vendor's settings and handed to
that vendor's streams (and fetchers). Nothing reaches back into the tap.

A reply is sorted once, here, into four kinds:

- **success**: 2xx (and 3xx when the caller asks for redirects); a JSON body is decoded
  once and kept on the response (:func:`parsed_body`);
- **retriable**: 429, 5xx, timeouts, dropped connections, a malformed JSON body, or
  whatever the vendor's :class:`ErrorDialect` calls retriable. Retried with backoff and
  ``Retry-After`` (:mod:`~tap_callrecords.core.retry`); past the budget, one clear error;
- **renewable auth**: a 401 for a token that can be renewed: renewed once, retried at once;
- **fatal**: anything else, as one clear :class:`~tap_callrecords.core.errors.VendorAPIError`
  naming the vendor and the path, never the query string or a secret.
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass
from http import HTTPStatus

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.errors import TokenRejected, VendorAPIError, VendorAuthError
from tap_callrecords.core.http import BodyTooLarge, VendorHTTPSession, read_body
from tap_callrecords.core.ratelimit import RequestRateLimiter
from tap_callrecords.core.redact import redact
from tap_callrecords.core.retry import RetryPolicy, describe_failure, retrying

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from backoff.types import Details

_JSON = msgspec.json.Decoder()
#: Says what is wrong with a decoded reply body, or ``None`` when it has the expected shape.
BodyCheck = t.Callable[[t.Any], "str | None"]
_PARSED = "parsed_body"


def parsed_body(response: requests.Response) -> t.Any:
    """The decoded JSON body, parsed once while the reply was classified."""
    return response.__dict__.get(_PARSED)


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
        self.session = VendorHTTPSession()
        self._senders: dict[str, t.Callable[..., requests.Response]] = {}
        self.requests_sent = 0
        self.retries = 0

    # -- Sending ------------------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for a path below the API root (absolute URLs pass through)."""
        return path if "://" in path else f"{self.base_url}{path}"

    def get_json(
        self, path: str, params: Mapping[str, t.Any] | None = None, *, check: BodyCheck | None = None
    ) -> requests.Response:
        """``GET`` a JSON resource; the decoded body is :func:`parsed_body` of the reply.

        ``check`` names what is wrong with a decoded body of the wrong shape (``None``:
        nothing); such a reply is retried like a malformed one, never trusted.
        """
        return self.send("GET", path, params=params, check=check)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
        authenticated: bool = True,
        redirects: bool = False,
        decode: bool = True,
        stream: bool = False,
        passthrough: tuple[int, ...] = (),
        retry: bool = True,
        check: BodyCheck | None = None,
        what: str | None = None,
    ) -> requests.Response:
        """Send one request with retries; return the classified reply.

        ``redirects``: a 3xx is a success to hand back (not followed). ``decode``: the
        body must be JSON. ``stream``: the body is left unread for the caller to stream.
        ``authenticated=False`` sends no credentials (a pre-signed URL rejects them).
        ``passthrough``: statuses handed back unclassified and unretried, for a caller
        that gives them a meaning of its own (a 429 that means "job quota full").
        ``retry=False``: one attempt only (clean-up on the way out must not linger).
        """
        request = requests.Request(
            method, self.url(path), params=params, json=json,
            auth=self.auth if authenticated else None,
        )
        label = what or path.split("?", 1)[0]
        send = self._retrying(label) if retry else self._send_once
        return send(request, label, redirects=redirects, decode=decode, stream=stream,
                    passthrough=passthrough, check=check)

    def _retrying(self, label: str) -> t.Callable[..., requests.Response]:
        """``_send_once`` under the retry policy, built once per path (not per request)."""
        send = self._senders.get(label)
        if send is None:
            send = self._senders[label] = retrying(
                self._send_once, policy=self.retry_policy, vendor=self.label, what=label,
                on_backoff=self._on_backoff(label),
            )
        return send

    def _send_once(
        self,
        request: requests.Request,
        label: str,
        *,
        redirects: bool,
        decode: bool,
        stream: bool,
        passthrough: tuple[int, ...],
        check: BodyCheck | None,
    ) -> requests.Response:
        self.rate_limiter.wait()
        prepared = self.session.prepare_request(request)
        self.requests_sent += 1
        deadline = time.monotonic() + self.timeout
        response = self.session.send(prepared, timeout=self.timeout, allow_redirects=False, stream=True)
        if not stream or response.status_code >= HTTPStatus.BAD_REQUEST:
            try:
                read_body(response, deadline=deadline)
            except BodyTooLarge as exc:
                raise VendorAPIError(f"{self.label}: {exc} ({label}); stopped rather than run out of "
                                     "memory.") from None
        if response.status_code in passthrough:
            return response
        try:
            self.classify(response, label, redirects=redirects, decode=decode and not stream, check=check)
        except BaseException:
            response.close()
            raise
        return response

    def _on_backoff(self, label: str) -> t.Callable[[Details], None]:
        def log_retry(details: Details) -> None:
            """Each retry, without the request URL (it can carry credentials)."""
            self.retries += 1
            exc = details.get("exception")
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

    # -- Classifying replies ----------------------------------------------------------

    def classify(
        self,
        response: requests.Response,
        label: str,
        *,
        redirects: bool,
        decode: bool,
        check: BodyCheck | None = None,
    ) -> None:
        """Sort a reply into success, retriable, renewable-auth and fatal (see module doc)."""
        status = response.status_code
        if status == HTTPStatus.UNAUTHORIZED and self.auth is not None:
            invalidate = getattr(self.auth, "invalidate", None)
            if invalidate is not None and invalidate():
                raise TokenRejected(self.error_message(response, label, named=False), response)
            raise VendorAuthError(
                f"{self.label} rejected the credentials (HTTP 401); check "
                f"{', '.join(self.credential_settings)}."
            )
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.error_message(response, label, named=False), response)
        if status >= HTTPStatus.BAD_REQUEST:
            raise self.dialect.client_error(self, response) or VendorAPIError(
                self.error_message(response, label)
            )
        if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
            if redirects:
                return
            raise VendorAPIError(self.error_message(response, label))
        if not decode:
            return
        try:
            body = _JSON.decode(response.content)
        except msgspec.DecodeError:
            raise RetriableAPIError(
                f"malformed JSON body from {label} "
                f"(HTTP {status}, {len(response.content)} bytes)",
                response,
            ) from None
        response.__dict__[_PARSED] = body
        error = self.dialect.body_error(self, response, body)
        if error is not None:
            raise error
        problem = check(body) if check is not None else None
        if problem:
            raise RetriableAPIError(f"a reply of the wrong shape from {label}: {problem}", response)

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

