"""Smartflo paging: ``page`` (from 1) and ``limit``, against the reply's ``count``."""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator

from tap_callrecords.core.client import parsed_body

if t.TYPE_CHECKING:
    import requests


def _positive_int(value: t.Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class PageNumberPaginator(BaseAPIPaginator[int]):
    """Pages 1, 2, ... until ``page * limit >= count`` or a page has no ``results``.

    ``limit`` is read from the reply when present (the page size Smartflo really used,
    should it cap the requested one), else the requested size. Without a ``count`` the
    pages go on while they are full.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(1)
        self.limit = limit

    def get_next(self, response: requests.Response) -> int | None:
        body = parsed_body(response)
        if not isinstance(body, dict):
            return None
        results = body.get("results") or []
        if not results:
            return None
        page = t.cast("int", self.current_value)
        limit = _positive_int(body.get("limit")) or self.limit
        count = body.get("count")
        if count is None:
            return page + 1 if len(results) >= limit else None
        return page + 1 if page * limit < (_positive_int(count) or 0) else None
