"""In-process transports: the emulator's ASGI app behind httpx, with no socket.

``httpx.ASGITransport`` serves the async client directly. The sync client needs an event
loop to run the app on: ``SyncASGITransport`` starts one in a daemon thread on first use
(an anyio blocking portal) and hands every request to it, as Starlette's TestClient does.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.from_thread
import httpx
from starlette.types import ASGIApp

__all__ = ["SyncASGITransport"]


class _LoopThread:
    """An event loop in a daemon thread, reachable through a blocking portal."""

    def __init__(self, backend: str) -> None:
        self._ready = threading.Event()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._main, args=(backend,), name="stream-moderation-emulator", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError("the emulator's event loop did not start") from self._error

    def _main(self, backend: str) -> None:
        try:
            anyio.run(self._serve, backend=backend)
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        async with anyio.from_thread.BlockingPortal() as portal:
            self._portal = portal
            self._ready.set()
            await portal.sleep_until_stopped()

    @property
    def portal(self) -> anyio.from_thread.BlockingPortal:
        assert self._portal is not None
        return self._portal

    def stop(self) -> None:
        if self._portal is not None and self._thread.is_alive():
            self._portal.call(self._portal.stop)
        self._thread.join(timeout=5)


class SyncASGITransport(httpx.BaseTransport):
    """A sync httpx transport that runs an ASGI app on a background event loop."""

    def __init__(self, app: ASGIApp, *, backend: str = "asyncio") -> None:
        self.app = app
        self._backend = backend
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()

    def _portal(self) -> anyio.from_thread.BlockingPortal:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread(self._backend)
            return self._loop.portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        status, headers, body = self._portal().call(
            self._send, request.method, str(request.url), list(request.headers.raw), content
        )
        return httpx.Response(
            status, headers=headers, stream=httpx.ByteStream(body), request=request
        )

    async def _send(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], content: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        transport = httpx.ASGITransport(app=self.app)
        response = await transport.handle_async_request(
            httpx.Request(method, url, headers=headers, content=content)
        )
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, list(response.headers.raw), body

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop()

    def __enter__(self) -> SyncASGITransport:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
