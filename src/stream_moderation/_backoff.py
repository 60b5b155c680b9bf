"""A backoff shared by many concurrent requests: one "not before" moment for all of them.

When one request of a batch is rate limited, the API is telling the whole app to slow
down, not that one request: every worker of the batch waits until the same moment before
sending again, instead of each retrying on its own schedule and hitting the limit again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

__all__ = ["SharedBackoff"]


class SharedBackoff:
    """The moment before which no request of a batch is sent, pushed back by each 429.

    Used from one event loop (the workers of one batch); times are ``time.monotonic``.
    """

    __slots__ = ("_clock", "_not_before", "paused_seconds", "pauses")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._not_before = 0.0
        self.pauses = 0
        """How many times the batch was paused (a 429 while it was not paused already)."""
        self.paused_seconds = 0.0
        """For how long, in total, the batch was held back."""

    def defer(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never brings the moment closer)."""
        now = self._clock()
        until = now + max(0.0, seconds)
        if until <= self._not_before:
            return
        if self._not_before <= now:
            self.pauses += 1
        self.paused_seconds += until - max(now, self._not_before)
        self._not_before = until

    def remaining(self) -> float:
        """Seconds until requests may be sent again (0 when they may be sent now)."""
        return max(0.0, self._not_before - self._clock())

    async def wait(self) -> None:
        """Sleep until requests may be sent; the moment may move while sleeping."""
        while (delay := self.remaining()) > 0:
            await anyio.sleep(delay)
