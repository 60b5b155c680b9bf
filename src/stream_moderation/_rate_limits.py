"""Rate limits shared by many requests: one coordinator per process, or per fleet.

Stream counts requests per app and per endpoint in fixed windows (one minute) and answers
429 past the window's quota; every answer says where the window stands
(``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``, the window's end in unix seconds). A
coordinator keeps what the answers said, per key (the app's API key and the operation),
and every request of a key waits for it before it is sent:

- **pauses**: a 429 (for its ``Retry-After``, else until ``X-RateLimit-Reset``) or an
  answer with ``X-RateLimit-Remaining: 0`` (until its reset) holds back every request of
  the key until then;
- **pacing** (``pace=True``): the requests sent in the window are counted (and the count
  is raised to what ``Remaining`` says the API counted), and once the window's quota is
  used, the next request waits for the reset. While nothing is known of the window (at the
  start of each), one request goes first and the others wait for its answer (at most
  ``probe_seconds``). A key whose answers carry no X-RateLimit-* headers is not paced.

``LocalRateLimits`` keeps this in the process (anyio: asyncio and trio);
``RedisRateLimits`` (``stream_moderation[redis]``) keeps it in Redis for every worker of
the app. Every pause, count and probe expires on its own, so a worker that dies never
leaves the others waiting past a window.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

import anyio
import attrs

from ._errors import StreamError
from ._logs import fields
from ._retry import server_wait

__all__ = [
    "DEFAULT_PAUSE",
    "MAX_PAUSE",
    "CoordinatorError",
    "LocalRateLimits",
    "Paused",
    "RateLimitCoordinator",
    "WindowInfo",
    "window_info",
]

logger = logging.getLogger("stream_moderation")

DEFAULT_PAUSE = 1.0
"""Seconds a 429 pauses its key when it says nothing of when to come back."""
MAX_PAUSE = 61.0
"""The longest pause (and window) a coordinator keeps: Stream's windows are one minute."""
PROBE_SECONDS = 2.0
"""How long the first request of an unknown window holds the others back at most."""
PROBE_POLL = 0.05
"""How often a request waiting for the probe's answer looks again."""
UNPACED_SECONDS = 60.0
"""How long a key whose answers carry no X-RateLimit-* headers goes unpaced."""
RESET_MARGIN = 0.05
"""Seconds past a window's reset before its requests go again: a request sent a moment
early, by a clock a little ahead of the API's, would be counted in the ended window."""


class CoordinatorError(StreamError):
    """The rate-limit coordinator cannot work as configured: Redis unreachable when it
    starts (and ``fallback`` not chosen), or an event loop it cannot run on."""


@attrs.frozen
class Paused:
    """What a 429 did to its key's pause."""

    started: bool
    """The key was not paused before."""
    added: float
    """Seconds by which the pause was lengthened (0: an earlier pause already covered it)."""


NOT_PAUSED = Paused(False, 0.0)


@attrs.frozen
class WindowInfo:
    """What an answer's X-RateLimit-* headers say of its window."""

    limit: int
    remaining: int
    reset: int
    """The window's end, unix seconds (the window's identity)."""
    seconds_left: float
    """Seconds from now to the reset (and ``RESET_MARGIN``), by this machine's clock."""


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) < 1e15 else None  # not NaN, not huge


def window_info(headers: Mapping[str, str], now: float | None = None) -> WindowInfo | None:
    """The window an answer describes, or None when its headers do not say (or say a
    window that has ended)."""
    limit = _number(headers, "x-ratelimit-limit")
    remaining = _number(headers, "x-ratelimit-remaining")
    reset = _number(headers, "x-ratelimit-reset")
    if limit is None or remaining is None or reset is None or limit < 1:
        return None
    left = reset - (time.time() if now is None else now)
    if left <= 0:
        return None
    left = min(left + RESET_MARGIN, MAX_PAUSE)
    return WindowInfo(int(limit), max(0, int(remaining)), int(reset), left)


def has_rate_limit_headers(headers: Mapping[str, str]) -> bool:
    return any(
        headers.get(name) is not None
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
    )


class RateLimitCoordinator(abc.ABC):
    """Where the requests of a key learn whether they may go: ``acquire`` before each
    request, ``report`` after each answer. Used by ``check_many`` and, given as
    ``AsyncStream(rate_limits=...)``, by every call of the client.

    Counters (this process's view): ``rate_limited`` (429s reported), ``pauses`` (429s that
    paused a key that was not paused), ``paused_seconds``.
    """

    pace: bool
    rate_limited: int
    pauses: int
    paused_seconds: float

    async def start(self) -> None:  # noqa: B027 - nothing to start by default
        """Make ready (connect); called by ``AsyncStream.__aenter__`` and on first use."""

    async def aclose(self) -> None:  # noqa: B027 - nothing to close by default
        """Release what the coordinator holds (a Redis connection pool)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @abc.abstractmethod
    async def acquire(self, key: str) -> None:
        """Wait until a request of ``key`` may be sent (and, pacing, count it)."""

    @abc.abstractmethod
    async def pause(self, key: str, seconds: float) -> Paused:
        """Hold back every request of ``key`` for ``seconds`` from now (at most
        ``MAX_PAUSE``; never shortens a pause)."""

    @abc.abstractmethod
    async def observe(self, key: str, headers: Mapping[str, str]) -> None:
        """Learn the window from an answer's X-RateLimit-* headers; ``Remaining: 0``
        pauses the key until the reset."""

    async def report(
        self,
        key: str,
        status: int,
        headers: Mapping[str, str],
        *,
        pause: float | None = None,
    ) -> Paused:
        """After an answer: a 429 pauses the key (for ``pause`` seconds, else as long as
        the answer asks, else ``DEFAULT_PAUSE``), then its headers are observed."""
        outcome = NOT_PAUSED
        if status == 429:
            self.rate_limited += 1
            if pause is None:
                pause = server_wait(429, headers)
            outcome = await self.pause(key, DEFAULT_PAUSE if pause is None else pause)
            if outcome.started:
                logger.info(
                    "rate limited (429) on %s: its requests wait %.2f s",
                    _operation_of(key),
                    outcome.added,
                    extra=fields(operation=_operation_of(key), status=429, wait=outcome.added),
                )
        await self.observe(key, headers)
        return outcome


def _operation_of(key: str) -> str:
    """The operation of a coordinator key (``<api key>:<operation>``)."""
    return key.rpartition(":")[2]


@attrs.define
class _Key:
    """What is known of one key; times are ``time.monotonic``."""

    paused_until: float = 0.0
    reset: int | None = None
    """The API's reset of the window known (its identity)."""
    window_ends: float = 0.0
    limit: int = 0
    used: int = 0
    probe_until: float = 0.0
    unpaced_until: float = 0.0


class LocalRateLimits(RateLimitCoordinator):
    """Rate limits coordinated in this process: every request of a key, from any task (of
    one event loop), waits for the same pause; with ``pace=True``, also for the window's
    quota. Works under asyncio and trio.

    ``check_many`` uses one of its own per batch (``pace=False``) unless the client has one.
    """

    def __init__(
        self,
        *,
        pace: bool = False,
        probe_seconds: float = PROBE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pace = bool(pace)
        self.probe_seconds = probe_seconds
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self.rate_limited = 0
        self.pauses = 0
        self.paused_seconds = 0.0

    def __repr__(self) -> str:
        return f"LocalRateLimits(pace={self.pace})"

    def _key(self, key: str) -> _Key:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key()
        return state

    def paused_for(self, key: str) -> float:
        """Seconds until the key's pause ends (0: not paused)."""
        state = self._keys.get(key)
        return 0.0 if state is None else max(0.0, state.paused_until - self._clock())

    def try_acquire(self, key: str) -> float:
        """0 when a request of ``key`` may go now (counted, when pacing), else the seconds
        to wait before asking again."""
        now = self._clock()
        state = self._key(key)
        if state.paused_until > now:
            return state.paused_until - now
        if not self.pace:
            return 0.0
        if state.window_ends > now:
            if state.used < state.limit:
                state.used += 1
                return 0.0
            return state.window_ends - now
        if state.unpaced_until > now:
            return 0.0
        if state.probe_until > now:
            return min(PROBE_POLL, state.probe_until - now)
        state.probe_until = now + self.probe_seconds
        return 0.0

    async def acquire(self, key: str) -> None:
        waited = False
        while (wait := self.try_acquire(key)) > 0:
            if not waited and wait > PROBE_POLL:
                waited = True
                logger.info(
                    "rate limits: %s waits %.2f s (%s)",
                    _operation_of(key),
                    wait,
                    "paused" if self.paused_for(key) > 0 else "the window's quota is used",
                    extra=fields(operation=_operation_of(key), wait=round(wait, 3)),
                )
            await anyio.sleep(wait)

    def pause_now(self, key: str, seconds: float) -> Paused:
        now = self._clock()
        state = self._key(key)
        until = now + min(max(0.0, seconds), MAX_PAUSE)
        if until <= state.paused_until:
            return NOT_PAUSED
        started = state.paused_until <= now
        added = until - max(now, state.paused_until)
        state.paused_until = until
        self.pauses += started
        self.paused_seconds += added
        return Paused(started, added)

    async def pause(self, key: str, seconds: float) -> Paused:
        return self.pause_now(key, seconds)

    def observe_now(self, key: str, headers: Mapping[str, str]) -> None:
        now = self._clock()
        state = self._key(key)
        info = window_info(headers)
        if info is None:
            if not has_rate_limit_headers(headers):
                state.unpaced_until = now + UNPACED_SECONDS
                state.probe_until = 0.0
            return
        used = info.limit - info.remaining
        if state.reset is None or info.reset > state.reset or state.window_ends <= now:
            state.reset = info.reset
            state.window_ends = now + info.seconds_left
            state.limit = info.limit
            state.used = used
            state.probe_until = 0.0
        elif info.reset == state.reset:
            state.limit = info.limit
            state.used = max(state.used, used)
        else:
            return  # an answer from a window that has ended
        if info.remaining == 0:
            state.paused_until = max(state.paused_until, now + info.seconds_left)

    async def observe(self, key: str, headers: Mapping[str, str]) -> None:
        self.observe_now(key, headers)
