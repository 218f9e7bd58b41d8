"""A client-side request-rate cap, shared by every request of one vendor configuration.

Some vendors enforce one limit per account that other integrations share; staying
under a configured rate is cheaper than bouncing off 429s. One limiter serves every
window in flight, every stream of the account and its token renewals, so the cap holds
however many windows are read at once; and a 429 (or a ``Retry-After``) met by one of
them pauses all of them (:meth:`RequestRateLimiter.pause`): the vendor's limit is the
account's, not the window's.
"""

from __future__ import annotations

import threading
import time


class RequestRateLimiter:
    """Spaces requests at least ``1 / max_per_second`` apart; ``None`` means no cap."""

    def __init__(self, max_per_second: float | None) -> None:
        # An 8 % margin keeps us under the limit despite clock granularity on either side
        # and the few milliseconds between a thread's turn and its request leaving.
        self._interval = 1.08 / max_per_second if max_per_second else 0.0
        self._next_allowed = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """No request leaves for ``seconds`` from now (the vendor asked one of them to wait)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait(self) -> None:
        """Block until the next request may be sent."""
        if not self._interval and not self._paused_until:
            return
        with self._lock:
            now = time.monotonic()
            allowed = max(self._next_allowed, self._paused_until)
            if now < allowed:
                time.sleep(allowed - now)
                # From the moment really woken: a sleep that overran (a busy machine) must
                # not let the next request follow closer than the interval.
                now = time.monotonic()
            self._next_allowed = now + self._interval
