"""A client-side request-rate cap, shared by every stream of one vendor configuration.

Some vendors enforce one limit per account that other integrations
share; staying under a configured rate is cheaper than bouncing off 429s.
"""

from __future__ import annotations

import threading
import time


class RequestRateLimiter:
    """Spaces requests at least ``1 / max_per_second`` apart; ``None`` means no cap."""

    def __init__(self, max_per_second: float | None) -> None:
        # A 2 % margin keeps us under the limit despite clock granularity on either side.
        self._interval = 1.02 / max_per_second if max_per_second else 0.0
        self._next_allowed = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may be sent."""
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            if now < self._next_allowed:
                time.sleep(self._next_allowed - now)
                now = self._next_allowed
            self._next_allowed = now + self._interval
