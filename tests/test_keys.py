"""The keys a window's read has handed out: a ``KeySet`` answers as a ``set`` would."""

from __future__ import annotations

import random
import uuid

from tap_callrecords.core.keys import EXACT_KEYS, KeySet


def test_a_keyset_answers_add_as_a_set_would_past_the_fold_and_every_growth():
    generator = random.Random(7)
    keys: list[object] = [str(uuid.UUID(int=generator.getrandbits(128))) for _ in range(60_000)]
    keys += [index << 20 for index in range(30_000)]  # integer keys in strides of 2**20
    keys += [0, None, 0.0]
    generator.shuffle(keys)
    keys += generator.sample(keys, 5_000)  # each served again, after the fold

    held, expected = KeySet(), set()
    answers = [held.add(key) for key in keys]

    assert answers == [not (key in expected or expected.add(key)) for key in keys]
    assert len(held) == len(expected) == 90_001  # 0, 0 << 20 and 0.0 are one key, as in a set
    assert len(expected) > 20 * EXACT_KEYS


def test_a_quiet_window_holds_its_keys_themselves():
    held = KeySet()
    assert all(held.add(number) for number in range(EXACT_KEYS))
    assert not held.add(EXACT_KEYS - 1)
    assert len(held) == EXACT_KEYS


def test_two_keys_of_one_digest_are_told_apart_only_while_the_window_is_quiet():
    """``hash(-1) == hash(-2)`` in CPython: the collision the digests may meet, by design."""
    quiet, busy = KeySet(), KeySet()
    for number in range(1, 2 * EXACT_KEYS):
        busy.add(number)
    assert quiet.add(-1) and quiet.add(-2)
    assert busy.add(-1) and not busy.add(-2)
