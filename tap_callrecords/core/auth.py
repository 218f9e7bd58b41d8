"""Authenticators, built once per vendor configuration (never process-wide singletons).

The SDK's templates make authenticators singletons; with several vendors configured
that would hand one vendor another vendor's credentials, so the tap keeps exactly one
instance per vendor settings object instead, inside that vendor's ``VendorClient``.
"""

from __future__ import annotations

import threading
import time
import typing as t
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.errors import VendorAuthError
from tap_callrecords.core.redact import SECRETS
from tap_callrecords.core.retry import RetryPolicy, retrying


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


#: The lifetime a token is given when its reply states none (``expires_in`` missing, null
#: or unreadable): short, so a token that does expire sooner costs at most one 401 (which
#: renews it), and renewing a token that would have lasted longer costs one request.
DEFAULT_TOKEN_LIFETIME = timedelta(minutes=5)


def token_lifetime(expires_in: t.Any) -> float:
    """Seconds a token lives, from a token reply's ``expires_in``: a positive number, else
    :data:`DEFAULT_TOKEN_LIFETIME` (a good token is never refused for a missing lifetime)."""
    if isinstance(expires_in, bool):
        return DEFAULT_TOKEN_LIFETIME.total_seconds()
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME.total_seconds()
    return seconds if seconds > 0 and seconds != float("inf") else DEFAULT_TOKEN_LIFETIME.total_seconds()


class BearerKeyAuth(requests.auth.AuthBase):
    """A long-lived key sent as ``Authorization: Bearer <key>`` (no token exchange).

    The key is registered as a secret, so it is masked wherever it might be printed,
    whether or not the setting that holds it is declared secret.
    """

    def __init__(self, key: str) -> None:
        SECRETS.add(key)
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


class RenewableTokenAuth(requests.auth.AuthBase):
    """A short-lived bearer token, fetched on first use, renewed before expiry and on 401.

    Subclasses implement :meth:`fetch_token` (one HTTP call to the vendor's token or
    login endpoint). Fetches go through the same retry policy as data requests; a
    rejected login is one clear :class:`VendorAuthError` naming the settings to check.
    Every token is registered as a secret, so it is masked wherever it might be printed.
    """

    #: Renew this long before the vendor's stated expiry.
    renew_margin = timedelta(seconds=60)
    #: ``Authorization`` value prefix; ``""`` sends the bare token.
    scheme = "Bearer"

    def __init__(
        self,
        *,
        vendor: str,
        credential_settings: tuple[str, ...],
        policy: RetryPolicy,
        timeout: float,
    ) -> None:
        self.vendor = vendor
        self.credential_settings = credential_settings
        self.timeout = timeout
        self.http = requests.Session()
        self._token: str | None = None
        self._expires_at = 0.0
        self._uses = 0
        self._lock = threading.Lock()
        self._fetch = retrying(self.fetch_token, policy=policy, vendor=vendor, what="the token request")

    def fetch_token(self) -> tuple[str, float]:
        """Ask the vendor for a token; return it and its lifetime in seconds."""
        raise NotImplementedError

    def check_token_response(self, response: requests.Response) -> None:
        """Raise for a token endpoint failure: retriable, or fatal naming the settings."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetriableAPIError(
                f"HTTP {status} from the token endpoint", response
            )
        if status >= 400:
            settings = ", ".join(self.credential_settings)
            raise VendorAuthError(
                f"{self.vendor} rejected the credentials (HTTP {status} from its token endpoint); "
                f"check {settings}."
            )

    def token(self) -> str:
        """A token valid for at least ``renew_margin``."""
        with self._lock:
            token = self._current()
            self._uses += 1
            return token

    def accepts_credentials(self) -> bool:
        """Whether the vendor accepts the credentials, asked before the first request.

        A token is fetched now if there is none (the first request would fetch it anyway),
        not counted as a use: a 401 for its first use still means a fresh token refused.
        A token issued is the vendor's word that the credentials are good, so several
        requests may go out before any reply; a subclass that still learns something from
        the first reply (how to send the token) says ``False`` until it has.
        """
        with self._lock:
            self._current()
        return True

    def _current(self) -> str:
        """The token, fetched first if there is none or it is about to expire (the lock held)."""
        if self._token is None or time.monotonic() >= self._expires_at:
            token, lifetime = self._fetch()
            SECRETS.add(token)
            self._token = token
            self._expires_at = time.monotonic() + max(0.0, lifetime - self.renew_margin.total_seconds())
            self._uses = 0
        return self._token

    def invalidate(self, sent: str | None = None) -> bool:
        """Forget the token after a 401; ``False`` if a fresh token was already refused.

        ``sent``: the ``Authorization`` the refused request carried. With several windows
        in flight, requests sent with the same old token are refused one after another;
        once one of them has dropped that token, the others are simply sent again.
        """
        with self._lock:
            if sent is not None and sent != self._header():
                return True
            refused_fresh = self._uses <= 1
            self._token = None
            return not refused_fresh

    def _header(self) -> str | None:
        """The ``Authorization`` value for the current token (the lock held)."""
        token = self._token
        if token is None:
            return None
        return f"{self.scheme} {token}" if self.scheme else token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.token()
        request.headers["Authorization"] = f"{self.scheme} {token}" if self.scheme else token
        return request


class ClientCredentialsAuth(RenewableTokenAuth):
    """OAuth 2 client credentials: HTTP Basic ``client_id:client_secret`` and a form body.

    The grant and its fields are the ``form``: ``client_credentials`` with a scope, or a
    vendor's own grant type such as ``account_credentials``. ``throttle``: the account's rate
    cap, where the token endpoint counts against it (every window in flight shares it).
    """

    def __init__(
        self, *, token_url: str, client_id: str, client_secret: str, form: dict[str, str],
        throttle: t.Callable[[], None] | None = None, **kwargs: t.Any
    ) -> None:
        super().__init__(**kwargs)
        self.throttle = throttle
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.form = form

    def fetch_token(self) -> tuple[str, float]:
        if self.throttle is not None:
            self.throttle()
        response = self.http.post(
            self.token_url,
            data=self.form,
            auth=(self.client_id, self.client_secret),
            timeout=self.timeout,
        )
        self.check_token_response(response)
        try:
            body = response.json()
            return str(body["access_token"]), token_lifetime(body.get("expires_in"))
        except (ValueError, KeyError, TypeError):
            raise RetriableAPIError("malformed token response", response) from None
