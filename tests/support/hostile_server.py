"""A hostile HTTP/1.1 server on loopback, in a thread of its own (so that one server
serves the asyncio, trio, sync and aiohttp clients alike): it records each request and
answers it with a scripted behaviour, however slowly or hugely that says."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from stream_moderation.testing import response_body

__all__ = ["Behaviour", "Hostile", "Seen", "hostile_server"]


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    peer_port: int


Behaviour = Callable[[socket.socket, Seen], None]
"""Answers one request on the connection (may sleep, trickle, or never answer)."""


@dataclass
class Hostile:
    behaviour: Behaviour
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def answer(self, sock: socket.socket, seen: Seen) -> None:
        self.seen.append(seen)
        self.behaviour(sock, seen)


def _read_request(sock: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, target, headers, rest[:length]


@contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[Hostile]:
    """Serve ``behaviour`` on 127.0.0.1 until the block ends (keep-alive: a connection
    answers requests until the behaviour closes it or the client does)."""
    state = Hostile(behaviour)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            try:
                while not state.stop.is_set():
                    request = _read_request(sock)
                    if request is None:
                        return
                    method, target, headers, body = request
                    seen = Seen(method, target, headers, body, self.client_address[1])
                    state.answer(sock, seen)
            except OSError:
                return

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), Handler) as server:
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        try:
            yield state
        finally:
            state.stop.set()
            server.shutdown()


# -- behaviours ------------------------------------------------------------------------------

CHECK_OK = json.dumps(response_body("check", duration="1ms"), separators=(",", ":")).encode()
"""A successful check's body, as the generated release shapes it."""


def respond(status: int = 201, body: bytes = CHECK_OK, headers: dict[str, str] | None = None):
    def behave(sock: socket.socket, seen: Seen) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        )
        sock.sendall(head.encode() + body)

    return behave


def trickle(interval: float, body: bytes = CHECK_OK + b" " * 400):
    """The headers at once, then the body one byte every ``interval`` seconds."""

    def behave(sock: socket.socket, seen: Seen) -> None:
        sock.sendall(
            f"HTTP/1.1 201 X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for byte in body:
            time.sleep(interval)
            sock.sendall(bytes([byte]))

    return behave


def stall(seconds: float = 30.0):
    """Read the request, answer nothing, until the client hangs up (or ``seconds``)."""

    def behave(sock: socket.socket, seen: Seen) -> None:
        sock.settimeout(seconds)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        raise OSError("stalled")  # ends the connection

    return behave


def huge(
    size: int,
    *,
    status: int = 200,
    encoding: str | None = None,
    chunk: bytes = b"",
    length: bool = True,
):
    """A body of ``size`` bytes streamed from one preallocated chunk (nothing is built);
    without ``length``, no Content-Length: the body ends when the connection closes."""
    piece = chunk or b"0" * 65536

    def behave(sock: socket.socket, seen: Seen) -> None:
        extra = f"Content-Encoding: {encoding}\r\n" if encoding else ""
        extra += f"Content-Length: {size}\r\n" if length else "Connection: close\r\n"
        sock.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}\r\n".encode()
        )
        left = size
        while left > 0:
            part = piece if left >= len(piece) else piece[:left]
            sock.sendall(part)
            left -= len(part)
        if not length:
            raise OSError("body sent: close")

    return behave
