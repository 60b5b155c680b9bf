"""The aiohttp transport: ``AsyncStream`` over aiohttp, keeping httpx's API.

Install the extra (``pip install "stream-moderation[aiohttp]"``) and pass the transport::

    from stream_moderation import AsyncStream
    from stream_moderation.aiohttp import AiohttpTransport

    async with AsyncStream(api_key=KEY, api_secret=SECRET, transport=AiohttpTransport()) as client:
        response = await client.moderation.check(...)

Everything else stays as it is (httpx requests and responses, timeouts, retries, typed
errors); only the connection pool and the HTTP/1.1 protocol work move to aiohttp, whose C
parser spends several times less CPU per call than httpcore's pure-Python one, most of all
with many calls in flight (see the README's Performance section). It is the transport of
the ``httpx-aiohttp`` package with this SDK's pool defaults.

aiohttp runs on asyncio only: under trio use the default transport. The aiohttp session
is created on the first request, inside the running event loop, and closed by the
client's ``aclose()`` (or ``async with``).
"""

from __future__ import annotations

import asyncio
import os

import httpx

try:
    import aiohttp
    from httpx_aiohttp import AiohttpTransport as _AiohttpTransport
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the aiohttp transport needs the 'aiohttp' extra: "
        'pip install "stream-moderation[aiohttp]"'
    ) from exc

from ._core import ATTEMPT_PROGRESS, DEFAULT_LIMITS

__all__ = ["AiohttpTransport"]


async def _connected(session: object, context: object, params: object) -> None:
    # a connection is ready: from here on the request may be written, so a failure may
    # follow processing (httpx's transport reports the same through httpcore's trace)
    progress = ATTEMPT_PROGRESS.get()
    if progress is not None:
        progress.reported = True
        progress.sent = True


async def _started(session: object, context: object, params: object) -> None:
    progress = ATTEMPT_PROGRESS.get()
    if progress is not None:
        progress.reported = True


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_started)
    config.on_connection_create_end.append(_connected)
    config.on_connection_reuseconn.append(_connected)
    config.freeze()
    return config


class AiohttpTransport(_AiohttpTransport):
    """An httpx transport that sends requests through one ``aiohttp.ClientSession``.

    ``limits`` caps the connections of the pool (default: the SDK's, 100); the other
    keyword arguments are those of ``httpx_aiohttp.AiohttpTransport`` (``verify``,
    ``cert``, ``proxy``, ``local_address``, ``client``, ...).

    Proxies: the client resolves the proxy for its ``base_url`` (``proxy=``, or the
    environment's with ``trust_env``) and gives it to this transport, so that both
    transports honour the same variables and the same guard; a ``proxy`` given here wins.
    After ``os.fork()`` the session this transport made is replaced in the child.
    """

    is_aiohttp_transport = True

    def __init__(self, *, limits: httpx.Limits = DEFAULT_LIMITS, **kwargs: object) -> None:
        super().__init__(limits=limits, **kwargs)  # type: ignore[arg-type]
        self._own_session = kwargs.get("client") is None
        self._explicit_proxy = self.proxy is not None
        self._pid = os.getpid()

    def use_proxy(self, url: httpx.URL | None) -> None:
        """The proxy the client chose (unless this transport was given one)."""
        if not self._explicit_proxy:
            self.proxy = httpx.Proxy(url) if url is not None else None

    def get_client(self) -> aiohttp.ClientSession:
        if self.client is not None or self.uds:
            return super().get_client()  # a session given, or a unix socket: as they are
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            local_addr=(self.local_address, 0) if self.local_address else None,
            limit=self.limits.max_connections or 0,
        )
        return aiohttp.ClientSession(connector=connector, trace_configs=[_trace_config()])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._pid != os.getpid():
            # forked: the session and its sockets are the parent's; start afresh
            if self._own_session:
                self.client = None
            self._pid = os.getpid()
        if self.client is None or callable(self.client):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "the aiohttp transport runs under asyncio only; "
                    "under trio, use AsyncStream's default transport"
                ) from None
        try:
            return await super().handle_async_request(request)
        except (httpx.ConnectTimeout, httpx.TimeoutException) as exc:
            # httpx-aiohttp maps every aiohttp connection error to ConnectTimeout, and a
            # connect timeout to a bare TimeoutException: say what happened (the SDK's
            # errors and retries follow the httpx error)
            raise _connection_error(exc, request) from exc.__cause__


def _connection_error(exc: httpx.TimeoutException, request: httpx.Request) -> httpx.TransportError:
    cause = exc.__cause__
    message = str(cause) if cause is not None else str(exc)
    if cause is None:
        return exc
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    if connect_timeout is not None and isinstance(cause, connect_timeout):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):  # refused, unreachable, DNS
        return httpx.ConnectError(message, request=request)
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)
