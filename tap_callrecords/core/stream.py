"""The windowed stream every vendor stream is: a declaration, and the source of one read.

A vendor stream declares its name, keys, schema and windowing, and implements two
hooks: :meth:`WindowedStream.build_fetcher` and :attr:`WindowedStream.convert` (a pure
function from the vendor's raw record to the schema-typed record, replication key in
the tap's UTC form). It owns the :class:`~tap_callrecords.core.reader.Read` of its
endpoint and is that read's first output; other streams (``call_records``) add their
own outputs to the same read, and none of them reaches into another. How records are
fetched is the fetcher's business (:mod:`~tap_callrecords.core.paged`,
:mod:`~tap_callrecords.core.jobs`); how they are planned, checked, handed out and
checkpointed is the read's; how they are written is :mod:`~tap_callrecords.core.output`'s.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta

from typing_extensions import override

from tap_callrecords.core.convert import UTC
from tap_callrecords.core.output import RecordLoopStream
from tap_callrecords.core.reader import Fetcher, Halt, Output, Read
from tap_callrecords.core.windows import Window

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_callrecords.core.client import VendorClient


class WindowedStream(RecordLoopStream):
    """An incrementally replicated stream of calls read window by window."""

    #: How long after a call the vendor's data is complete; the default end of a run.
    data_latency: t.ClassVar[timedelta] = timedelta(minutes=5)
    #: Where window boundaries fall (e.g. :func:`~tap_callrecords.core.windows.floor_to_day`),
    #: so a resumed run asks for the same ranges a fresh one would; ``None``: from the start.
    window_align: t.ClassVar[staticmethod[[datetime], datetime] | None] = None
    #: Raw vendor record -> schema-typed record.
    convert: Callable[[Mapping[str, t.Any]], dict[str, t.Any]]
    #: Schema-typed record, default phone region -> its row in a derived normalised stream
    #: (``call_records``); ``None``: the stream has no calls to normalise.
    to_call: t.ClassVar[staticmethod[[Mapping[str, t.Any], str | None], t.Any] | None] = None
    #: Streams written from this stream's read (each built with ``source=`` this stream,
    #: adding its own output), listed with the vendor's streams.
    derived: t.ClassVar[tuple[type[RecordLoopStream], ...]] = ()

    is_sorted = False

    def __init__(self, tap: Tap, *, client: VendorClient, settings: Mapping[str, t.Any],
                 halt: Halt | None = None) -> None:
        """``halt``: shared by every read of the run (see :class:`~tap_callrecords.core.reader.Halt`)."""
        super().__init__(tap)
        self.client = client
        #: This vendor's settings object, defaults filled in.
        self.settings = settings
        self.fetcher: Fetcher = self.build_fetcher()
        #: The one read of this stream's endpoint; other streams add outputs to it.
        self.read = Read(self, halt=halt)
        self.output = Output(self, None, item_of=lambda: _record_itself, is_source=True)
        self.read.add_output(self.output)

    # -- Hooks ----------------------------------------------------------------------

    @property
    def window_step(self) -> timedelta:
        """Length of one window (vendors with range limits or settings override it)."""
        return timedelta(days=1)

    def build_fetcher(self) -> Fetcher:
        """The fetcher for this stream's endpoint."""
        raise NotImplementedError

    # -- Reading --------------------------------------------------------------------------

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """This stream's records, from the read of its endpoint (run now, or earlier for
        another output and kept for this one)."""
        return self.read.records_for(self.output)

    def check_connection(self) -> str:
        """Read the vendor's first page (or report) of the last hour, as ``--test`` does."""
        end = datetime.now(UTC) - self.data_latency
        for _, records in self.fetcher.read([Window(end - timedelta(hours=1), end)]):
            first = next(iter(records), None)
            found = "a record" if first is not None else "no record"
            return f"ok: {self.client.label} accepted the credentials and answered ({found} in the last hour)"
        return f"ok: {self.client.label} accepted the credentials"


def _record_itself(record: dict[str, t.Any], _encoded: t.Any) -> dict[str, t.Any]:
    return record
