"""Serving the emulator on a real port with uvicorn, in this thread or in a background one.

The server speaks HTTP/1.1 through uvicorn's h11 protocol, extended with one thing: each
request's scope carries a callable (the ``CLOSE_CONNECTION`` extension) that closes its
connection, so that the fault layer can drop a connection as a failing server would.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._faults import CLOSE_CONNECTION

__all__ = ["KEEP_ALIVE_SECONDS", "ClosableH11Protocol", "run", "serve_in_thread"]

KEEP_ALIVE_SECONDS = 60
"""How long an idle connection stays open. Clients must give up on it first (httpx's pools
after 5 s): with uvicorn's default, also 5 s, the server closed connections that clients
were reusing, and a request sent on one failed as if its answer had been lost."""


class ClosableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, whose requests can close their connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app

        async def with_closer(scope: Scope, receive: Receive, send: Send) -> None:
            scope["extensions"] = {**(scope.get("extensions") or {}), CLOSE_CONNECTION: self._close}
            await app(scope, receive, send)

        self.app = with_closer

    def _close(self) -> None:
        self.transport.close()


def _config(app: ASGIApp, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        access_log=False,
        http=ClosableH11Protocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def run(app: ASGIApp, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve until interrupted."""
    uvicorn.Server(_config(app, host, port, log_level)).run()


@contextlib.contextmanager
def serve_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> Iterator[str]:
    """Serve in a daemon thread; yields the base URL (port 0 picks a free port)."""
    server = uvicorn.Server(_config(app, host, port, log_level))
    thread = threading.Thread(target=server.run, name="stream-moderation-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the emulator could not start on {host}:{port}")
        time.sleep(0.005)
    sockets = [s for srv in server.servers for s in srv.sockets]
    bound = sockets[0].getsockname()[1] if sockets else port
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
