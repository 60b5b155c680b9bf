"""The load run: many checks at a fixed concurrency through one AsyncStream, against the
emulator served by its command line (another process, with injected faults), measuring
this process only: memory (tracemalloc and RSS), open file descriptors and time.

Used by ``tests/client/test_stress.py`` (500 calls in ``make test``, 10,000 in ``make stress``).
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
import attrs
import httpx
import jwt

from stream_moderation import AsyncStream, StreamError

__all__ = ["KEY", "SECRET", "LoadReport", "admin_get", "cli_emulator", "run_load"]

KEY = "load-key"
SECRET = "load-secret-that-is-long-enough-for-hs256"
MESSAGE = "stream:chat:v1:message"
OK = "ok"


TIMED_OUT = ":timeout"
"""Suffix of an outcome whose error came from an expired timeout or deadline."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def cli_emulator(*flags: str) -> Iterator[str]:
    """``python -m stream_moderation.testing`` on a free port, with ``flags``; yields its URL."""
    port = _free_port()
    command = [sys.executable, "-m", "stream_moderation.testing", "--port", str(port)]
    command += ["--api-key", KEY, "--api-secret", SECRET, "--log-level", "warning", *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/_emulator/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"the emulator did not start: {output}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def admin_get(url: str, path: str) -> dict[str, Any]:
    """A GET on the emulator's admin API, with a server token."""
    token = jwt.encode({"server": True}, SECRET, algorithm="HS256")
    response = httpx.get(
        f"{url}{path}",
        params={"api_key": KEY},
        headers={"Authorization": token, "Stream-Auth-Type": "jwt"},
        timeout=30,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class _CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent = 0
        self.timed_out = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        try:
            return await self.inner.handle_async_request(request)
        except (httpx.TimeoutException, anyio.get_cancelled_exc_class()):
            # httpx's own timeouts, or the client's whole-attempt limit cancelling the wait
            self.timed_out += 1
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.frozen
class LoadReport:
    calls: int
    concurrency: int
    entity_ids: Sequence[str]
    outcomes: Sequence[str]
    """Per call: "ok" or the name of the error class raised."""
    attempts_sent: int
    """HTTP requests this client sent (every attempt of every call)."""
    attempts_timed_out: int
    """Of those, the ones that ended in an httpx timeout: they may or may not have reached
    the server (on a loaded machine, the emulator may not have read them yet)."""
    seconds: float
    traced_before: int
    traced_half: int
    traced_after: int
    traced_peak: int
    rss_before: int
    rss_after: int
    fds_before_client: int
    fds_open_pool: int
    fds_after_close: int

    @property
    def tally(self) -> Counter[str]:
        return Counter(self.outcomes)

    def summary(self) -> str:
        mib = 1024 * 1024
        traced = (
            f"traced memory {self.traced_before / mib:.2f} MiB -> {self.traced_half / mib:.2f} "
            f"(half-way) -> {self.traced_after / mib:.2f} MiB (peak {self.traced_peak / mib:.2f})"
            if self.traced_peak
            else "not traced"
        )
        return (
            f"{self.calls} checks at concurrency {self.concurrency} in {self.seconds:.1f} s "
            f"({self.calls / self.seconds:.0f}/s), {self.attempts_sent} requests sent "
            f"({self.attempts_timed_out} timed out); "
            f"outcomes {dict(self.tally)}; {traced}; RSS {self.rss_before / mib:.1f} -> "
            f"{self.rss_after / mib:.1f} MiB; fds {self.fds_before_client} before the client, "
            f"{self.fds_open_pool} with its pool open, {self.fds_after_close} after aclose"
        )


async def run_load(
    url: str,
    *,
    calls: int,
    concurrency: int,
    warmup: int = 200,
    prefix: str = "load",
    trace: bool = True,
) -> LoadReport:
    """``warmup`` checks, then ``calls`` checks measured, ``concurrency`` at a time, each
    about its own entity id; every call's outcome is recorded. With ``trace`` the measured
    run is under tracemalloc (which slows the client about threefold)."""
    total = warmup + calls
    entity_ids = [f"{prefix}-{n}" for n in range(total)]
    outcomes: list[str] = [""] * total
    half = [0]

    fds_before_client = _open_fds()
    client = AsyncStream(KEY, SECRET, base_url=url)
    # counted where the client hands each attempt to its pool (httpx keeps it private)
    counter = _CountingTransport(client._http._transport)
    client._http._transport = counter
    await client.moderation.upsert_config(key="load")

    async def one(index: int) -> None:
        try:
            await client.moderation.check(
                entity_type=MESSAGE,
                entity_id=entity_ids[index],
                entity_creator_id="author",
                moderation_payload={"texts": ["hello, a perfectly fine message"]},
                config_key="load",
            )
            outcomes[index] = OK
        except StreamError as exc:
            # a lost response by an expired timeout (a loaded machine) is told apart from
            # one by a broken connection (the injected fault)
            timed_out = getattr(exc, "timeout", None) is not None
            outcomes[index] = type(exc).__name__ + (TIMED_OUT if timed_out else "")

    async def run(first: int, last: int, checkpoint: int | None) -> None:
        next_index = [first]

        async def worker() -> None:
            while next_index[0] < last:
                index = next_index[0]
                next_index[0] += 1
                await one(index)
                if index == checkpoint and trace:
                    half[0] = tracemalloc.get_traced_memory()[0]

        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)

    await run(0, warmup, None)
    gc.collect()
    if trace:
        tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    rss_before = _rss_bytes()
    started = time.perf_counter()
    await run(warmup, total, warmup + calls // 2)
    seconds = time.perf_counter() - started
    gc.collect()
    traced_after, traced_peak = tracemalloc.get_traced_memory()
    if trace:
        tracemalloc.stop()
    rss_after = _rss_bytes()
    fds_open_pool = _open_fds()
    await client.aclose()
    await anyio.sleep(0.05)
    return LoadReport(
        calls=calls,
        concurrency=concurrency,
        entity_ids=entity_ids,
        outcomes=outcomes,
        attempts_sent=counter.sent,
        attempts_timed_out=counter.timed_out,
        seconds=seconds,
        traced_before=traced_before,
        traced_half=half[0],
        traced_after=traced_after,
        traced_peak=traced_peak,
        rss_before=rss_before,
        rss_after=rss_after,
        fds_before_client=fds_before_client,
        fds_open_pool=fds_open_pool,
        fds_after_close=_open_fds(),
    )
