"""Smartflo credentials: a portal API token, or a login token from email and password.

Smartflo reads the ``Authorization`` header with or without a ``Bearer `` prefix; the
tap always sends ``Bearer <token>`` and accepts a configured token either way.
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


class StaticTokenAuth(requests.auth.AuthBase):
    """The long-lived API token made in the Smartflo portal; a 401 is final."""

    def __init__(self, token: str) -> None:
        self.header = f"Bearer {bare_token(token)}"
        SECRETS.add(bare_token(token))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request


class SmartfloLoginAuth(RenewableTokenAuth):
    """``POST /v1/auth/login`` with ``{email, password}``; the token lasts ``expires_in``.

    The base class renews it a minute before expiry and once after a 401. Smartflo's
    rate limit is account-wide, so a login counts against it: ``throttle`` (the
    client's rate limiter) is waited on before the login and again before the request
    that needed it, which keeps every request, logins included, under the cap.
    """

    def __init__(
        self, *, api_url: str, email: str, password: str, throttle: Callable[[], None], **kwargs: t.Any
    ) -> None:
        super().__init__(credential_settings=LOGIN_SETTINGS, **kwargs)
        self.login_url = api_url.rstrip("/") + LOGIN_PATH
        self.email = email
        self.password = password
        self.throttle = throttle

    def fetch_token(self) -> tuple[str, float]:
        self.throttle()
        response = self.http.post(
            self.login_url,
            json={"email": self.email, "password": self.password},
            headers={"Accept": "application/json"},
            timeout=self.timeout,
        )
        self.throttle()
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
