"""Fetcher: paged ``GET`` requests of one endpoint, the next page asked for early.

The endpoint is a description (path, query parameters for a window and a page, where
the records sit in a reply, a paginator); the SDK's paginator classes carry the paging
state (page numbers, ``next_page_token``, ``search_token`` chains), advanced on each
:class:`~tap_callrecords.core.client.Page` (see :class:`PagePaginator`).

The next request depends only on the current reply (its token or count), so the window
being handed out sends it as soon as that reply is parsed, on a background thread; the
vendor's latency then overlaps the conversion and writing of the current page. A window
read ahead of it (:mod:`~tap_callrecords.core.readahead`) asks for its next page once
the current one is spilled, and only when its turn allows.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from singer_sdk.pagination import BaseAPIPaginator

from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.keys import KeySet
from tap_callrecords.core.readahead import ALONE, Turn, read_ahead

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


class RecordsUnaccounted(VendorAPIError):
    """A window's records could not be accounted for: rows moved between pages, or far
    more records came than the vendor's count said."""


class _NeverRaised(Exception):
    """Stands for ``restart_on`` when a vendor has no expiring page tokens."""


#: Reads of a window after the first when its records are not accounted for.
MAX_REREADS = 2


def excess_bound(count: int) -> int:
    """Distinct records a window may hold past a reported ``count`` before paging is taken
    to run without end: room for calls that arrive while the window is read, not more."""
    return 2 * count + 1000


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
        return read_ahead(windows, self.fetch, parallel=self.parallel, name=self.name,
                          opens_early=self.client.credentials_accepted)

    def fetch(self, window: Window, turn: Turn = ALONE) -> Iterator[Mapping[str, t.Any]]:
        """Every record of the window, each once, accounted for against the vendor's count.

        A window is read again from its first page (a bounded number of times, records
        already yielded skipped) after an expired page token, after a key served twice
        in one read (the rows moved between pages), or when fewer distinct records
        arrived than the reply's ``count_key`` said the window holds (see :class:`_Account`).
        """
        endpoint = self.endpoint
        account = _Account(self, window)
        if endpoint.key is None:
            yield from self._pages(window, account, turn)
            return
        key_name = endpoint.key
        seen = account.seen
        restart_on = endpoint.restart_on or _NeverRaised
        while True:
            this_read = account.start_read()
            first_read = this_read is seen
            try:
                for record in self._pages(window, account, turn):
                    key = record.get(key_name)
                    if first_read:
                        if not seen.add(key):
                            account.repeated += 1
                            continue
                    else:
                        if not this_read.add(key):
                            account.repeated += 1
                        if not seen.add(key):
                            continue
                    account.check_excess()
                    yield record
            except restart_on as exc:
                account.restart(exc)
                continue
            if account.accounted_for():
                return

    def _pages(self, window: Window, account: _Account, turn: Turn) -> Iterator[dict[str, t.Any]]:
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

        def ask(value: t.Any) -> Callable[[], Page]:
            progress.page(value)
            if turn.leads:
                return prefetcher.submit(get, value).result

            def in_turn() -> Page:
                turn.wait()
                return get(value)
            return in_turn

        try:
            pending: Callable[[], Page] | None = ask(paginator.current_value)
            while pending is not None:
                page = pending()
                records = page.records
                progress.records(records)
                account.page(page)
                pending = None
                if records or paginator.continue_if_empty_page(page):
                    paginator.advance_page(page)
                    if not paginator.finished:
                        pending = ask(paginator.current_value)
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


class _Account:
    """What one window's reads received, set against what the vendor said it holds.

    The count a reply reports (``count_key``) is checked, not trusted: a read that ends
    with fewer distinct records than that count, or that met one key twice (rows that
    moved between pages, so others were skipped), is read again, up to
    :data:`MAX_REREADS` times. The union of the reads is what counts: once it reaches
    the count, the window is accounted for. Rows still moving after the last read end
    the run with one clear error (calls would be lost); a stable read that keeps
    coming back short is a count not to be trusted, and says so in a warning naming the
    vendor, the window and both numbers. Records far past the count end the run too.
    """

    def __init__(self, fetcher: PagedFetcher, window: Window) -> None:
        self.fetcher = fetcher
        self.window = window
        #: Keys yielded so far, over every read of the window.
        self.seen = KeySet()
        self.reads = 0
        self.restarts = 0
        self.repeated = 0
        self.reported: int | None = None

    @property
    def where(self) -> str:
        return self.fetcher.endpoint.describe_window(self.window)

    def start_read(self) -> KeySet:
        """A new read from the first page: the set its keys go into (the first read's is
        :attr:`seen` itself, so a window read once holds its keys once)."""
        self.reads += 1
        self.repeated = 0
        return self.seen if self.reads == 1 else KeySet()

    def page(self, page: Page) -> None:
        """Keep the latest count the vendor reported for the window."""
        count_key = self.fetcher.endpoint.count_key
        if count_key is None:
            return
        value = page.body.get(count_key)
        if isinstance(value, bool):
            return
        try:
            self.reported = int(value)
        except (TypeError, ValueError):
            return

    def restart(self, exc: Exception) -> None:
        """An expired page token: read again, a bounded number of times."""
        fetcher = self.fetcher
        self.restarts += 1
        self.reads -= 1  # a restart is not a re-read for an unaccounted window
        limit = fetcher.endpoint.max_restarts
        if self.restarts > limit:
            raise VendorAPIError(
                f"{fetcher.client.label}: page tokens kept expiring in the window {self.where} "
                f"({limit} restarts); last error: {exc}"
            ) from None
        fetcher.client.logger.warning(
            "%s: a page token expired in the window %s; restarting the window from its "
            "first page (restart %d of at most %d; %d records already read are skipped)",
            fetcher.client.label, self.where, self.restarts, limit, len(self.seen),
        )

    def check_excess(self) -> None:
        """Stop a window that goes on far past its reported count."""
        reported = self.reported
        if reported is not None and len(self.seen) > excess_bound(reported):
            fetcher = self.fetcher
            raise RecordsUnaccounted(
                f"{fetcher.client.label}: {fetcher.name} kept serving records in the window "
                f"{self.where}: {len(self.seen)} distinct records where the vendor's count says "
                f"{reported}; stopped rather than read without end. Nothing after the last "
                "complete window is claimed; report it to the vendor if it lasts."
            )

    def accounted_for(self) -> bool:
        """Whether the window is done after a read; ``False``: read it again."""
        fetcher = self.fetcher
        label = fetcher.client.label
        total, reported, repeated = len(self.seen), self.reported, self.repeated
        short = reported is not None and total < reported
        if not short and (repeated == 0 or reported is not None):
            return True
        problem = (f"{repeated} records were served twice (the rows moved between pages)"
                   if repeated else "")
        if short:
            problem += ("; " if problem else "") + (
                f"{total} distinct records arrived where the vendor's count says {reported}")
        rereads = self.reads - 1
        if rereads < MAX_REREADS:
            fetcher.client.logger.warning(
                "%s: in the window %s: %s; reading the window again (re-read %d of at most %d)",
                label, self.where, problem, rereads + 1, MAX_REREADS,
            )
            return False
        if repeated:
            raise RecordsUnaccounted(
                f"{label}: {fetcher.name} could not read the window {self.where} whole: {problem}, "
                f"in each of {self.reads} reads. Nothing from that window on is claimed; run "
                "again later, or report it to the vendor if it lasts."
            )
        fetcher.client.logger.warning(
            "%s: the window %s held %d distinct records where the vendor's count says %d, the "
            "same in %d reads; the count is not trusted and the window is taken as read.",
            label, self.where, total, reported, self.reads,
        )
        return True
