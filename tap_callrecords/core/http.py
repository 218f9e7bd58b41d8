"""The HTTP session every request goes through, and how a reply's body is read."""

from __future__ import annotations

import time
import typing as t
from urllib.parse import urlsplit

import requests
import urllib3
from requests.utils import resolve_proxies


class VendorHTTPSession(requests.Session):
    """A ``requests`` session that resolves environment proxies once per origin.

    ``requests`` re-reads the proxy variables from the whole environment on every send
    (about half a millisecond each, a tenth of a small page's round trip); the
    environment does not change during a run, so the answer is kept per scheme and host.

    Its connection pools hold a connection per window in flight (and its prefetch), so
    that several windows read at once reuse their connections instead of opening one
    per request.
    """

    #: Connections kept per host: the most windows in flight, twice (the prefetch).
    pool_size = 64

    def __init__(self) -> None:
        super().__init__()
        for prefix in ("https://", "http://"):
            self.mount(prefix, requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size))
        self._proxies_by_origin: dict[tuple[str, str], dict[str, str]] = {}

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        if "proxies" not in kwargs:
            parts = urlsplit(request.url or "")
            origin = (parts.scheme, parts.netloc)
            proxies = self._proxies_by_origin.get(origin)
            if proxies is None:
                proxies = resolve_proxies(request, dict(self.proxies), self.trust_env)
                self._proxies_by_origin[origin] = proxies
            kwargs["proxies"] = proxies
        return super().send(request, **kwargs)


#: Largest reply body the tap holds, once decompressed: far above any real page (a
#: 10,000-record page of the largest records is ~26 MB), far below a machine's memory.
MAX_BODY_BYTES = 128 << 20
_READ_SIZE = 1 << 16


class BodyTooLarge(Exception):
    """A reply body grew past :data:`MAX_BODY_BYTES` (for example a gzip bomb)."""


def read_body(response: requests.Response, *, deadline: float, limit: int = MAX_BODY_BYTES) -> None:
    """Read a streamed reply's body by ``deadline`` (a ``time.monotonic()`` instant).

    ``requests``' timeout bounds each socket read, so a body trickling a byte at a time
    would hold one request for ever; reading it here, one socket read at a time,
    bounds the whole reply. The decompressed size is bounded too. On success the body
    is where ``response.content`` finds it.
    """
    body = bytearray()
    raw = response.raw
    try:
        while True:
            if time.monotonic() > deadline:
                raise requests.exceptions.ReadTimeout("the reply did not arrive in time")
            chunk = raw.read1(_READ_SIZE, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(f"the reply is larger than {limit >> 20} MB once decompressed")
    except BaseException as exc:
        response.close()
        raise _as_requests_error(exc) from None
    response._content = bytes(body)  # where ``response.content`` finds a body read already


def _as_requests_error(exc: BaseException) -> BaseException:
    """urllib3's errors met while reading a body, as ``requests`` raises them when it reads."""
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return requests.exceptions.ReadTimeout("the reply stalled")
    if isinstance(exc, urllib3.exceptions.DecodeError):
        return requests.exceptions.ContentDecodingError("the reply's compression is broken")
    if isinstance(exc, urllib3.exceptions.ProtocolError | urllib3.exceptions.SSLError | ConnectionError):
        return requests.exceptions.ChunkedEncodingError("the connection dropped mid-reply")
    return exc
