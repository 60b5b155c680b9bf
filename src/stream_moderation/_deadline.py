"""Bounding an attempt as a whole on the blocking client.

httpx's timeouts apply to each network operation (each read), so a server that sends a
byte a second never trips a 10 s read timeout. The async client bounds an attempt with a
cancel scope; a blocking call has none, so the sync client's own connection pool goes
through ``DeadlineBackend``: every connect, TLS handshake, write and read waits at most
until the moment set for the attempt in progress (a context variable, so concurrent
threads each have theirs). Past it, the operation raises httpcore's timeout of its phase,
which httpx turns into its own.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import typing
from collections.abc import Iterable

import httpcore

__all__ = ["ATTEMPT_ENDS", "DeadlineBackend", "install"]

ATTEMPT_ENDS: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "stream_moderation_attempt_ends", default=None
)
"""``time.monotonic()`` at which the attempt in progress in this context must end."""

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    ends = ATTEMPT_ENDS.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise error("the attempt's time is up")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose streams end their waits with the attempt."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(
            self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(transport: object) -> bool:
    """Route an httpx ``HTTPTransport``'s pool (a proxy's too) through DeadlineBackend;
    whether it could (another kind of transport keeps httpx's per-read timeouts, and the
    client checks the time between the chunks of a body)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend) or isinstance(backend, DeadlineBackend):
        return isinstance(backend, DeadlineBackend)
    pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
    return True
