"""The served emulator keeps an idle connection open longer than clients keep it in their
pools. With equal limits (uvicorn's default of 5 s and httpx's keep-alive expiry of 5 s)
the server, whose clock starts when it has sent a response, closes a connection the
client still takes as reusable; the request sent on it then fails with a ReadError, and a
check sent that way surfaces as a ResponseLostError (it may have been processed). On a
loaded CI machine that happened in the middle of a test."""

from __future__ import annotations

import socket
import time

import httpx

from stream_moderation.testing import Emulator

HEALTH = b"GET /_emulator/health HTTP/1.1\r\nHost: emulator\r\n\r\n"


def _response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_a_connection_idle_as_long_as_a_client_keeps_it_is_still_answered() -> None:
    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    with Emulator().serve() as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(HEALTH)
            assert _response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(client_expiry + 0.5)  # what a client may still reuse, and a little
            sock.sendall(HEALTH)
            assert _response(sock).startswith(b"HTTP/1.1 200"), "the server closed it"
