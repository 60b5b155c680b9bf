"""check_many throughput (calls/s) at concurrency 1, 10, 50, 100 against a served server.

    python bench/check_many_throughput.py                   # a stub server, in a subprocess
    python bench/check_many_throughput.py --latency-ms 20   # the stub answers after 20 ms
    python bench/check_many_throughput.py \
        --serve-cmd "python -m stream_moderation.testing --port {port}" --config-key demo
    python bench/check_many_throughput.py --base-url http://127.0.0.1:8080  # already up

The server always runs in another process (the client's numbers are not the server's GIL
contention). The stub answers every check with a small CheckResponse; ``--serve-cmd``
starts any server on a free port (``{port}``), e.g. the emulator once it is merged;
``--base-url`` uses one that is already up. Credentials: ``--api-key``/``--api-secret`` or
STREAM_API_KEY/STREAM_API_SECRET (the stub accepts anything).

For ``make bench``: ``measure(...)`` returns the figures, ``main()`` prints a table, or
one JSON object with ``--json``. The figures are side by side in one run: the speed-up
column is relative to concurrency 1 in the same run.

What limits the high concurrencies on a small machine is not check_many (in process,
against httpx.MockTransport, it does ~4,000 calls/s at concurrency 100 with 20 ms of
latency) but httpx's connection pool (httpcore 1.0): each request scans every pooled
connection (``_assign_requests_to_connections``, ``has_expired`` per connection), so
per-request CPU grows with the number of connections; raw httpx shows the same curve
(encode/httpx#3215).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anyio

from stream_moderation import AsyncStream, CheckItem
from stream_moderation.testing import response_body

CONCURRENCIES = (1, 10, 50, 100)
STUB_BODY = json.dumps(response_body("check", duration="0.1ms")).encode()


@dataclass(frozen=True)
class Figure:
    concurrency: int
    items: int
    seconds: float
    failed: int

    @property
    def calls_per_second(self) -> float:
        return self.items / self.seconds


def items(n: int, prefix: str) -> list[CheckItem]:
    return [
        CheckItem(
            "stream:chat:v1:message",
            f"{prefix}-{i}",
            f"user-{i % 50}",
            {"texts": [f"bench message {i}"]},
        )
        for i in range(n)
    ]


async def measure(
    base_url: str,
    *,
    api_key: str,
    api_secret: str,
    concurrencies: Sequence[int] = CONCURRENCIES,
    count: int = 2000,
    min_seconds: float = 0.0,
    config_key: str | None = None,
) -> list[Figure]:
    """``count`` checks through ``check_many`` at each concurrency, after a warm-up."""
    figures = []
    async with AsyncStream(
        api_key, api_secret, base_url=base_url, allow_insecure_http=True, max_retries=0
    ) as client:
        warm = client.moderation.check_many(items(200, "warm"), concurrency=max(concurrencies))
        async for _ in warm:
            pass
        for concurrency in concurrencies:
            batch = client.moderation.check_many(
                items(count, f"c{concurrency}"), concurrency=concurrency, config_key=config_key
            )
            started = time.perf_counter()
            async with batch as results:
                async for _ in results:
                    pass
            seconds = time.perf_counter() - started
            figures.append(Figure(concurrency, count, seconds, batch.failed))
            if seconds < min_seconds:  # too fast to mean much: say so rather than guess
                print(f"note: concurrency {concurrency} took only {seconds:.3f} s", file=sys.stderr)
    return figures


# -- the stub server --------------------------------------------------------------------


def stub_app(latency: float) -> Any:
    """A bare ASGI app: every POST gets a small CheckResponse, after ``latency`` seconds."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if latency:
            await asyncio.sleep(latency)
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": STUB_BODY})

    return app


def serve_stub(port: int, latency: float) -> None:
    import uvicorn

    uvicorn.run(
        stub_app(latency),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"the server did not listen on port {port} within {timeout:.0f} s")


@contextlib.contextmanager
def served(command: list[str], port: int) -> Iterator[str]:
    process = subprocess.Popen(command)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def print_table(figures: list[Figure], server: str) -> None:
    print(f"check_many throughput against {server}")
    print(f"{'concurrency':>11}  {'items':>6}  {'seconds':>8}  {'calls/s':>9}  {'vs c=1':>7}")
    base = figures[0].calls_per_second if figures else 1.0
    for f in figures:
        failed = f"  ({f.failed} failed)" if f.failed else ""
        print(
            f"{f.concurrency:>11}  {f.items:>6}  {f.seconds:>8.3f}  "
            f"{f.calls_per_second:>9.0f}  {f.calls_per_second / base:>6.1f}x{failed}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a server that is already running")
    parser.add_argument("--serve-cmd", help="a command starting a server on {port}")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the stub's latency")
    parser.add_argument("--count", type=int, default=2000, help="checks per concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    parser.add_argument("--config-key", help="sent with every check (the emulator needs one)")
    parser.add_argument("--api-key", default=os.environ.get("STREAM_API_KEY", "bench-key"))
    parser.add_argument(
        "--api-secret",
        default=os.environ.get("STREAM_API_SECRET", "bench-secret-" + "x" * 32),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve-stub", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve_stub is not None:  # the child process
        serve_stub(args.serve_stub, args.latency_ms / 1000)
        return

    def run(base_url: str, server: str) -> None:
        figures = anyio.run(
            lambda: measure(
                base_url,
                api_key=args.api_key,
                api_secret=args.api_secret,
                concurrencies=args.concurrency,
                count=args.count,
                config_key=args.config_key,
            )
        )
        if args.json:
            rows = [
                {**asdict(f), "calls_per_second": round(f.calls_per_second, 1)} for f in figures
            ]
            print(json.dumps({"bench": "check_many_throughput", "server": server, "rows": rows}))
        else:
            print_table(figures, server)

    if args.base_url:
        run(args.base_url, args.base_url)
        return
    port = free_port()
    if args.serve_cmd:
        command = [part.replace("{port}", str(port)) for part in shlex.split(args.serve_cmd)]
        server = args.serve_cmd
    else:
        command = [sys.executable, __file__, "--serve-stub", str(port)]
        command += ["--latency-ms", str(args.latency_ms)]
        server = f"the stub server ({args.latency_ms:g} ms latency)"
    with served(command, port) as base_url:
        run(base_url, server)


if __name__ == "__main__":
    main()
