"""The aiohttp transport: ``AsyncStream`` over one ``aiohttp.ClientSession``.

Install the extra (``pip install "stream-moderation[aiohttp]"``) and pass the transport::

    from stream_moderation import AsyncStream
    from stream_moderation.aiohttp import AiohttpTransport

    async with AsyncStream(api_key=KEY, api_secret=SECRET, transport=AiohttpTransport()) as client:
        response = await client.moderation.check(...)

The client hands each attempt's method, URL, headers and body straight to the session and
reads the response's bytes off it: no httpx client, request or response in between, and
aiohttp's C parser does the HTTP/1.1 work. Everything the client does on top stays the
same (deadlines, retries and the resend rule, proxies and their guard, response size
limits, typed errors, fork safety, rate limits); ``StreamResponse.headers`` is aiohttp's
case-insensitive ``CIMultiDictProxy``.

aiohttp runs on asyncio only: under trio use the default transport. The session is
created on the first request, inside the running event loop, and closed by the client's
``aclose()`` (or ``async with``). The transport is for ``AsyncStream`` only: it is not an
httpx transport.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx

try:
    import aiohttp
    import yarl
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the aiohttp transport needs the 'aiohttp' extra: "
        'pip install "stream-moderation[aiohttp]"'
    ) from exc

from ._core import ATTEMPT_PROGRESS, DEFAULT_LIMITS

if TYPE_CHECKING:
    from ._core import WireRequest

__all__ = ["AiohttpTransport"]


class _Connector(aiohttp.TCPConnector):
    """A TCPConnector that tells the attempt in progress when it has its connection (new,
    pooled, or a proxy's tunnel): from then on the request may be written, so a failure
    may follow processing. httpx's transport reports the same through httpcore's trace.
    (Not an aiohttp trace config: with one, aiohttp builds and sends every trace event of
    every request, which cost 14-23 µs per call here, a tenth of raw aiohttp's.)"""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        connection = await super().connect(req, traces, timeout)
        progress = ATTEMPT_PROGRESS.get()
        if progress is not None:
            progress.sent = True
        return connection


def _basic(user: str, password: str) -> str:
    encode = getattr(aiohttp, "encode_basic_auth", None)  # aiohttp 3.14 on
    if encode is not None:
        return str(encode(user, password))
    return str(aiohttp.BasicAuth(user, password).encode())


@lru_cache(maxsize=1024)
def _url(text: str) -> yarl.URL:
    # the text comes from httpx.URL, already encoded; most calls go to a few URLs
    return yarl.URL(text, encoded=True)


@lru_cache(maxsize=64)
def _timeout(connect: float | None, read: float | None, pool: float | None) -> Any:
    # aiohttp's ``connect`` covers the wait for a pooled connection and making one
    return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)


def _ssl(verify: ssl.SSLContext | str | bool, cert: Any) -> ssl.SSLContext | bool:
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif verify is False:
        if cert is None:
            return False
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        if cert is None:
            return True
        context = ssl.create_default_context()
    elif isinstance(verify, str):
        context = ssl.create_default_context(
            cafile=verify if os.path.isfile(verify) else None,
            capath=verify if os.path.isdir(verify) else None,
        )
    else:
        raise TypeError(f"verify must be a bool, a path or an ssl.SSLContext, got {verify!r}")
    if cert is not None:
        if isinstance(cert, str):
            context.load_cert_chain(cert)
        else:
            context.load_cert_chain(*cert)
    return context


class AiohttpResponse:
    """An attempt's response as the client reads it: status, headers, the raw body."""

    __slots__ = ("_raw", "headers", "reason_phrase", "status_code")

    def __init__(self, raw: aiohttp.ClientResponse) -> None:
        self._raw = raw
        self.status_code: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.reason_phrase: str = raw.reason or ""

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it came off the wire (not decoded: the client decodes it)."""
        content = self._raw.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _httpx_error(exc, reading=True) from None

    async def aclose(self) -> None:
        raw = self._raw
        if raw.content.at_eof():
            raw.release()  # read whole: the connection goes back to the pool
        else:
            raw.close()  # not read whole (over the size limit, or an error): not reused


class AiohttpTransport:
    """Sends ``AsyncStream``'s requests through one ``aiohttp.ClientSession``.

    ``limits`` caps the connections of the pool and sets their keep-alive (default: the
    SDK's, 100 connections); ``verify`` (a bool, a CA bundle's path or an
    ``ssl.SSLContext``), ``cert`` (a client certificate: a path, or a tuple of paths and
    password), ``local_address`` and ``proxy`` as in httpx; ``client``: your own
    ``aiohttp.ClientSession`` (or a callable making one), which the SDK then neither
    closes nor replaces after a fork.

    Proxies: the client resolves the proxy for its ``base_url`` (``proxy=``, or the
    environment's with ``trust_env``) and gives it to this transport, so that both
    transports honour the same variables and the same guard; a ``proxy`` given here wins.
    After ``os.fork()`` the session this transport made is replaced in the child.
    """

    is_aiohttp_transport = True

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | str | bool = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        proxy: str | httpx.URL | httpx.Proxy | None = None,
        local_address: str | None = None,
        client: aiohttp.ClientSession | Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self.limits = limits
        self._ssl = _ssl(verify, cert)
        self._local_address = local_address
        self._given = client
        self._session: aiohttp.ClientSession | None = None
        self._explicit_proxy = proxy is not None
        self._proxy: yarl.URL | None = None
        self._proxy_headers: dict[str, str] | None = None
        if proxy is not None:
            self.use_proxy(proxy.url if isinstance(proxy, httpx.Proxy) else httpx.URL(proxy))
        self._pid = os.getpid()

    def use_proxy(self, url: httpx.URL | None) -> None:
        """The proxy the client chose (unless this transport was given one)."""
        if self._explicit_proxy and self._proxy is not None:
            return
        if url is None:
            self._proxy = self._proxy_headers = None
            return
        proxy = yarl.URL(str(url))
        self._proxy_headers = (
            {"Proxy-Authorization": _basic(proxy.user or "", proxy.password or "")}
            if proxy.user is not None
            else None
        )
        self._proxy = proxy.with_user(None)

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session in use (None before the first request, and after ``aclose()``)."""
        return self._session

    def attempt_timeout(self, seconds: float) -> asyncio.Timeout:
        """What bounds one attempt as a whole: asyncio's own timeout (TimeoutError when it
        expires), which costs half of an anyio cancel scope. Under trio: the RuntimeError
        saying this transport needs asyncio."""
        if self._session is None:
            self._session_now()
        return asyncio.timeout(seconds)

    def _session_now(self) -> aiohttp.ClientSession:
        if self._pid != os.getpid():
            # forked: the session and its sockets are the parent's; start afresh
            self._session = None
            self._pid = os.getpid()
        session = self._session
        if session is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "the aiohttp transport runs under asyncio only; "
                    "under trio, use AsyncStream's default transport"
                ) from None
            session = self._session = self._new_session()
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        given = self._given
        if isinstance(given, aiohttp.ClientSession):
            return given
        if given is not None:
            return given()
        connector = _Connector(
            keepalive_timeout=self.limits.keepalive_expiry or 0,
            ssl=self._ssl,
            local_addr=(self._local_address, 0) if self._local_address else None,
            limit=self.limits.max_connections or 0,
        )
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # the client decodes, within its size limit
            trust_env=False,  # the client chose the proxy
        )

    async def send(self, request: WireRequest, *, stream: bool = True) -> AiohttpResponse:
        """Send one attempt; the response once its headers are in (the body not read)."""
        session = self._session_now()
        if self._given is None:  # a session of the SDK's making: its connector reports
            progress = ATTEMPT_PROGRESS.get()
            if progress is not None:
                progress.reported = True
        phases = request.extensions["timeout"]
        headers = request.headers
        if self._proxy_headers is not None and request.url.scheme == "http":
            # a plain-http request goes to the proxy as it is (https ones in a CONNECT
            # tunnel, whose request carries proxy_headers)
            headers = {**headers, **self._proxy_headers}
        try:
            raw = await session.request(
                request.method,
                _url(request.target),
                data=request.content,
                headers=headers,
                timeout=_timeout(phases["connect"], phases["read"], phases["pool"]),
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _httpx_error(exc, reading=False) from None
        return AiohttpResponse(raw)

    async def aclose(self) -> None:
        """Close the session this transport made (one given to it stays open)."""
        session, self._session = self._session, None
        if session is not None and self._given is None and self._pid == os.getpid():
            await session.close()


def _httpx_error(exc: BaseException, *, reading: bool) -> httpx.TransportError:
    """An aiohttp failure in the vocabulary the client's core decides on (httpx's errors:
    which kind tells whether the request may have been processed). Made without chaining
    the aiohttp error, whose request info holds the request's headers."""
    message = f"{type(exc).__name__}: {exc}"
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    if connect_timeout is not None and isinstance(exc, connect_timeout):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout(message)
    if isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        return httpx.ProxyError(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, DNS
        return httpx.ConnectError(message)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    return httpx.ReadError(message) if reading else httpx.RemoteProtocolError(message)
