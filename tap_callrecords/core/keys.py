"""The keys one window's read has handed out, held in a few bytes each.

A paged window keeps every key it yielded (:class:`~tap_callrecords.core.paged._Account`):
to keep records already yielded out of the output when the window is read again (an
expired page token, rows that moved between pages), to tell a key served twice, and to
count distinct records against the vendor's count. A busy account's window holds
hundreds of thousands of calls, and several windows are read at once; kept as strings
in a ``set``, each key costs over a hundred bytes, which is most of a backfill's memory.

So a :class:`KeySet` holds its first :data:`EXACT_KEYS` keys in a ``set`` (a quiet
window pays nothing) and then only 64-bit digests of them (Python's own ``hash``) in an
open-addressing table of machine integers, never more than half full.

Two keys of a window can share a digest (the chance is about n²/2⁶⁵ for n keys, so
about one in ten million for a window of a million calls). The later one is then taken
for a key served twice. That is never silent: the window is read again, and since both
keys come back in every read, it then stops with the paged fetcher's one clear error,
claiming nothing; string hashes are seeded per process, so the next run reads it.
"""

from __future__ import annotations

import typing as t
from array import array

#: Keys held exactly, in a ``set``, before a window's keys are kept as digests.
EXACT_KEYS = 4096
#: Slots of the table the exact keys are folded into (a power of two, at most half full).
FIRST_SLOTS = 1 << 14
#: How many times larger the table grows when it is half full.
GROWTH = 4

_MASK64 = (1 << 64) - 1
#: Fibonacci hashing: spreads digests that differ only in their high bits (integer
#: keys in strides) over the table's slots.
_SPREAD = 0x9E3779B97F4A7C15


class KeySet:
    """A set of hashable keys that only answers :meth:`add` and ``len``."""

    __slots__ = ("_count", "_exact", "_shift", "_slots", "_zero")

    def __init__(self) -> None:
        #: The keys while there are at most :data:`EXACT_KEYS`; then ``None``.
        self._exact: set[t.Any] | None = set()
        #: Digests (0 marks an empty slot: a digest of 0 is kept in ``_zero``).
        self._slots = array("q")
        self._shift = 64
        self._zero = False
        self._count = 0

    def __len__(self) -> int:
        exact = self._exact
        return self._count if exact is None else len(exact)

    def add(self, key: t.Any) -> bool:
        """Hold ``key``; whether it was new (``False``: it, or its digest, was held)."""
        exact = self._exact
        if exact is None:
            digest = hash(key)
            slots = self._slots
            slot = ((digest * _SPREAD) & _MASK64) >> self._shift
            if slots[slot] or not digest:  # taken, or the zero digest: the full path
                return self._add_digest(digest)
            slots[slot] = digest
            self._count += 1
            if 2 * self._count > len(slots):
                self._resize(GROWTH * len(slots), slots)
            return True
        if key in exact:
            return False
        exact.add(key)
        if len(exact) > EXACT_KEYS:
            self._fold(exact)
        return True

    def _fold(self, exact: set[t.Any]) -> None:
        """From now on, digests only."""
        self._exact = None
        self._resize(FIRST_SLOTS, ())
        for key in exact:
            self._add_digest(hash(key))

    def _resize(self, size: int, digests: t.Iterable[int]) -> None:
        self._slots = array("q", bytes(8 * size))
        self._shift = 64 - (size.bit_length() - 1)
        self._count = int(self._zero)
        for digest in digests:
            if digest:
                self._add_digest(digest)

    def _add_digest(self, digest: int) -> bool:
        if not digest:
            if self._zero:
                return False
            self._zero = True
            self._count += 1
            return True
        slots = self._slots
        size = len(slots)
        slot = ((digest * _SPREAD) & _MASK64) >> self._shift
        while True:
            held = slots[slot]
            if not held:
                break
            if held == digest:
                return False
            slot += 1
            if slot == size:
                slot = 0
        slots[slot] = digest
        self._count += 1
        if 2 * self._count > size:
            self._resize(GROWTH * size, slots)
        return True
