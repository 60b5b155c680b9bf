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

import httpx

try:
    import aiohttp
    from httpx_aiohttp import AiohttpTransport as _AiohttpTransport
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the aiohttp transport needs the 'aiohttp' extra: "
        'pip install "stream-moderation[aiohttp]"'
    ) from exc

from ._base_client import DEFAULT_LIMITS

__all__ = ["AiohttpTransport"]


class AiohttpTransport(_AiohttpTransport):
    """An httpx transport that sends requests through one ``aiohttp.ClientSession``.

    ``limits`` caps the connections of the pool (default: the SDK's, 100); the other
    keyword arguments are those of ``httpx_aiohttp.AiohttpTransport`` (``verify``,
    ``cert``, ``trust_env``, ``proxy``, ``local_address``, ``client``, ...).
    """

    def __init__(self, *, limits: httpx.Limits = DEFAULT_LIMITS, **kwargs: object) -> None:
        super().__init__(limits=limits, **kwargs)  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
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
        except httpx.ConnectTimeout as exc:
            # httpx-aiohttp maps every aiohttp connection error to ConnectTimeout: say what
            # happened (the SDK's errors and retries follow the httpx error)
            raise _connection_error(exc, request) from exc.__cause__


def _connection_error(exc: httpx.ConnectTimeout, request: httpx.Request) -> httpx.TransportError:
    cause = exc.__cause__
    message = str(cause) if cause is not None else str(exc)
    if cause is None or isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return exc
    if isinstance(cause, aiohttp.ClientConnectorError):  # refused, unreachable, DNS
        return httpx.ConnectError(message, request=request)
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)
