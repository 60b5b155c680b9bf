"""A gzip bomb (1 MiB that inflates to 1 GiB) costs bounded memory everywhere: the served
emulator authenticates before it inflates anything, inflates as the body streams in and
stops at its body limit; the webhook helpers stop at their own cap.

Before: sent with no credentials, the bomb drove the emulator from 44 MiB to 2,095 MiB
of resident memory before it answered 413.
"""

from __future__ import annotations

import functools
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest

from stream_moderation.testing import Emulator
from stream_moderation.testing._app import MAX_BODY_BYTES
from stream_moderation.webhooks import InvalidSignatureError, verify_and_parse
from tests.support.emulator_support import KEY, SECRET, error_of, headers
from tests.support.served_process import emulator_process

MIB = 1024 * 1024
# What the process may grow by: a body at the limit (5 MiB), twice, and the interpreter's
# own noise; the bomb inflated is 1,024 MiB.
EMULATOR_GROWTH_MIB = 64


@functools.cache
def bomb() -> bytes:
    """1 GiB of zeros, gzip-compressed: about 1 MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    return b"".join([compressor.compress(zeros) for _ in range(1024)] + [compressor.flush()])


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [(False, (401, 2)), (True, (413, 22))],
    ids=["no-credentials", "authenticated"],
)
def test_a_gzip_bomb_is_refused_in_bounded_memory(
    credentials: bool, expected: tuple[int, int]
) -> None:
    body = bomb()
    assert len(body) < 2 * MIB
    with emulator_process() as served:
        assert httpx.get(f"{served.url}/_emulator/health").status_code == 200
        before = served.peak_rss_mib()
        response = httpx.post(
            f"{served.url}/api/v2/moderation/check",
            params={"api_key": KEY} if credentials else {},
            content=body,
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                **(headers() if credentials else {}),
            },
            timeout=60,
        )
        grown = served.peak_rss_mib() - before
        # and it still serves
        assert httpx.get(f"{served.url}/_emulator/health").status_code == 200
    assert (response.status_code, error_of(response)["code"]) == expected
    assert grown < EMULATOR_GROWTH_MIB, f"peak RSS grew by {grown:.0f} MiB"


def test_a_gzip_body_inflating_just_past_the_limit_is_413(served_in_thread: str) -> None:
    """The cap is the body limit itself, after inflating."""
    for size, status in ((MAX_BODY_BYTES - 100, 400), (MAX_BODY_BYTES + 1, 413)):
        # a body of spaces is not JSON once inflated (400); over the limit it is never read
        response = httpx.post(
            f"{served_in_thread}/api/v2/moderation/check",
            params={"api_key": KEY},
            content=zlib.compress(b" " * size, wbits=16 + zlib.MAX_WBITS),
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                **headers(),
            },
        )
        assert response.status_code == status, (size, response.text)


@pytest.fixture
def served_in_thread() -> Iterator[str]:
    with Emulator(KEY, SECRET).serve() as url:
        yield url


def test_the_webhook_helpers_stop_inflating_at_their_cap() -> None:
    body = bomb()
    tracemalloc.start()
    try:
        with pytest.raises(InvalidSignatureError, match="inflates past"):
            verify_and_parse(body, "0" * 64, "secret")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80 * MIB, f"{peak / MIB:.0f} MiB"
