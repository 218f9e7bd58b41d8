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
    """Pages 1, 2, ... until the rows received reach ``count``, or a page has no ``results``.

    The next page is asked for by what was received, never by ``page * limit``: Smartflo
    documents no maximum page size, and a server that caps it below the ``limit`` asked
    for (without saying so) would otherwise end the window a fraction of the way in.
    Without a ``count`` the pages go on while they are as full as the ``limit`` the reply
    states (or the one requested).
    """

    def __init__(self, limit: int) -> None:
        super().__init__(1)
        self.limit = limit
        self.received = 0

    def next_value(self, page: Page) -> int | None:
        if not page.records:
            return None
        self.received += len(page.records)
        number = t.cast("int", self.current_value)
        count = page.body.get("count")
        if count is None:
            limit = _positive_int(page.body.get("limit")) or self.limit
            return number + 1 if len(page.records) >= limit else None
        return number + 1 if self.received < (_positive_int(count) or 0) else None
