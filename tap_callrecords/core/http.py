"""The HTTP session every stream sends through."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import requests
from requests.utils import resolve_proxies


class VendorHTTPSession(requests.Session):
    """A ``requests`` session that resolves environment proxies once per origin.

    ``requests`` re-reads the proxy variables from the whole environment on every send
    (about half a millisecond each, a tenth of a small page's round trip); the
    environment does not change during a run, so the answer is kept per scheme and host.
    """

    def __init__(self) -> None:
        super().__init__()
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
