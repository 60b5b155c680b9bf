"""Bounded responses over real loopback sockets: a 200 MB body, the same body on a 503
that is retried, and a gzip bomb (1 MiB that inflates to 1 GiB) each end in a typed error
after at most the limit was read, at a memory peak measured with tracemalloc (before:
~500 MiB, ~900 MiB and 2.1 GiB of RSS). Both transports."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from typing import Any

import anyio
import pytest

from stream_moderation import (
    DEFAULT_MAX_RESPONSE_BYTES,
    AsyncStream,
    InternalServerError,
    ResponseTooLargeError,
    Stream,
    StreamError,
)
from stream_moderation.aiohttp import AiohttpTransport
from tests.support.hostile_server import CHECK_OK, hostile_server, huge, respond

KEY = "limits-key"
SECRET = "limits-secret-that-is-long-enough-for-hs256"
MiB = 1024 * 1024
BODY = 200 * 1000 * 1000
FLAVOURS = ["asyncio", "aiohttp", "sync"]


def gzip_bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zeros (built in 1 MiB steps)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MiB)
    parts = [packer.compress(zeros) for _ in range(1024)]
    parts.append(packer.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb()


def traced(flavour: str, url: str, **options: Any) -> tuple[object, float]:
    """The outcome of one check and the traced memory peak of the call, in MiB."""
    tracemalloc.start()
    try:
        outcome = _call(flavour, url, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outcome, peak / MiB


def _call(flavour: str, url: str, **options: Any) -> object:
    kwargs: dict[str, Any] = {"entity_type": "t", "entity_id": "1", "entity_creator_id": "u"}
    if flavour == "sync":
        with Stream(KEY, SECRET, base_url=url, **options) as client:
            try:
                return client.moderation.check(**kwargs)
            except StreamError as exc:
                return exc

    async def main() -> object:
        transport = AiohttpTransport() if flavour == "aiohttp" else None
        async with AsyncStream(KEY, SECRET, base_url=url, transport=transport, **options) as c:
            try:
                return await c.moderation.check(**kwargs)
            except StreamError as exc:
                return exc

    return anyio.run(main, backend="asyncio")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_200_mb_body_stops_at_the_default_limit(flavour: str) -> None:
    with hostile_server(huge(BODY)) as server:
        outcome, peak = traced(flavour, server.url)
    assert isinstance(outcome, ResponseTooLargeError), outcome
    assert outcome.limit == DEFAULT_MAX_RESPONSE_BYTES == 32 * MiB
    # a Content-Length over the limit is refused before a byte of the body is read
    assert peak < 8, peak


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_body_without_length_stops_after_the_limit(flavour: str) -> None:
    """No Content-Length (the body runs until the connection closes): reading stops once
    the body passes ``max_response_bytes``."""
    with hostile_server(huge(BODY, length=False)) as server:
        outcome, peak = traced(flavour, server.url, max_response_bytes=4 * MiB)
    assert isinstance(outcome, ResponseTooLargeError), outcome
    assert outcome.limit == 4 * MiB
    assert peak < 4 * 3 + 4, peak  # the body kept (<= limit), joined once, and buffers


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_gzip_bomb_stops_at_the_limit_of_its_decoded_size(flavour: str, bomb: bytes) -> None:
    assert len(bomb) < 1.1 * MiB
    with hostile_server(huge(len(bomb), encoding="gzip", chunk=bomb)) as server:
        outcome, peak = traced(flavour, server.url, max_response_bytes=8 * MiB)
    assert isinstance(outcome, ResponseTooLargeError), outcome
    assert "decoded" in str(outcome)
    assert peak < 8 * 3 + 4, peak


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_503_with_a_huge_body_is_read_only_in_part(flavour: str) -> None:
    with hostile_server(huge(BODY, status=503)) as server:
        started = time.monotonic()
        outcome, peak = traced(flavour, server.url)
        elapsed = time.monotonic() - started
    assert isinstance(outcome, InternalServerError), outcome
    assert outcome.attempts == 3  # 503 is a refusal: retried, each read only in part
    assert len(outcome.body) <= 400 and peak < 8, peak
    assert elapsed < 10


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_compressed_bodies_within_the_limit_decode(flavour: str) -> None:
    body = CHECK_OK
    for encoding, packed in (
        ("gzip", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("deflate", zlib.compress(body, wbits=-15)),  # raw deflate, as some servers send
    ):
        reply = respond(201, packed, {"Content-Encoding": encoding})
        with hostile_server(reply) as server:
            outcome = _call(flavour, server.url)
            (seen,) = server.seen
        assert not isinstance(outcome, Exception), (encoding, outcome)
        assert seen.headers["accept-encoding"] == "gzip, deflate"
