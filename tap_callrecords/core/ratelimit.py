"""A client-side request-rate cap, shared by every request of one vendor configuration.

Some vendors enforce one limit per account that other integrations share; staying
under a configured rate is cheaper than bouncing off 429s. One limiter serves every
window in flight, every stream of the account and its token renewals, so the cap holds
however many windows are read at once; and a 429 (or a ``Retry-After``) met by one of
them pauses all of them (:meth:`RequestRateLimiter.pause`): the vendor's limit is the
account's, not the window's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

#: How much later than its turn a request may arrive, relative to another (the network, a
#: busy machine, clock granularity on either side): granted once per second, not once per
#: request, so the cap holds over every one-second span without costing a share of it.
SPAN_MARGIN_SECONDS = 0.05


class RequestRateLimiter:
    """Spaces requests ``1 / max_per_second`` apart; ``None`` means no cap.

    The ``n`` requests a second holds at the cap (its whole part) are also kept a margin
    more than ``n / max_per_second`` apart, first to last: with a whole cap, no
    one-second span holds more than the cap, whatever the arrivals' jitter up to the
    margin. Spacing alone would need a margin on every interval, which costs its share
    of the cap on every request.
    """

    def __init__(self, max_per_second: float | None) -> None:
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        #: Requests a second holds at the cap; the send times of the latest that many, and
        #: the least time from the first of them to the next.
        self._per_span = max(1, math.floor(max_per_second)) if max_per_second else 0
        self._sent: deque[float] = deque(maxlen=self._per_span or None)
        self._span = self._per_span * self._interval + SPAN_MARGIN_SECONDS
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
            sent = self._sent
            if self._interval and len(sent) == self._per_span:
                allowed = max(allowed, sent[0] + self._span)
            if now < allowed:
                time.sleep(allowed - now)
                # From the moment really woken: a sleep that overran (a busy machine) must
                # not let the next request follow closer than the interval.
                now = time.monotonic()
            self._next_allowed = now + self._interval
            if self._interval:
                sent.append(now)
