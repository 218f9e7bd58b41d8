"""Retry timing: exponential backoff with full jitter, and ``Retry-After`` honoured.

One policy object per tap run; every stream's request decorator draws its waits from
:meth:`RetryPolicy.waits`, which the ``backoff`` library drives by sending in each
exception it caught.
"""

from __future__ import annotations

import functools
import random
import time
import typing as t
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.convert import parse_iso_datetime
from tap_callrecords.core.errors import RateLimitExhausted, TokenRejected, VendorAPIError
from tap_callrecords.core.redact import redact

RETRIABLE_ERRORS: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

_T = t.TypeVar("_T")
#: A Retry-After beyond this (ten years) is read as this: it only has to be "too long".
MAX_RETRY_AFTER = 10 * 365 * 86_400.0


def describe_failure(exc: BaseException) -> str:
    """A short, secret-free description of a failed request."""
    if isinstance(exc, RetriableAPIError):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "the request timed out"
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionResetError):
        return "the connection failed or was dropped"
    return redact(f"{type(exc).__name__}: {exc}")


def retry_after_seconds(response: requests.Response | None, now: float | None = None) -> float | None:
    """Seconds the vendor asked us to wait, from ``Retry-After`` as seconds or as a date.

    Dates may be HTTP-dates (RFC 9110) or ISO 8601 (a vendor's daily limit). ``None`` when
    the header is absent or unreadable.
    """
    if response is None:
        return None
    header = response.headers.get("Retry-After")
    if not header:
        return None
    header = header.strip()
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(header)))
    except (ValueError, OverflowError):
        pass
    moment: datetime | None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        try:
            moment = parse_iso_datetime(header)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return min(MAX_RETRY_AFTER, max(0.0, moment.timestamp() - current))


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a request is retried."""

    max_tries: int = 8
    initial_wait: float = 1.0
    max_wait: float = 60.0
    max_retry_after: float = 900.0

    def exponential_wait(self, attempt: int) -> float:
        """Full-jitter exponential wait for the given retry (0-based)."""
        ceiling = min(self.max_wait, self.initial_wait * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    def waits(self, vendor: str) -> Generator[float, BaseException | None, None]:
        """A ``backoff`` wait generator: receives each caught exception, yields a wait."""
        attempt = 0
        exception = yield 0.0  # primed by backoff with send(None)
        while True:
            if isinstance(exception, TokenRejected):
                exception = yield 0.0
                continue
            response = getattr(exception, "response", None)
            asked = retry_after_seconds(response)
            if asked is not None and asked > self.max_retry_after:
                resume_at = datetime.fromtimestamp(time.time() + asked, tz=timezone.utc)
                raise RateLimitExhausted(
                    f"{vendor}: rate limit reached; the vendor asks to wait {asked / 3600:.1f} h "
                    f"(until {resume_at:%Y-%m-%d %H:%M:%S} UTC), longer than "
                    f"max_retry_after_seconds={self.max_retry_after:g}. Run again after that "
                    "time with the last STATE; it resumes where this run stopped."
                )
            wait = asked + random.uniform(0, 0.25) if asked is not None else None
            if wait is None:
                wait = self.exponential_wait(attempt)
            attempt += 1
            exception = yield wait


def retrying(
    func: Callable[..., _T],
    *,
    policy: RetryPolicy,
    vendor: str,
    what: str,
    on_backoff: Callable[[t.Any], None] | None = None,
) -> Callable[..., _T]:
    """Wrap ``func`` with the retry policy; past the budget, one clear :class:`VendorAPIError`."""
    retried = backoff.on_exception(
        functools.partial(policy.waits, vendor),
        RETRIABLE_ERRORS,
        max_tries=policy.max_tries,
        jitter=None,  # the policy jitters exponential waits and pads Retry-After itself
        on_backoff=on_backoff,
        logger=None,  # its default message quotes the exception, URL included
    )(func)

    @functools.wraps(func)
    def call(*args: t.Any, **kwargs: t.Any) -> _T:
        try:
            return retried(*args, **kwargs)
        except RETRIABLE_ERRORS as exc:
            raise VendorAPIError(
                f"{vendor}: giving up on {what} after {policy.max_tries} attempts: "
                f"{describe_failure(exc)}"
            ) from None

    return call
