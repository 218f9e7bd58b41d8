"""Deterministic synthetic call data of any size, generated on demand.

Record ``i`` of a data set is a pure function of ``(seed, i)`` and its time grows with
``i``, so a million records need no memory and a date filter is a binary search.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MASK64 = (1 << 64) - 1


def mix(value: int) -> int:
    """SplitMix64 finaliser: a cheap, well-spread hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


@functools.lru_cache(maxsize=4096)
def day_text(day_number: int) -> str:
    """``YYYY-MM-DD`` of the day ``day_number`` days after 1970-01-01."""
    return (date(1970, 1, 1) + timedelta(days=day_number)).isoformat()


def local_date_time(local_seconds: int) -> tuple[str, str]:
    """``(YYYY-MM-DD, hh:mm:ss)`` of an instant given in seconds since the epoch, local time."""
    day, second_of_day = divmod(local_seconds, 86_400)
    minutes, second = divmod(second_of_day, 60)
    hour, minute = divmod(minutes, 60)
    return day_text(day), f"{hour:02d}:{minute:02d}:{second:02d}"


def uuid_for(seed: int, index: int) -> str:
    """A stable UUID-shaped id for record ``index``."""
    scrambled = (index * 0x9E3779B97F4A7C15 + seed) & MASK64
    return (
        f"{scrambled >> 32:08x}-{(scrambled >> 16) & 0xFFFF:04x}-4{scrambled & 0xFFF:03x}-"
        f"a{seed & 0xFFF:03x}-{index:012x}"
    )


@dataclass(frozen=True)
class SyntheticTimeline:
    """``count`` instants spread evenly (at millisecond resolution) over ``[start, end)``."""

    count: int
    start: datetime
    end: datetime
    seed: int = 1

    @property
    def _start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def _span_ms(self) -> int:
        return int(self.end.timestamp() * 1000) - self._start_ms

    def epoch_ms(self, index: int) -> int:
        """Milliseconds since the epoch of record ``index``."""
        return self._start_ms + (index * self._span_ms) // max(self.count, 1)

    def index_range(self, low_ms: int, high_ms: int) -> range:
        """Indexes of the records with ``low_ms <= epoch_ms < high_ms``."""
        indexes = range(self.count)
        first = bisect.bisect_left(indexes, low_ms, key=self.epoch_ms)
        last = bisect.bisect_left(indexes, high_ms, key=self.epoch_ms)
        return range(first, max(first, last))
