"""Smartflo credentials: a portal API token, or a login token from email and password.

**Header form.** Smartflo documents ``Authorization: <token>``; public clients send it
both bare and as ``Bearer <token>``, and which one a given account's gateway reads is
undocumented. The tap sends ``Bearer <token>`` first (the login's ``token_type`` is
``bearer``); a 401 before any request has succeeded is retried once, at once, with the
bare token, and whichever form then works is kept for the run (:class:`HeaderForm`). A
configured token is accepted with or without its own ``Bearer`` prefix.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.auth import RenewableTokenAuth, token_lifetime
from tap_callrecords.core.errors import VendorAuthError
from tap_callrecords.core.redact import SECRETS, redact

LOGIN_PATH = "/v1/auth/login"
LOGIN_SETTINGS = ("smartflo.email", "smartflo.password")


def bare_token(value: str) -> str:
    """The token without surrounding space or a ``Bearer`` prefix."""
    token = value.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token


class HeaderForm:
    """Which ``Authorization`` form this run sends: ``Bearer <token>`` until a 401 before
    any success switches it, once, to the bare token. A success settles the form."""

    def __init__(self) -> None:
        self.scheme = "Bearer"
        self._settled = False
        self._switched = False

    def header(self, token: str) -> str:
        """The header value for ``token`` in the current form."""
        return f"{self.scheme} {token}" if self.scheme else token

    def watch(self, request: requests.PreparedRequest) -> None:
        """Settle the form on the first success of a request sent with it."""
        request.register_hook("response", self._seen)

    def _seen(self, response: requests.Response, *args: t.Any, **kwargs: t.Any) -> requests.Response:
        if response.status_code < 400:
            self._settled = True
        return response

    @property
    def settled(self) -> bool:
        """Whether a request sent in the current form has succeeded."""
        return self._settled

    def switch(self) -> bool:
        """After a 401: the other form, if none has worked yet and it was not tried."""
        if self._settled or self._switched:
            return False
        self._switched = True
        self.scheme = "" if self.scheme else "Bearer"
        return True


class StaticTokenAuth(requests.auth.AuthBase):
    """The long-lived API token made in the Smartflo portal; a 401 is final once the
    other header form has been tried."""

    def __init__(self, token: str) -> None:
        self.token = bare_token(token)
        self.form = HeaderForm()
        SECRETS.add(self.token)

    def invalidate(self, sent: str | None = None) -> bool:
        """The client's 401 hook: ``True`` retries the request at once (in the other form)."""
        return self.form.switch()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.form.header(self.token)
        self.form.watch(request)
        return request


class SmartfloLoginAuth(RenewableTokenAuth):
    """``POST /v1/auth/login`` with ``{email, password}``; the token lasts ``expires_in``.

    The base class renews it a minute before expiry and once after a 401. Smartflo's
    rate limit is account-wide, so a login counts against it: ``throttle`` (the
    client's rate limiter) is waited on before the login. The request that needed the
    token waits on the same limiter after it (the client waits once a request is
    prepared), so every request, logins included, stays under the cap; a second wait
    here would only hold a turn no request uses.
    """

    def __init__(
        self, *, api_url: str, email: str, password: str, throttle: Callable[[], None], **kwargs: t.Any
    ) -> None:
        super().__init__(credential_settings=LOGIN_SETTINGS, **kwargs)
        self.login_url = api_url.rstrip("/") + LOGIN_PATH
        self.email = email
        self.password = password
        self.throttle = throttle
        self.form = HeaderForm()

    def invalidate(self, sent: str | None = None) -> bool:
        """A 401 before any success: the other header form with the same token; after one,
        the base class's renewal."""
        return self.form.switch() or super().invalidate(sent)

    def accepts_credentials(self) -> bool:
        """A login token says nothing of the header form: until a request sent in one form
        has succeeded, one request goes out before the others (a wrong form costs one 401,
        not one per window in flight)."""
        return self.form.settled and super().accepts_credentials()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self.scheme = self.form.scheme
        super().__call__(request)
        self.form.watch(request)
        return request

    def fetch_token(self) -> tuple[str, float]:
        self.throttle()
        response = self.http.post(
            self.login_url,
            json={"email": self.email, "password": self.password},
            headers={"Accept": "application/json"},
            timeout=self.timeout,
        )
        self.check_token_response(response)
        try:
            body = response.json()
        except ValueError:
            raise RetriableAPIError("malformed login response", response) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("success") in (False, "false") or not token:
            message = body.get("message") if isinstance(body, dict) else None
            detail = f" ({redact(str(message))[:120]})" if message else ""
            raise VendorAuthError(
                f"{self.vendor} refused the login{detail}; check {', '.join(LOGIN_SETTINGS)}."
            )
        return bare_token(str(token)), token_lifetime(body.get("expires_in"))
