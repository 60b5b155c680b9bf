"""A minimal HTTP/1.1 server for the per-call benchmark: one fixed response to every request.

Run in its own process (``python -m bench.server BODY_FILE``), it prints its port on the
first line of stdout and serves until killed or until its ``--lifetime`` runs out. It
reads each request just far enough to find its end (headers, then ``Content-Length``
bytes of body), answers with precomputed bytes, and keeps the connection alive; so the
client's side of a call costs what it costs, and the server's stays out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

__all__ = ["response_bytes", "serve"]


def response_bytes(body: bytes, status: int = 201) -> bytes:
    """The full HTTP response sent for every request: status, headers, body."""
    head = (
        f"HTTP/1.1 {status} Created\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Ratelimit-Limit: 10000\r\n"
        "X-Ratelimit-Remaining: 9999\r\n"
        "X-Ratelimit-Reset: 1767225600\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
    )
    return head.encode() + body


class _FixedResponse(asyncio.Protocol):
    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            start = buffer.lower().find(b"content-length:", 0, end)
            if start >= 0:
                stop = buffer.find(b"\r\n", start)
                length = int(buffer[start + 15 : stop])
            total = end + 4 + length
            if len(buffer) < total:
                return
            del buffer[:total]
            assert self.transport is not None
            self.transport.write(self.response)


async def serve(body: bytes, *, port: int = 0, lifetime: float = 3600.0) -> None:
    loop = asyncio.get_running_loop()
    response = response_bytes(body)
    server = await loop.create_server(
        lambda: _FixedResponse(response), "127.0.0.1", port, backlog=1024
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.sleep(lifetime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("body", type=Path, help="file whose bytes are the response body")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=3600.0, help="seconds to serve")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.body.read_bytes(), port=args.port, lifetime=args.lifetime))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
