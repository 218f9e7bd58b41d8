"""Fetcher: paged ``GET`` requests of one endpoint, the next page asked for early.

The endpoint is a description (path, query parameters for a window and a page, where
the records sit in a reply, a paginator); the SDK's paginator classes carry the paging
state (page numbers, ``next_page_token``, ``search_token`` chains), advanced on each
:class:`~tap_callrecords.core.client.Page` (see :class:`PagePaginator`).

The next request depends only on the current reply (its token or count), so it is sent
as soon as that reply is parsed, on a single background thread; the vendor's latency
then overlaps the conversion and writing of the current page.

A vendor whose page tokens can expire raises ``restart_on`` (through its error
dialect); the window is then read again from its first page, skipping records already
yielded, a bounded number of times.

Nothing a vendor says is trusted unchecked:

- **Shape.** A reply whose record list is missing, null or not a list, or holds items
  that are not objects, is a reply of the wrong shape: retried like a malformed body,
  then one clear error (:meth:`VendorClient.get_page
  <tap_callrecords.core.client.VendorClient.get_page>`). It never counts as an empty
  page. A missing list is accepted only when the reply's own count (``count_key``) says
  there are no records.
- **Progress.** Paging that stops making progress ends the run with one clear error
  naming the vendor, stream and window: a page token (or page number) seen before in
  the window, a page holding exactly the records of a page already read, or
  :data:`MAX_EMPTY_PAGES` pages in a row with no records.
"""

from __future__ import annotations

import typing as t
from abc import abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from singer_sdk.pagination import BaseAPIPaginator

from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.readahead import read_ahead

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    import requests

    from tap_callrecords.core.client import Page, VendorClient
    from tap_callrecords.core.windows import Window

TPageToken = t.TypeVar("TPageToken")


class PagePaginator(BaseAPIPaginator[TPageToken]):
    """An SDK paginator that reads where the next page is from the :class:`Page` just read.

    The SDK's hooks take a ``requests.Response``, but a page's body is decoded once, by
    the client, while its shape is checked; a paginator reading the response would
    decode every page a second time, on the hottest path, or need the body smuggled onto
    the response. So the fetcher hands the whole page to :meth:`advance_page`, which
    holds it in the typed :attr:`page` for the length of the SDK's own ``advance`` (the
    SDK still counts the pages, refuses a token repeated at once and sets ``finished``);
    the SDK's ``get_next`` passes that page on to :meth:`next_value`. A vendor writes
    ``next_value`` (and ``continue_if_empty_page`` when an empty page may lead on).
    """

    #: The page being advanced past, only during :meth:`advance_page`.
    page: Page | None = None

    def advance_page(self, page: Page) -> None:
        """Move to the value :meth:`next_value` reads from ``page`` (or finish)."""
        self.page = page
        try:
            self.advance(page.response)
        finally:
            self.page = None

    def get_next(self, response: requests.Response) -> TPageToken | None:
        page = self.page
        if page is None or page.response is not response:
            raise TypeError(f"{type(self).__name__} moves on pages: call advance_page(page)")
        return self.next_value(page)

    @abstractmethod
    def next_value(self, page: Page) -> TPageToken | None:
        """The value for the page after ``page``; ``None`` (or another false value): no more."""

    def continue_if_empty_page(self, page: Page) -> bool:
        """Whether a page without records may still lead on (default: it ends the window)."""
        return False


@dataclass
class PagedEndpoint:
    """What a paged list endpoint looks like to the tap."""

    path: str
    #: Key of the record list in a reply body.
    records_key: str
    #: Query parameters for a window and a page (the paginator's current value).
    params: Callable[[Window, t.Any], dict[str, t.Any]]
    #: A fresh paginator for a window.
    paginator: Callable[[], PagePaginator[t.Any]]
    #: The error a vendor raises for an expired page token: restart the window.
    restart_on: type[Exception] | None = None
    #: The record's key: to skip records already yielded after a restart, and to tell a
    #: page that repeats an earlier one.
    key: str | None = None
    #: A count in the reply that, when 0, lets the record list be absent.
    count_key: str | None = None
    max_restarts: int = 5
    #: How a window is named in messages (vendors use the form they send).
    describe_window: Callable[[Window], str] = str


#: Pages in a row without a record before the paging is taken to be going nowhere.
MAX_EMPTY_PAGES = 10


class PagingStalled(VendorAPIError):
    """The vendor's paging stopped making progress."""


class PagedFetcher:
    """Yields a window's records page by page, prefetching the next page."""

    def __init__(self, client: VendorClient, endpoint: PagedEndpoint, *, name: str,
                 parallel: int = 1) -> None:
        self.client = client
        self.endpoint = endpoint
        self.name = name
        #: Windows read at once (:mod:`~tap_callrecords.core.readahead`).
        self.parallel = parallel

    def read(self, windows: Iterable[Window]) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
        """Each window with its records, in window order, up to ``parallel`` windows read at once."""
        return read_ahead(windows, self.fetch, parallel=self.parallel, name=self.name)

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

    def _pages(self, window: Window) -> Iterator[dict[str, t.Any]]:
        endpoint = self.endpoint
        paginator = endpoint.paginator()
        client = self.client
        progress = _Progress(self, window)

        def get(value: t.Any) -> Page:
            return client.get_page(endpoint.path, endpoint.params(window, value),
                                   records_key=endpoint.records_key, count_key=endpoint.count_key)

        # Not ``with``: leaving early (an error, a signal) must not wait for the request
        # in flight; the thread finishes it on its own and the process does not join it.
        prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        try:
            progress.page(paginator.current_value)
            pending: Future[Page] | None = prefetcher.submit(get, paginator.current_value)
            while pending is not None:
                page = pending.result()
                records = page.records
                progress.records(records)
                pending = None
                if records or paginator.continue_if_empty_page(page):
                    paginator.advance_page(page)
                    if not paginator.finished:
                        progress.page(paginator.current_value)
                        pending = prefetcher.submit(get, paginator.current_value)
                yield from records
        finally:
            prefetcher.shutdown(wait=False, cancel_futures=True)


class _Progress:
    """Watches one window's paging for the signs that it goes nowhere."""

    def __init__(self, fetcher: PagedFetcher, window: Window) -> None:
        self.fetcher = fetcher
        self.window = window
        self.pages_seen: set[t.Any] = set()
        self.contents_seen: set[int] = set()
        self.empty_in_a_row = 0

    def stalled(self, what: str) -> PagingStalled:
        fetcher = self.fetcher
        return PagingStalled(
            f"{fetcher.client.label}: {fetcher.name} stopped making progress in the window "
            f"{fetcher.endpoint.describe_window(self.window)}: {what}. Nothing after the last "
            "complete window is claimed; run again later, or report it to the vendor if it lasts."
        )

    def page(self, value: t.Any) -> None:
        """The paginator is about to ask for ``value`` (a page number, token or chain)."""
        try:
            seen = value in self.pages_seen
            self.pages_seen.add(value)
        except TypeError:  # an unhashable token cannot be compared: nothing to learn from it
            return
        if seen:
            raise self.stalled(f"the vendor's paging led back to a page already read ({value!r})")

    def records(self, records: list[dict[str, t.Any]]) -> None:
        """A page of ``records`` arrived."""
        if not records:
            self.empty_in_a_row += 1
            if self.empty_in_a_row >= MAX_EMPTY_PAGES:
                raise self.stalled(f"{MAX_EMPTY_PAGES} pages in a row held no records")
            return
        self.empty_in_a_row = 0
        key = self.fetcher.endpoint.key
        if key is None:
            return
        try:
            content = hash(tuple(record.get(key) for record in records))
        except TypeError:  # a key that is not a plain value: the record checks will say so
            return
        if content in self.contents_seen:
            raise self.stalled(f"the vendor served the same {len(records)} records again")
        self.contents_seen.add(content)
