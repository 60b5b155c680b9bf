"""The clients: AsyncStream (primary) and Stream (blocking), thin drivers over ClientCore.

Each client owns one httpx connection pool, shared by every call and safe to use from
many tasks (or threads, for Stream) at once. A call builds its request once, sends it,
and on a retryable failure sleeps and sends the same request again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import attrs
import httpx

from . import webhooks
from ._auth import Credentials
from ._base_client import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientCore,
    Retry,
    TimeoutTypes,
    check_base_url,
)
from ._generated.resources import PageRequest
from ._generated.types import UNSET, Operation, StreamResponse, Unset
from ._pagination import AsyncItems, Items
from ._resources import AsyncModeration, Moderation
from ._retry import RetryPolicy

__all__ = ["AsyncStream", "Stream"]

T = TypeVar("T")
PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")
_NOT_GIVEN: Any = UNSET


def _settings(
    api_key: str | None, api_secret: str | None, base_url: str | None, allow_insecure_http: bool
) -> tuple[Credentials, str]:
    credentials = Credentials(
        api_key if api_key is not None else os.environ.get("STREAM_API_KEY", ""),
        api_secret if api_secret is not None else os.environ.get("STREAM_API_SECRET", ""),
    )
    url = base_url or os.environ.get("STREAM_BASE_URL") or DEFAULT_BASE_URL
    return credentials, check_base_url(url, allow_insecure_http=allow_insecure_http)


class _ClientBase:
    """What both clients share: settings, the pool's ownership, tokens, options, repr."""

    _core: ClientCore
    _owns_http: bool

    def _setup(
        self,
        api_key: str | None,
        api_secret: str | None,
        *,
        base_url: str | None,
        timeout: TimeoutTypes,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        allow_insecure_http: bool,
        http_client: object | None,
        transport: object | None,
    ) -> None:
        credentials, url = _settings(api_key, api_secret, base_url, allow_insecure_http)
        self._core = ClientCore(
            credentials,
            base_url=url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        self._owns_http = http_client is None

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
        a payload you already trust, use ``stream_moderation.webhooks.parse_event``).
        """
        secret = self._core.credentials.secret
        return webhooks.verify_and_parse(body, signature, secret, max_age=max_age)

    def _options_core(
        self,
        timeout: TimeoutTypes | Unset,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None = None,
    ) -> ClientCore:
        core = self._core
        return ClientCore(
            core.credentials,
            base_url=core.base_url,
            timeout=core.timeout if timeout is UNSET else timeout,  # type: ignore[arg-type]
            max_retries=core.max_retries if max_retries is None else max_retries,
            default_headers={
                **{k: v for k, v in core.headers.items() if k not in _AUTH_HEADERS},
                **(default_headers or {}),
            },
            retry_policy=retry_policy or core.retry_policy,
        )

    def _clone(
        self,
        timeout: TimeoutTypes | Unset,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        retry_policy: RetryPolicy | None = None,
    ) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._core = self._options_core(timeout, max_retries, default_headers, retry_policy)
        clone._owns_http = False
        clone._bind_resources()
        return clone

    def _bind_resources(self) -> None:
        raise NotImplementedError

    def _pausing_client(self) -> Self:
        """This client, except that a call does not retry its own 429s: ``check_many``
        pauses the whole batch instead. Shares the connection pool."""
        policy = attrs.evolve(self._core.retry_policy, retry_rate_limited=False)
        return self._clone(UNSET, None, None, retry_policy=policy)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={self.api_key!r}, base_url={self.base_url!r})"

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} cannot be pickled: it holds the API secret")


_AUTH_HEADERS = frozenset({"Authorization", "Stream-Auth-Type"})


class AsyncStream(_ClientBase):
    """The async client of Stream's Moderation API.

    ``AsyncStream(api_key=..., api_secret=...)``, or from the environment
    (``STREAM_API_KEY``, ``STREAM_API_SECRET``, ``STREAM_BASE_URL``). Use it as an async
    context manager, or call ``aclose()``. Works under asyncio and trio.
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
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self._setup(
            api_key,
            api_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            allow_insecure_http=allow_insecure_http,
            http_client=http_client,
            transport=transport,
        )
        self._http = http_client or httpx.AsyncClient(transport=transport, limits=DEFAULT_LIMITS)
        self._bind_resources()

    def _bind_resources(self) -> None:
        self.moderation = AsyncModeration(self)

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | Unset = _NOT_GIVEN,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> AsyncStream:
        """A client with other defaults, sharing this one's connection pool and credentials."""
        return self._clone(timeout, max_retries, default_headers)

    async def request(
        self,
        operation: Operation[T],
        url: str,
        *,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        timeout: TimeoutTypes | Unset = UNSET,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
    ) -> StreamResponse[T]:
        """Send one operation's request, retrying as the policy says; used by ``moderation``."""
        core = self._core
        retries = core.effective_retries(max_retries)
        request = core.build_request(
            self._http,
            operation,
            url,
            params,
            body,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.RequestError as exc:
                retry = core.on_exception(request, exc, attempt=attempt, max_retries=retries)
            else:
                outcome = core.on_response(
                    operation,
                    request,
                    response,
                    attempt=attempt,
                    max_retries=retries,
                    started=started,
                )
                if not isinstance(outcome, Retry):
                    return outcome
                retry = outcome
            await anyio.sleep(retry.delay)
            attempt += 1

    def paginate(
        self,
        operation: Operation[PageT],
        request: PageRequest,
        items: Callable[[PageT], Sequence[ItemT]],
        *,
        max_items: int | None,
        timeout: TimeoutTypes | Unset = UNSET,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
    ) -> AsyncItems[ItemT]:
        """Every item of a cursor-paginated query; used by ``moderation.<query>.iter``."""
        return AsyncItems(
            self,
            operation,
            request,
            items,
            max_items=max_items,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            max_retries=max_retries,
        )

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncStream:
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
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self._setup(
            api_key,
            api_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            allow_insecure_http=allow_insecure_http,
            http_client=http_client,
            transport=transport,
        )
        self._http = http_client or httpx.Client(transport=transport, limits=DEFAULT_LIMITS)
        self._bind_resources()

    def _bind_resources(self) -> None:
        self.moderation = Moderation(self)

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | Unset = _NOT_GIVEN,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> Stream:
        """A client with other defaults, sharing this one's connection pool and credentials."""
        return self._clone(timeout, max_retries, default_headers)

    def request(
        self,
        operation: Operation[T],
        url: str,
        *,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        timeout: TimeoutTypes | Unset = UNSET,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
    ) -> StreamResponse[T]:
        """Send one operation's request, retrying as the policy says; used by ``moderation``."""
        core = self._core
        retries = core.effective_retries(max_retries)
        request = core.build_request(
            self._http,
            operation,
            url,
            params,
            body,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.RequestError as exc:
                retry = core.on_exception(request, exc, attempt=attempt, max_retries=retries)
            else:
                outcome = core.on_response(
                    operation,
                    request,
                    response,
                    attempt=attempt,
                    max_retries=retries,
                    started=started,
                )
                if not isinstance(outcome, Retry):
                    return outcome
                retry = outcome
            time.sleep(retry.delay)
            attempt += 1

    def paginate(
        self,
        operation: Operation[PageT],
        request: PageRequest,
        items: Callable[[PageT], Sequence[ItemT]],
        *,
        max_items: int | None,
        timeout: TimeoutTypes | Unset = UNSET,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
    ) -> Items[ItemT]:
        """Every item of a cursor-paginated query; used by ``moderation.<query>.iter``."""
        return Items(
            self,
            operation,
            request,
            items,
            max_items=max_items,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            max_retries=max_retries,
        )

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
