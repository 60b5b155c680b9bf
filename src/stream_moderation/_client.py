"""The clients: AsyncStream (primary) and Stream (blocking), thin drivers over ClientCore.

Each client owns one httpx connection pool, shared by every call and safe to use from
many tasks (or threads, for Stream) at once. A call builds its request once, sends it,
reads the body within its limit, and on a retryable failure sleeps and sends the same
request again; ``ClientCore`` decides.

After ``os.fork()`` (Celery's prefork pool, gunicorn ``--preload``, multiprocessing with
fork) a client re-creates the pool it owns on its first use in the child, so that no
socket is shared with the parent; a pool it was given (``http_client=``, or an httpx
``transport=``) cannot be re-created, and its first use in the child raises.
"""

from __future__ import annotations

import contextlib
import os
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, Unpack, cast

import anyio
import attrs
import httpx

from . import _logs
from ._auth import Credentials
from ._body import BodyTooLarge, BoundedBody, UnsupportedEncoding
from ._core import (
    ATTEMPT_PROGRESS,
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Attempt,
    Attempted,
    Call,
    ClientCore,
    check_base_url,
)
from ._exceptions import ArgumentTypeError, ArgumentValueError, StreamError
from ._generated.resources import PageRequest
from ._options import RequestOptions, TimeoutTypes
from ._pagination import AsyncItems, Items
from ._proxies import check_proxy, resolve_proxy
from ._resources import AsyncModeration
from ._retry import RetryPolicy
from ._types import UNSET, Operation, StreamResponse, Unset

if TYPE_CHECKING:
    from . import webhooks
    from ._rate_limits import RateLimitCoordinator
    from ._sync_resources import Moderation
    from .aiohttp import AiohttpResponse, AiohttpTransport

__all__ = ["AsyncStream", "ForkError", "Stream"]

# STREAM_MODERATION_LOG / STREAM_MODERATION_LOG_FORMAT, and the redaction filter
_logs.configure_from_env()

T = TypeVar("T")
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
_BODY_ERRORS = (httpx.RequestError, BodyTooLarge, UnsupportedEncoding, zlib.error)


class ForkError(StreamError):
    """A client whose connection pool was given to it (``http_client=``, an httpx
    ``transport=``) was used in a process forked from the one that made it: its sockets
    would be shared with the parent. Create the client in the child instead."""


class _Pool(Generic[HttpT]):
    """The http client of a client and its clones, re-created after a fork when owned."""

    __slots__ = ("_http", "_make", "_pid", "shareable")
    _http: HttpT
    _make: Callable[[], HttpT] | None

    def __init__(self, http: HttpT, make: Callable[[], HttpT] | None, shareable: bool) -> None:
        self._http = http
        self._make = make
        """Builds a new http client (None: the pool was given, and cannot be re-created)."""
        self.shareable = shareable
        """Whether a given pool holds no sockets (an in-process transport) and may be kept."""
        self._pid = os.getpid()

    def get(self) -> HttpT:
        if self._pid != os.getpid():
            self._after_fork()
        return self._http

    def _after_fork(self) -> None:
        if self._make is None and not self.shareable:
            raise ForkError(
                f"this client's connection pool was made in process {self._pid} and this is "
                f"process {os.getpid()} (a fork): its sockets belong to the parent. Create "
                "the client in the child, or let it own its pool (no http_client=)"
            )
        if self._make is not None:
            # the parent's pool is dropped, not closed: closing would act on sockets the
            # parent still uses; the child's copies of them close when collected
            self._http = self._make()
        self._pid = os.getpid()

    @property
    def owned(self) -> bool:
        return self._make is not None


def _settings(
    api_key: str | None, api_secret: str | None, base_url: str | None, allow_insecure_http: bool
) -> tuple[Credentials, str]:
    credentials = Credentials(
        api_key if api_key is not None else os.environ.get("STREAM_API_KEY", ""),
        api_secret if api_secret is not None else os.environ.get("STREAM_API_SECRET", ""),
    )
    url = base_url or os.environ.get("STREAM_BASE_URL") or DEFAULT_BASE_URL
    return credentials, check_base_url(url, allow_insecure_http=allow_insecure_http)


def _transport_kind(transport: object | None) -> str:
    return "aiohttp" if getattr(transport, "is_aiohttp_transport", False) else "httpx"


class _ClientBase:
    """What both clients share: settings, the pool's ownership, tokens, options, repr."""

    _core: ClientCore
    _pool: _Pool[Any]
    _owns_http: bool
    _rate_limits: RateLimitCoordinator | None = None

    def _setup(
        self,
        api_key: str | None,
        api_secret: str | None,
        *,
        base_url: str | None,
        timeout: TimeoutTypes,
        max_retries: int,
        deadline: float | None,
        retry_unsafe: bool,
        max_response_bytes: int,
        strict_response_validation: bool,
        default_headers: Mapping[str, str] | None,
        allow_insecure_http: bool,
        proxy: str | httpx.URL | None,
        trust_env: bool,
        http_client: object | None,
        transport: object | None,
    ) -> httpx.URL | None:
        """Checks the settings; returns the proxy for the SDK's own transport."""
        credentials, url = _settings(api_key, api_secret, base_url, allow_insecure_http)
        self._core = ClientCore(
            credentials,
            base_url=url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            deadline=deadline,
            retry_unsafe=retry_unsafe,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
        )
        if http_client is not None and transport is not None:
            raise ArgumentValueError("pass either http_client or transport, not both")
        self._owns_http = http_client is None
        if http_client is not None:
            return None  # its proxies are the http client's own
        choice = resolve_proxy(url, proxy=proxy, trust_env=trust_env)
        check_proxy(
            url,
            choice,
            allow_insecure_http=allow_insecure_http,
            transport=_transport_kind(transport),
        )
        if transport is not None:
            give = getattr(transport, "use_proxy", None)
            if callable(give) and getattr(transport, "is_aiohttp_transport", False):
                give(choice.url)  # the aiohttp transport takes the client's choice
        return choice.url

    @property
    def _http(self) -> Any:
        return self._pool.get()

    @property
    def api_key(self) -> str:
        return self._core.credentials.api_key

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._core.timeout

    @property
    def max_retries(self) -> int:
        return self._core.max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds a call may take, every attempt and wait included (None: no limit)."""
        return self._core.deadline

    @property
    def retry_unsafe(self) -> bool:
        """Whether operations that are not resendable are sent again after a failure that
        may have followed processing (off by default)."""
        return self._core.retry_unsafe

    @property
    def max_response_bytes(self) -> int:
        return self._core.max_response_bytes

    @property
    def strict_response_validation(self) -> bool:
        """Whether a response lacking a field the spec requires raises
        APIResponseValidationError (off by default: the field reads None, with a warning)."""
        return self._core.strict_response_validation

    @property
    def rate_limits(self) -> RateLimitCoordinator | None:
        """The rate-limit coordinator every call waits for (None: each call on its own)."""
        return self._rate_limits

    def _rate_limit_key(self, operation: str) -> str:
        """What a coordinator counts by: the app (its API key) and the endpoint."""
        return f"{self.api_key}:{operation}"

    def create_token(
        self,
        user_id: str,
        *,
        expiration: int | float | timedelta | datetime | None = None,
        issued_at: datetime | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A user token (HS256 JWT with ``user_id``) for Stream's client-side SDKs.

        ``expiration`` is a lifetime in seconds or a timedelta, or an absolute datetime;
        without it the token does not expire.
        """
        return self._core.credentials.create_token(
            user_id, expiration=expiration, issued_at=issued_at, claims=claims
        )

    def verify_webhook(self, body: bytes | str, signature: str | bytes | None) -> bool:
        """Whether ``signature`` (the ``X-Signature`` header) is this app's signature of
        ``body`` (the raw request body, gzip-compressed or not)."""
        from . import webhooks

        return webhooks.verify_signature(body, signature, self._core.credentials.secret)

    def parse_webhook(
        self,
        body: bytes | str,
        signature: str | bytes | None,
        *,
        max_age: float | timedelta | None = None,
    ) -> webhooks.Event:
        """Verify a webhook call with this client's secret and parse its event (with
        ``max_age``, refuse one created further from now: see ``verify_and_parse``).

        The signature is required: a call without one raises InvalidSignatureError (to parse
        a payload you already trust, use ``stream_moderation.webhooks.parse_event``). An
        event lacking a field the spec requires raises InvalidEventError when the client
        has ``strict_response_validation``, and reads the field as None otherwise.
        """
        secret = self._core.credentials.secret
        strict = self._core.strict_response_validation
        from . import webhooks

        return webhooks.verify_and_parse(
            body, signature, secret, max_age=max_age, strict_validation=strict
        )

    def _options_core(
        self,
        timeout: TimeoutTypes | Unset,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None = None,
        deadline: float | Unset | None = UNSET,
        retry_unsafe: bool | None = None,
        max_response_bytes: int | None = None,
        strict_response_validation: bool | None = None,
    ) -> ClientCore:
        core = self._core
        headers = dict(core.default_headers.items())
        headers.update(default_headers or {})
        return ClientCore(
            core.credentials,
            base_url=core.base_url,
            timeout=core.timeout if timeout is UNSET else timeout,  # type: ignore[arg-type]
            max_retries=core.max_retries if max_retries is None else max_retries,
            default_headers=headers,
            retry_policy=retry_policy or core.retry_policy,
            deadline=core.deadline if deadline is UNSET else deadline,  # type: ignore[arg-type]
            retry_unsafe=core.retry_unsafe if retry_unsafe is None else retry_unsafe,
            max_response_bytes=(
                core.max_response_bytes if max_response_bytes is None else max_response_bytes
            ),
            strict_response_validation=(
                core.strict_response_validation
                if strict_response_validation is None
                else strict_response_validation
            ),
        )

    def _clone(
        self,
        timeout: TimeoutTypes | Unset,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None = None,
        deadline: float | Unset | None = UNSET,
        retry_unsafe: bool | None = None,
        max_response_bytes: int | None = None,
        strict_response_validation: bool | None = None,
    ) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._core = self._options_core(
            timeout,
            max_retries,
            default_headers,
            retry_policy,
            deadline,
            retry_unsafe,
            max_response_bytes,
            strict_response_validation,
        )
        clone._owns_http = False
        clone._bind_resources()
        return clone

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | Unset = UNSET,
        max_retries: int | None = None,
        deadline: float | Unset | None = UNSET,
        retry_unsafe: bool | None = None,
        max_response_bytes: int | None = None,
        strict_response_validation: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A client with other defaults, sharing this one's connection pool and credentials."""
        return self._clone(
            timeout,
            max_retries,
            default_headers,
            deadline=deadline,
            retry_unsafe=retry_unsafe,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
        )

    def _bind_resources(self) -> None:
        raise NotImplementedError

    def _pausing_client(self) -> Self:
        """This client, except that a call does not retry its own 429s: ``check_many``
        pauses the whole batch instead. Shares the connection pool."""
        policy = attrs.evolve(self._core.retry_policy, retry_rate_limited=False)
        clone = self._clone(UNSET, None, None, retry_policy=policy)
        clone._rate_limits = None  # the batch consults the coordinator, once per request
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={self.api_key!r}, base_url={self.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} cannot be pickled: it holds the API secret")


def _is_coordinator(value: object) -> bool:
    from ._rate_limits import RateLimitCoordinator  # loaded only by a client given one

    return isinstance(value, RateLimitCoordinator)


def _shareable(transport: object | None) -> bool:
    """Whether a given transport holds no sockets (so a fork may keep using it)."""
    if transport is None:
        return False
    if getattr(transport, "is_aiohttp_transport", False):
        return True  # it re-creates its own session after a fork
    return not isinstance(transport, (httpx.HTTPTransport, httpx.AsyncHTTPTransport))


def _pool_for(
    http_client: HttpT | None,
    transport: TransportT | None,
    wrap: Callable[[TransportT], HttpT],
    make: Callable[[], HttpT],
) -> _Pool[HttpT]:
    """A client's pool: the http client it was given, one around the transport it was
    given, or its own (made again after a fork)."""
    if http_client is not None:
        return _Pool(http_client, None, shareable=False)
    if transport is not None:
        return _Pool(wrap(transport), None, shareable=_shareable(transport))
    return _Pool(make(), make, shareable=False)


class AsyncStream(_ClientBase):
    """The async client of Stream's Moderation API.

    ``AsyncStream(api_key=..., api_secret=...)``, or from the environment
    (``STREAM_API_KEY``, ``STREAM_API_SECRET``, ``STREAM_BASE_URL``). Use it as an async
    context manager, or call ``aclose()``. Works under asyncio and trio.

    ``rate_limits``: a coordinator (``LocalRateLimits``, or ``RedisRateLimits`` for a fleet
    of workers) that every call waits for before each attempt and tells what each answer
    said of the rate limit (429s, X-RateLimit-* headers); the wait counts toward the
    call's ``deadline``. ``async with`` the client starts it (else its first use does); it
    is not closed with the client.
    """

    moderation: AsyncModeration
    """Every operation of the Moderation API (``client.moderation().check`` works too)."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = DEFAULT_DEADLINE,
        retry_unsafe: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | AiohttpTransport | None = None,
        proxy: str | httpx.URL | None = None,
        trust_env: bool = True,
        allow_insecure_http: bool = False,
        rate_limits: RateLimitCoordinator | None = None,
    ) -> None:
        proxy_url = self._setup(
            api_key,
            api_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            retry_unsafe=retry_unsafe,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
            default_headers=default_headers,
            allow_insecure_http=allow_insecure_http,
            proxy=proxy,
            trust_env=trust_env,
            http_client=http_client,
            transport=transport,
        )
        if rate_limits is not None and not _is_coordinator(rate_limits):
            raise ArgumentTypeError(
                "rate_limits must be a LocalRateLimits or a RedisRateLimits, got "
                f"{type(rate_limits).__name__}"
            )
        self._rate_limits = rate_limits

        def make() -> httpx.AsyncClient:
            own = httpx.AsyncHTTPTransport(
                limits=DEFAULT_LIMITS, proxy=proxy_url, trust_env=trust_env
            )
            return httpx.AsyncClient(transport=own, trust_env=False)

        def wrap(given: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=given, trust_env=False)

        if http_client is None and getattr(transport, "is_aiohttp_transport", False):
            # the aiohttp transport sends the core's requests itself, without httpx
            self._pool = _Pool(transport, None, shareable=True)
            self._native = True
        else:
            given = cast("httpx.AsyncBaseTransport | None", transport)
            self._pool = _pool_for(http_client, given, wrap, make)
        self._bind_resources()

    _native = False
    """Whether the pool is the aiohttp transport, which takes WireRequests."""

    def _bind_resources(self) -> None:
        self.moderation = AsyncModeration(self)

    async def request(
        self,
        operation: Operation[T],
        url: str,
        *,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        **options: Unpack[RequestOptions],
    ) -> StreamResponse[T]:
        """Send one operation's request, retrying as the core says; used by ``moderation``."""
        http = self._http
        call = self._core.start_call(
            None if self._native else http, operation, url, params, body, options
        )
        limits = self._rate_limits
        steps = self._core.attempts(call, asynchronous=True, coordinated=limits is not None)
        key = self._rate_limit_key(operation.name)
        step = next(steps)
        while True:
            attempted: Attempted | None = None
            if isinstance(step, Attempt):
                attempted = await self._attempt(http, call, step.seconds)
                if limits is not None and attempted[0] is not None:
                    await limits.report(key, attempted[0].status_code, attempted[0].headers)
            else:
                if step.seconds is not None:
                    await anyio.sleep(step.seconds)
                if limits is not None:
                    await self._wait_for_limits(call, limits, key)
            try:
                step = steps.send(attempted)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    async def _attempt(
        self, http: httpx.AsyncClient | AiohttpTransport, call: Call, seconds: float | None
    ) -> Attempted:
        response: httpx.Response | AiohttpResponse | None = None
        content: bytes | None = None
        failure: BaseException | None = None
        progress = ATTEMPT_PROGRESS.set(call.progress)
        try:
            if seconds is None:
                limit: contextlib.AbstractAsyncContextManager[Any] = _no_limit()
            elif self._native:
                limit = http.attempt_timeout(seconds)  # type: ignore[union-attr]
            else:
                limit = _FailAfter(seconds)
            async with limit:
                response = await http.send(call.request, stream=True)  # type: ignore[arg-type]
                try:
                    content = await _read(response, self._core.body_for(call, response))
                finally:
                    await response.aclose()
        except TimeoutError as exc:  # the attempt's scope, not an httpx timeout
            failure = exc
        except _BODY_ERRORS as exc:
            failure = exc
        finally:
            ATTEMPT_PROGRESS.reset(progress)
        # decided by the core outside these except blocks: a raised error has no
        # __context__ holding the original httpx error (and its request's headers)
        return response, content, failure

    async def _wait_for_limits(self, call: Call, limits: RateLimitCoordinator, key: str) -> None:
        """Wait for the coordinator, leaving the attempt its time before the deadline.

        The wait may take what the deadline leaves beyond one attempt's timeout (at most
        half of what is left): a wait that ate the whole deadline would send the request
        with no time to answer, and an unanswered write may have been processed.
        """
        ends = call.ends
        if ends is None:
            await limits.acquire(key)
            return
        left = ends - time.monotonic()
        reserve = left / 2 if call.attempt_limit is None else min(call.attempt_limit, left / 2)
        with anyio.move_on_after(left - reserve) as scope:
            await limits.acquire(key)
        if scope.cancelled_caught:
            raise self._core.deadline_error(call)

    def paginate(
        self,
        operation: Operation[Any],
        request: PageRequest,
        *,
        max_items: int | None,
        **options: Unpack[RequestOptions],
    ) -> AsyncItems[Any]:
        """Every item of a cursor-paginated query; used by ``moderation.<query>.iter``."""
        return AsyncItems(self, operation, request, max_items=max_items, **options)

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncStream:
        if self._rate_limits is not None:
            await self._rate_limits.start()  # a coordinator that cannot start raises here
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Stream(_ClientBase):
    """The blocking client of Stream's Moderation API; the same calls without ``await``.

    ``Stream(api_key=..., api_secret=...)``, or from the environment. Use it as a context
    manager, or call ``close()``. Safe to share between threads.
    """

    moderation: Moderation
    """Every operation of the Moderation API (``client.moderation().check`` works too)."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = DEFAULT_DEADLINE,
        retry_unsafe: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        proxy: str | httpx.URL | None = None,
        trust_env: bool = True,
        allow_insecure_http: bool = False,
    ) -> None:
        proxy_url = self._setup(
            api_key,
            api_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            retry_unsafe=retry_unsafe,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
            default_headers=default_headers,
            allow_insecure_http=allow_insecure_http,
            proxy=proxy,
            trust_env=trust_env,
            http_client=http_client,
            transport=transport,
        )

        def make() -> httpx.Client:
            from . import _deadline  # httpcore's sync side: only the sync client needs it

            own = httpx.HTTPTransport(limits=DEFAULT_LIMITS, proxy=proxy_url, trust_env=trust_env)
            _deadline.install(own)  # each attempt bounded as a whole, not each read
            return httpx.Client(transport=own, trust_env=False)

        def wrap(given: httpx.BaseTransport) -> httpx.Client:
            return httpx.Client(transport=given, trust_env=False)

        self._pool = _pool_for(http_client, transport, wrap, make)
        self._bind_resources()

    def _bind_resources(self) -> None:
        from ._sync_resources import Moderation  # the sync side: only a Stream loads it

        self.moderation = Moderation(self)

    def request(
        self,
        operation: Operation[T],
        url: str,
        *,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        **options: Unpack[RequestOptions],
    ) -> StreamResponse[T]:
        """Send one operation's request, retrying as the core says; used by ``moderation``."""
        http = self._http
        call = self._core.start_call(http, operation, url, params, body, options)
        steps = self._core.attempts(call, asynchronous=False)
        step = next(steps)
        while True:
            attempted: Attempted | None = None
            if isinstance(step, Attempt):
                attempted = self._attempt(http, call, step.seconds)
            elif step.seconds is not None:
                time.sleep(step.seconds)
            try:
                step = steps.send(attempted)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    def _attempt(self, http: httpx.Client, call: Call, seconds: float | None) -> Attempted:
        response: httpx.Response | None = None
        content: bytes | None = None
        failure: BaseException | None = None
        from . import _deadline

        ends = None if seconds is None else time.monotonic() + seconds
        attempt_ends = _deadline.ATTEMPT_ENDS.set(ends)
        progress = ATTEMPT_PROGRESS.set(call.progress)
        try:
            response = http.send(cast(httpx.Request, call.request), stream=True)
            try:
                content = _read_sync(response, self._core.body_for(call, response), ends)
            finally:
                response.close()
        except _BODY_ERRORS as exc:
            failure = exc
        finally:
            ATTEMPT_PROGRESS.reset(progress)
            _deadline.ATTEMPT_ENDS.reset(attempt_ends)
        return response, content, failure

    def paginate(
        self,
        operation: Operation[Any],
        request: PageRequest,
        *,
        max_items: int | None,
        **options: Unpack[RequestOptions],
    ) -> Items[Any]:
        """Every item of a cursor-paginated query; used by ``moderation.<query>.iter``."""
        return Items(self, operation, request, max_items=max_items, **options)

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_no_limit = contextlib.nullcontext


class _FailAfter:
    """``anyio.fail_after`` entered with ``async with``: TimeoutError once ``seconds``
    have passed, on asyncio and trio alike."""

    __slots__ = ("_scope",)

    def __init__(self, seconds: float) -> None:
        self._scope = anyio.fail_after(seconds)

    async def __aenter__(self) -> None:
        self._scope.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return self._scope.__exit__(exc_type, exc, traceback)


async def _read(response: httpx.Response | AiohttpResponse, body: BoundedBody) -> bytes:
    """The body of an attempt, decoded, within its limit."""
    if isinstance(response, httpx.Response) and response.is_stream_consumed:
        body.feed_decoded(response.content)  # read whole by the transport (a mock, in process)
        return body.content()
    async for chunk in response.aiter_raw():
        body.feed(chunk)
        if body.full:
            break
    return body.content()


def _read_sync(response: httpx.Response, body: BoundedBody, ends: float | None) -> bytes:
    """The same, blocking; between chunks the attempt's end is checked too (a transport
    that is not the client's own has only httpx's per-read timeouts)."""
    if response.is_stream_consumed:
        body.feed_decoded(response.content)
        return body.content()
    for chunk in response.iter_raw():
        body.feed(chunk)
        if body.full:
            break
        if ends is not None and time.monotonic() >= ends:
            raise httpx.ReadTimeout("the attempt's time is up", request=response.request)
    return body.content()
