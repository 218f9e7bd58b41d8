"""Authenticators, built once per vendor configuration (never process-wide singletons).

The SDK's templates make authenticators singletons; with several vendors configured
that would hand one vendor another vendor's credentials, so the tap keeps exactly one
instance per vendor settings object instead (see ``TapCallRecords.vendor_session``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests


class QueryParamAuth(requests.auth.AuthBase):
    """Puts a credential into the query string, replacing any earlier copy.

    Idempotent, unlike the SDK's ``APIKeyAuthenticator`` in ``params`` mode, which
    appends the key again each time a retried request is re-authenticated.
    """

    def __init__(self, param: str, value: str) -> None:
        self.param = param
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(request.url or "")
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != self.param]
        query.insert(0, (self.param, self.value))
        request.url = urlunsplit(parts._replace(query=urlencode(query)))
        return request
