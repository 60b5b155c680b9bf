"""``RedisRateLimits``: the rate-limit coordinator of a fleet, kept in Redis.

Every worker of an app that points at the same Redis shares, per key (API key and
operation), one pause and, with pacing, one count of the requests sent in the window, so a
429 or an exhausted window seen by one worker holds back all of them until the reset. Each
step is one Lua script (atomic in Redis), and every key it writes carries its own expiry
(``PX``): a pause ends when it ends, whoever set it, dead or alive.

Redis failing never stops requests: the coordinator logs one warning, coordinates in this
process only (``LocalRateLimits``) and tries Redis again every ``reconnect_after`` seconds.
Unreachable when it *starts*, it raises ``CoordinatorError`` instead, unless
``fallback=True``. It runs under asyncio only (redis-py's asyncio client).
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

from ._exceptions import ArgumentValueError
from ._rate_limits import (
    MAX_PAUSE,
    NOT_PAUSED,
    PROBE_POLL,
    PROBE_SECONDS,
    UNPACED_SECONDS,
    CoordinatorError,
    LocalRateLimits,
    Paused,
    RateLimitCoordinator,
    has_rate_limit_headers,
    window_info,
)

__all__ = ["DEFAULT_PREFIX", "RedisRateLimits"]

logger = logging.getLogger("stream_moderation")

T = TypeVar("T")
DEFAULT_PREFIX = "stream-moderation:rate-limits"

# KEYS: pause, window (hash: limit, reset), used, probe, unpaced. ARGV: pace, probe ms, poll ms.
# Returns 0 (send now) or the milliseconds to wait before asking again.
_ACQUIRE = """
local pause = redis.call('PTTL', KEYS[1])
if pause > 0 then return pause end
if ARGV[1] == '0' then return 0 end
local window = redis.call('PTTL', KEYS[2])
if window > 0 then
  local limit = tonumber(redis.call('HGET', KEYS[2], 'limit'))
  local used = redis.call('INCR', KEYS[3])
  if used == 1 then redis.call('PEXPIRE', KEYS[3], window) end
  if limit == nil or used <= limit then return 0 end
  return window
end
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[2]) then return 0 end
local probe = redis.call('PTTL', KEYS[4])
if probe < 1 then probe = 1 end
return math.min(tonumber(ARGV[3]), probe)
"""

# KEYS: pause. ARGV: ms. Returns {started, ms added}.
_PAUSE = """
local current = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[1])
if current >= want then return {0, 0} end
redis.call('SET', KEYS[1], '1', 'PX', want)
if current > 0 then return {0, want - current} end
return {1, want}
"""

# KEYS: as _ACQUIRE. ARGV: limit, remaining, reset, ms to the reset, unpaced ms; limit ''
# when the answer had no X-RateLimit-* headers.
_OBSERVE = """
if ARGV[1] == '' then
  redis.call('SET', KEYS[5], '1', 'PX', ARGV[5])
  redis.call('DEL', KEYS[4])
  return 0
end
local limit = tonumber(ARGV[1])
local remaining = tonumber(ARGV[2])
local reset = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local used = limit - remaining
local known = tonumber(redis.call('HGET', KEYS[2], 'reset'))
if redis.call('PTTL', KEYS[2]) <= 0 then known = nil end
if known == nil or reset > known then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'limit', limit, 'reset', reset)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('SET', KEYS[3], used, 'PX', ttl)
  redis.call('DEL', KEYS[4])
elseif reset == known then
  redis.call('HSET', KEYS[2], 'limit', limit)
  local current = tonumber(redis.call('GET', KEYS[3]) or '0')
  if current < used then
    redis.call('SET', KEYS[3], used, 'PX', math.max(redis.call('PTTL', KEYS[2]), 1))
  end
else
  return 0
end
if remaining <= 0 and redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('SET', KEYS[1], '1', 'PX', ttl)
end
return 1
"""


def masked_url(url: str) -> str:
    """The URL with its password (if any) as ``***``: what reprs, logs and errors show."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<a URL that does not parse>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _require_asyncio(what: str) -> None:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise CoordinatorError(
            f"{what} needs asyncio (it uses redis-py's asyncio client), and this is another "
            "event loop (trio?): use LocalRateLimits there"
        ) from None


class RedisRateLimits(RateLimitCoordinator):
    """Rate limits coordinated through Redis for every worker of the app.

    ``RedisRateLimits("redis://localhost:6379/0")``, then
    ``AsyncStream(rate_limits=limits)`` in each worker. ``pace`` (on by default) keeps the
    fleet under each window's quota; off, only pauses are shared. ``fallback=True``: start
    even when Redis is unreachable (coordinating in this process until it is back).
    ``timeout``: seconds per Redis command (a slow Redis must not slow every request).
    ``prefix``: of the Redis keys, to share one Redis between unrelated fleets.
    """

    def __init__(
        self,
        url: str,
        *,
        pace: bool = True,
        fallback: bool = False,
        reconnect_after: float = 5.0,
        timeout: float = 0.5,
        prefix: str = DEFAULT_PREFIX,
        probe_seconds: float = PROBE_SECONDS,
    ) -> None:
        try:
            import redis.asyncio as aioredis
            import redis.exceptions
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise ImportError(
                "RedisRateLimits needs redis-py: pip install 'stream-moderation[redis]'"
            ) from None
        if not isinstance(url, str):
            raise ArgumentValueError(f"the Redis URL must be a string, got {type(url).__name__}")
        self.url = masked_url(url)
        """The URL, its password masked."""
        try:
            self._redis = aioredis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError as exc:
            reason = str(exc).replace(url, self.url)
            raise ArgumentValueError(
                f"not a Redis URL: {self.url!r} ({reason}); expected redis://[:password@]host"
                "[:port][/db], rediss://... or unix:///path"
            ) from None
        self.pace = bool(pace)
        self.fallback = bool(fallback)
        self.reconnect_after = reconnect_after
        self.prefix = prefix
        self.probe_seconds = probe_seconds
        self._local = LocalRateLimits(pace=pace, probe_seconds=probe_seconds)
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.RedisError,
            OSError,
            TimeoutError,
        )
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._pause = self._redis.register_script(_PAUSE)
        self._observe = self._redis.register_script(_OBSERVE)
        self._started = False
        self._retry_at: float | None = None
        """While Redis is unreachable: when to try it again (``time.monotonic``)."""
        self.rate_limited = 0
        self.outages = 0
        """How many times Redis became unreachable (each logged once, as a warning)."""

    def __repr__(self) -> str:
        return f"RedisRateLimits({self.url!r}, pace={self.pace}, fallback={self.fallback})"

    def __reduce__(self) -> Any:
        raise TypeError("RedisRateLimits cannot be pickled: create one in each process")

    @property
    def pauses(self) -> int:  # type: ignore[override]
        return self._local.pauses

    @property
    def paused_seconds(self) -> float:  # type: ignore[override]
        return self._local.paused_seconds

    @property
    def connected(self) -> bool:
        """Whether the last Redis command succeeded (False while falling back)."""
        return self._started and self._retry_at is None

    def _keys(self, key: str) -> list[str]:
        base = f"{self.prefix}:{{{key}}}"  # one hash slot per key, for Redis Cluster
        return [f"{base}:{part}" for part in ("pause", "window", "used", "probe", "unpaced")]

    # -- connection -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        _require_asyncio("RedisRateLimits")
        try:
            await self._redis.ping()
        except self._errors as exc:
            if not self.fallback:
                raise CoordinatorError(
                    f"cannot reach Redis at {self.url} ({self._reason(exc)}): check the URL "
                    "and that the server runs, or pass fallback=True to start anyway and "
                    "coordinate rate limits in this process until Redis is reachable"
                ) from None
            self._started = True
            self._down(exc)
            return
        self._started = True

    async def aclose(self) -> None:
        close = getattr(self._redis, "aclose", None) or self._redis.close
        await close()

    def _reason(self, exc: BaseException) -> str:
        text = str(exc) or "no detail"
        return f"{type(exc).__name__}: {text}"

    def _down(self, exc: BaseException) -> None:
        if self._retry_at is None:
            self.outages += 1
            logger.warning(
                "rate limits: Redis at %s is unreachable (%s); coordinating in this process "
                "only, trying Redis again every %g s",
                self.url,
                self._reason(exc),
                self.reconnect_after,
            )
        else:
            logger.debug("rate limits: Redis at %s still unreachable", self.url)
        self._retry_at = time.monotonic() + self.reconnect_after

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T | None:
        """The command's result, or None when Redis is (or just became) unreachable."""
        if self._retry_at is not None and time.monotonic() < self._retry_at:
            return None
        try:
            result = await command()
        except self._errors as exc:
            self._down(exc)
            return None
        if self._retry_at is not None:
            self._retry_at = None
            logger.info("rate limits: Redis at %s is reachable again", self.url)
        return result

    # -- the coordinator ------------------------------------------------------------------

    async def acquire(self, key: str) -> None:
        await self.start()
        keys = self._keys(key)
        args = [int(self.pace), int(self.probe_seconds * 1000), int(PROBE_POLL * 1000)]
        while True:
            wait = self._local.paused_for(key)
            if wait <= 0:
                waited = await self._call(lambda: self._acquire(keys=keys, args=args))
                wait = self._local.try_acquire(key) if waited is None else int(waited) / 1000
            if wait <= 0:
                return
            await anyio.sleep(wait)

    async def pause(self, key: str, seconds: float) -> Paused:
        await self.start()
        local = self._local.pause_now(key, seconds)
        ms = int(min(max(0.0, seconds), MAX_PAUSE) * 1000)
        if ms <= 0:
            return NOT_PAUSED
        keys = self._keys(key)[:1]
        shared = await self._call(lambda: self._pause(keys=keys, args=[ms]))
        if shared is None:
            return local
        started, added = shared
        return Paused(bool(int(started)), int(added) / 1000)

    async def observe(self, key: str, headers: Mapping[str, str]) -> None:
        await self.start()
        self._local.observe_now(key, headers)
        info = window_info(headers)
        if info is not None:
            ms = max(1, int(info.seconds_left * 1000))
            args: list[Any] = [info.limit, info.remaining, info.reset, ms, 0]
        elif not has_rate_limit_headers(headers):
            args = ["", 0, 0, 0, int(UNPACED_SECONDS * 1000)]
        else:
            return  # headers of a window that has ended
        keys = self._keys(key)
        await self._call(lambda: self._observe(keys=keys, args=args))
