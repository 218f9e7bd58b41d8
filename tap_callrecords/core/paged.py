"""Fetcher: paged ``GET`` requests of one endpoint, the next page asked for early.

The endpoint is a description (path, query parameters for a window and a page, where
the records sit in a reply, a paginator); the SDK's paginator classes carry the paging
state (page numbers, ``next_page_token``, ``search_token`` chains).

The next request depends only on the current reply (its token or count), so it is sent
as soon as that reply is parsed, on a single background thread; the vendor's latency
then overlaps the conversion and writing of the current page.

A vendor whose page tokens can expire raises ``restart_on`` (through its error
dialect); the window is then read again from its first page, skipping records already
yielded, a bounded number of times.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from tap_callrecords.core.client import parsed_body
from tap_callrecords.core.errors import VendorAPIError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    import requests
    from singer_sdk.pagination import BaseAPIPaginator

    from tap_callrecords.core.client import VendorClient
    from tap_callrecords.core.windows import Window


@dataclass
class PagedEndpoint:
    """What a paged list endpoint looks like to the tap."""

    path: str
    #: Key of the record list in a reply body.
    records_key: str
    #: Query parameters for a window and a page (the paginator's current value).
    params: Callable[[Window, t.Any], dict[str, t.Any]]
    #: A fresh paginator for a window.
    paginator: Callable[[], BaseAPIPaginator[t.Any]]
    #: The error a vendor raises for an expired page token: restart the window.
    restart_on: type[Exception] | None = None
    #: The record key used to skip already-yielded records after a restart.
    key: str | None = None
    max_restarts: int = 5
    #: How a window is named in messages (vendors use the form they send).
    describe_window: Callable[[Window], str] = lambda window: f"{window.start} to {window.end}"


class PagedFetcher:
    """Yields a window's records page by page, prefetching the next page."""

    def __init__(self, client: VendorClient, endpoint: PagedEndpoint, *, name: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.name = name

    def records_of(self, response: requests.Response) -> list[t.Any]:
        """The records of one page."""
        body = parsed_body(response)
        return (body.get(self.endpoint.records_key) or []) if isinstance(body, dict) else []

    def read(self, windows: Iterable[Window]) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
        """Each window with its records, one window at a time."""
        for window in windows:
            yield window, self.fetch(window)

    def fetch(self, window: Window) -> Iterator[Mapping[str, t.Any]]:
        """Every record of the window, restarting it after an expired page token."""
        endpoint = self.endpoint
        if endpoint.restart_on is None:
            yield from self._pages(window)
            return
        seen: set[t.Any] = set()
        restarts = 0
        while True:
            try:
                for record in self._pages(window):
                    key = record.get(t.cast("str", endpoint.key))
                    if key in seen:
                        continue
                    seen.add(key)
                    yield record
            except endpoint.restart_on as exc:
                restarts += 1
                where = endpoint.describe_window(window)
                if restarts > endpoint.max_restarts:
                    raise VendorAPIError(
                        f"{self.client.label}: page tokens kept expiring in the window {where} "
                        f"({endpoint.max_restarts} restarts); last error: {exc}"
                    ) from None
                self.client.logger.warning(
                    "%s: a page token expired in the window %s; restarting the window from its "
                    "first page (restart %d of at most %d; %d records already read are skipped)",
                    self.client.label, where, restarts, endpoint.max_restarts, len(seen),
                )
                continue
            return

    def _pages(self, window: Window) -> Iterator[t.Any]:
        endpoint = self.endpoint
        paginator = endpoint.paginator()
        client = self.client

        def get(page: t.Any) -> requests.Response:
            return client.get_json(endpoint.path, endpoint.params(window, page))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name) as prefetcher:
            pending: Future[requests.Response] | None = prefetcher.submit(get, paginator.current_value)
            while pending is not None:
                response = pending.result()
                records = self.records_of(response)
                pending = None
                if records or paginator.continue_if_empty(response):
                    paginator.advance(response)
                    if not paginator.finished:
                        pending = prefetcher.submit(get, paginator.current_value)
                yield from records
