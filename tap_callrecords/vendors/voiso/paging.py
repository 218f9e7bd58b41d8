"""Voiso paging: ``page`` within a chain of at most 10,000 records, ``search_token`` across chains."""

from __future__ import annotations

import typing as t

from tap_callrecords.core.paged import PagePaginator

if t.TYPE_CHECKING:
    from tap_callrecords.core.client import Page

CHAIN_CAP = 10_000
#: The ``per_page`` values whose pages end exactly on a chain's last record.
CHAIN_PAGE_SIZES = tuple(size for size in range(1, CHAIN_CAP + 1) if CHAIN_CAP % size == 0)


def check_per_page(name: str, value: t.Any) -> str | None:
    """A message if ``per_page`` does not divide a chain: its last page would ask past the
    10,000th record, which Voiso does not document serving. A page size of another value
    cannot be capped to the chain either, since a smaller last page would start elsewhere
    (``page`` counts pages of ``per_page``), so the setting is restricted to divisors."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= CHAIN_CAP \
            or CHAIN_CAP % value == 0:
        return None  # out of bounds: the schema's message says so
    fits = ", ".join(str(size) for size in CHAIN_PAGE_SIZES)
    return (f"{name} is {value}; it must divide 10000 (Voiso serves 10,000 records a chain), "
            f"one of {fits}.")


class ChainPage(t.NamedTuple):
    """Where the next request reads: a chain (its ``search_token``) and a page in it."""

    search_token: str | None
    page: int


class SearchTokenPaginator(PagePaginator[ChainPage]):
    """Pages through a chain, then follows the newest ``search_token`` until it is null.

    The docs show the token on "a" reply of a full chain without saying which; the
    newest non-null token seen in the chain is used, so either reading works. A chain
    ends on a short or empty page, or when it has served 10,000 records.
    """

    def __init__(self, per_page: int) -> None:
        super().__init__(ChainPage(None, 1))
        self.per_page = per_page
        self._next_chain_token: str | None = None

    def next_value(self, page: Page) -> ChainPage | None:
        current = t.cast("ChainPage", self.current_value)
        token = page.body.get("search_token")
        if token and token != current.search_token:
            self._next_chain_token = token
        served = len(page.records)
        chain_exhausted = served < self.per_page or current.page * self.per_page >= CHAIN_CAP
        if not chain_exhausted:
            return ChainPage(current.search_token, current.page + 1)
        next_token, self._next_chain_token = self._next_chain_token, None
        return ChainPage(next_token, 1) if next_token else None

    def continue_if_empty_page(self, page: Page) -> bool:
        """An empty page may still carry a token to the next chain; ``next_value`` decides."""
        return True
