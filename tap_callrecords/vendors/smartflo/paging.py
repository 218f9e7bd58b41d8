"""Smartflo paging: ``page`` (from 1) and ``limit``, against the reply's ``count``."""

from __future__ import annotations

import typing as t

from tap_callrecords.core.paged import PagePaginator

if t.TYPE_CHECKING:
    from tap_callrecords.core.client import Page


def _positive_int(value: t.Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class PageNumberPaginator(PagePaginator[int]):
    """Pages 1, 2, ... until ``page * limit >= count`` or a page has no ``results``.

    ``limit`` is read from the reply when present (the page size Smartflo really used,
    should it cap the requested one), else the requested size. Without a ``count`` the
    pages go on while they are full.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(1)
        self.limit = limit

    def next_value(self, page: Page) -> int | None:
        if not page.records:
            return None
        number = t.cast("int", self.current_value)
        limit = _positive_int(page.body.get("limit")) or self.limit
        count = page.body.get("count")
        if count is None:
            return number + 1 if len(page.records) >= limit else None
        return number + 1 if number * limit < (_positive_int(count) or 0) else None
