"""Zoom paging: ``next_page_token`` until it is ``""`` (or missing), and its expiry.

Zoom's page tokens live 15 minutes and never go into state. A token that expired (or
that Zoom no longer accepts) is answered with an error; :func:`is_expired_page_token`
recognises it so the stream can restart the window from its first page.
"""

from __future__ import annotations

import typing as t
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.paged import PagePaginator

if t.TYPE_CHECKING:
    import requests

    from tap_callrecords.core.client import Page

#: Zoom's "invalid parameter" code; it also marks an expired or unknown page token.
INVALID_PARAMETER = 300


class PageTokenExpired(VendorAPIError):
    """Zoom refused a ``next_page_token`` (expired after 15 minutes, or unknown)."""


class NextPageTokenPaginator(PagePaginator[str | None]):
    """Follows ``next_page_token``; ``""``, null or a missing token ends the window."""

    def __init__(self) -> None:
        super().__init__(None)

    def next_value(self, page: Page) -> str | None:
        token = page.body.get("next_page_token")
        return token if isinstance(token, str) and token else None

    def continue_if_empty_page(self, page: Page) -> bool:
        """An empty page that still carries a token is followed; ``next_value`` decides."""
        return True


def sent_page_token(response: requests.Response) -> bool:
    """Whether the request behind ``response`` carried a ``next_page_token``."""
    query = urlsplit(response.request.url or "").query
    return bool(parse_qs(query).get("next_page_token"))


def is_expired_page_token(response: requests.Response) -> bool:
    """A 400/404 to a request that carried a page token, naming the token or code 300.

    Only a follow-up page can carry a token, so the same error on a first page (for
    example code 300 for a range over a month) is never mistaken for an expiry.
    """
    if response.status_code not in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND):
        return False
    if not sent_page_token(response):
        return False
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return False
    message = str(body.get("message") or "").lower()
    return body.get("code") == INVALID_PARAMETER or "token" in message or "expired" in message
