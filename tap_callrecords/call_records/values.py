"""Small helpers the vendors' ``calls.py`` mappings share (per record: kept cheap)."""

from __future__ import annotations

import functools
import typing as t
from datetime import datetime, timedelta

from tap_callrecords.core.convert import UTC

if t.TYPE_CHECKING:
    from collections.abc import Mapping

V = t.TypeVar("V")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_HOUR = timedelta(hours=1)
#: ``"MM:SS"`` -> seconds into the hour, and back (as written after the hour: ``":MM:SS"``).
_INTO_HOUR = {f"{second // 60:02d}:{second % 60:02d}": second for second in range(3600)}
_AFTER_HOUR = tuple(f":{text}" for text in _INTO_HOUR)
#: Distinct hours each direction of the hour cache remembers (a sync moves forward in
#: time, so the hours of its start do not return).
HOUR_CACHE = 1 << 12


@functools.lru_cache(maxsize=4096)
def vendor_key(value: str) -> str:
    """A vendor's word as a lookup key: ``"Answered by VM"`` -> ``"answered_by_vm"``,
    ``"click-to-call"`` -> ``"click_to_call"``, ``"outbound SMS"`` -> ``"outbound_sms"``."""
    return "_".join(value.lower().replace("-", " ").split())


class Vocabulary(dict[t.Any, V]):
    """A vendor's words (``table``, keyed as the vendor documents them) -> what each means,
    read with one subscript: ``OUTCOMES_OF[value]``.

    Mappings read a word or two of every record, so a word is one C-level dict lookup, not
    a Python call: a word sent another way (any case, spaces or hyphens for underscores:
    ``"outbound SMS"``) is looked up by its :func:`vendor_key` the first time and
    remembered, as is any value that is no text (``None``, a number), which reads
    ``default``. At most :attr:`spellings` such values are remembered (beyond, each is
    looked up again), so memory stays bounded whatever a vendor sends. Values must be
    hashable: a typed record's text fields are.
    """

    spellings = 4096

    def __init__(self, table: Mapping[str, V], default: V) -> None:
        super().__init__(table)
        self._table = dict(table)
        self._default = default
        self._limit = len(table) + self.spellings

    def __missing__(self, value: t.Any) -> V:
        meaning = self._table.get(vendor_key(value), self._default) if type(value) is str else self._default
        if len(self) < self._limit:
            self[value] = meaning
        return meaning


def text(value: t.Any) -> str | None:
    """An id as text (``56215`` -> ``"56215"``); ``None`` stays ``None``."""
    return value if value is None or type(value) is str else str(value)


def seconds_between(start: t.Any, end: t.Any) -> float | None:
    """Seconds from ``start`` to ``end`` (ISO 8601 with offsets, the tap's UTC form); ``None``
    if either is missing or unreadable, or ``end`` is before ``start``."""
    if type(start) is not str or type(end) is not str:
        return None
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):  # unreadable, or one naive and one aware
        return None
    return seconds if seconds >= 0 else None


@functools.lru_cache(maxsize=HOUR_CACHE)
def _hour_number(hour: str) -> int:
    """``"2024-07-01T03"`` (a UTC hour) -> hours since the epoch."""
    return (datetime.fromisoformat(f"{hour}:00").replace(tzinfo=UTC) - _EPOCH) // _ONE_HOUR


@functools.lru_cache(maxsize=HOUR_CACHE)
def _hour_text(number: int) -> str:
    """Hours since the epoch -> the UTC hour as the tap writes it (``"2024-07-01T03"``)."""
    return (_EPOCH + number * _ONE_HOUR).isoformat()[:13]


def seconds_before(moment: str, seconds: t.Any) -> str:
    """``moment`` less ``seconds``, in ``moment``'s form (an ISO 8601 date-time).

    A time in the tap's UTC form less whole seconds, the usual case, is worked out on its
    text: only the hour needs the calendar, and each hour is converted once (formatting a
    datetime costs more than the rest of a row's mapping). Anything else goes through
    :mod:`datetime`, with the same result."""
    into = _INTO_HOUR.get(moment[14:19])
    if into is not None and type(seconds) is int and len(moment) == 32 and moment.endswith("+00:00"):
        hour, into = divmod(_hour_number(moment[:13]) * 3600 + into - seconds, 3600)
        return _hour_text(hour) + _AFTER_HOUR[into] + moment[19:]
    return (datetime.fromisoformat(moment) - timedelta(seconds=seconds)).isoformat(timespec="microseconds")
