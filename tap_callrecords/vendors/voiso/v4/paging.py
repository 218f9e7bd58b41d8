"""Voiso v4 paging: ``limit``/``offset`` over the first 10,000 records, ``next_cursor`` beyond.

Each request carries the offset of the records read so far, and the cursor when the
last reply gave one. The docs: a valid cursor wins over the offset, an invalid one falls
back to the offset, and an invalid fallback offset (past the first 10,000) is a 400. So
a cursor Voiso rejects inside the first 10,000 records reads on from the right place by
offset, and beyond them ends the run with one clear error (``api.V4Dialect``); a cursor
that leads back to records already read is caught by the fetcher's progress guards.
"""

from __future__ import annotations

import typing as t

from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.paged import PagePaginator

if t.TYPE_CHECKING:
    from tap_callrecords.core.client import Page

#: Records ``offset`` reaches; beyond them only a cursor pages.
OFFSET_CAP = 10_000


class CursorPage(t.NamedTuple):
    """Where the next request reads: records read so far, and the cursor if one was given."""

    offset: int
    cursor: str | None


class CursorPaginator(PagePaginator[CursorPage]):
    """Follows ``metadata.next_cursor``; by offset while there is none; ends on a short page."""

    def __init__(self, limit: int) -> None:
        super().__init__(CursorPage(0, None))
        self.limit = limit

    def next_value(self, page: Page) -> CursorPage | None:
        current = t.cast("CursorPage", self.current_value)
        metadata = page.body.get("metadata")
        cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        offset = current.offset + len(page.records)
        if isinstance(cursor, str) and cursor:
            return CursorPage(offset, cursor)
        if len(page.records) < self.limit:
            return None
        if offset >= OFFSET_CAP:
            if current.cursor:  # the cursors led here and gave no further one: the end
                return None
            raise VendorAPIError(
                f"Voiso: a window holds more than {OFFSET_CAP:,} records and the reply gave no "
                "next_cursor to read past them; set a smaller voiso.window_days. Nothing "
                "after the last complete window is claimed."
            )
        return CursorPage(offset, None)

    def continue_if_empty_page(self, page: Page) -> bool:
        """An empty page that still gives a ``next_cursor`` is followed (Voiso does not say
        a cursor's page cannot be empty: ending there could lose calls, following costs a
        request); the fetcher's guards stop cursors that lead nowhere."""
        return True
