"""When to retry a failed request, and how long to wait first.

Retried: connection errors, timeouts, 408, 429 and 5xx, unless the API marks the error
``unrecoverable``. The wait grows exponentially with jitter, capped, unless the API says
how long to wait (``Retry-After`` in seconds or as an HTTP date, or for a 429 the
``X-RateLimit-Reset`` time): then that wait is used, and a wait longer than
``max_server_wait`` is not waited for at all: the error is raised with ``retry_after``.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

import attrs

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "server_wait"]

RETRYABLE_STATUSES = frozenset({408, 429})


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter; the numbers are seconds."""

    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_server_wait: float = 60.0
    jitter: float = 0.25
    """The wait is shortened by up to this fraction at random, so clients spread out."""
    retry_rate_limited: bool = True
    """Whether a call retries its own 429s. ``check_many`` turns this off for its calls and
    backs off for the whole batch instead (every worker waits for the same moment)."""

    def backoff(self, retries_done: int) -> float:
        delay = min(self.max_delay, self.initial_delay * float(2**retries_done))
        return delay * (1.0 - self.jitter * random.random())

    def delay(
        self,
        retries_done: int,
        max_retries: int,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        unrecoverable: bool = False,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when there is none.

        ``status`` None means the request failed without a response (connection error or
        timeout), which is always worth another attempt.
        """
        if retries_done >= max_retries or unrecoverable:
            return None
        if status == 429 and not self.retry_rate_limited:
            return None
        if status is not None and status not in RETRYABLE_STATUSES and status < 500:
            return None
        wait = server_wait(status, headers) if headers is not None else None
        if wait is None:
            return self.backoff(retries_done)
        return wait if wait <= self.max_server_wait else None


def server_wait(
    status: int | None, headers: Mapping[str, str], now: float | None = None
) -> float | None:
    """How long the API asked to wait: Retry-After, else (on 429) X-RateLimit-Reset."""
    now = time.time() if now is None else now
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, when.timestamp() - now)
    if status == 429:
        reset = headers.get("x-ratelimit-reset")
        if reset:
            try:
                return max(0.0, float(reset) - now)
            except ValueError:
                return None
    return None
