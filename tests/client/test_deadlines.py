"""Deadlines over real loopback sockets: ``timeout`` bounds an attempt as a whole, and
``deadline`` the call, on asyncio, trio, the sync client and the aiohttp transport.

The servers are hostile in the ways a per-read timeout does not catch: a body trickled
one byte at a time (each read well within the read timeout), a server that never
answers while retries pile up, and a 503 whose ``Retry-After`` would outlast the
deadline. Each call must end within its limit plus a margin that a loaded 2-core machine
still meets, and in the way the operation's class says (a read times out, a check that
may have been processed says so)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from stream_moderation import (
    APITimeoutError,
    AsyncStream,
    InternalServerError,
    ResponseLostError,
    Stream,
    StreamError,
)
from stream_moderation.aiohttp import AiohttpTransport
from stream_moderation.testing import api_error_body
from tests.support.hostile_server import hostile_server, respond, stall, trickle

pytestmark = pytest.mark.release_independent

KEY = "deadline-key"
SECRET = "deadline-secret-that-is-long-enough-for-hs256"
MARGIN = 1.0
"""Seconds a call may run past its limit (scheduling on a loaded machine, teardown)."""
FLAVOURS = ["asyncio", "trio", "aiohttp", "sync"]
CHECK: dict[str, Any] = {"entity_type": "t", "entity_id": "1", "entity_creator_id": "u"}


def run(flavour: str, url: str, call: Callable[[Any], Any], **options: Any) -> tuple[object, float]:
    """Make one call with a client of ``flavour``; its outcome and how long it took."""
    started = time.monotonic()
    outcome: object
    if flavour == "sync":
        with Stream(KEY, SECRET, base_url=url, **options) as client:
            try:
                outcome = call(client.moderation)
            except StreamError as exc:
                outcome = exc
        return outcome, time.monotonic() - started

    async def main() -> object:
        transport = AiohttpTransport() if flavour == "aiohttp" else None
        async with AsyncStream(KEY, SECRET, base_url=url, transport=transport, **options) as c:
            try:
                return await call(c.moderation)
            except StreamError as exc:
                return exc

    backend = "trio" if flavour == "trio" else "asyncio"
    outcome = anyio.run(main, backend=backend)
    return outcome, time.monotonic() - started


def get_config(moderation: Any) -> Any:
    return moderation.get_config("policy")


def check(moderation: Any) -> Any:
    return moderation.check(**CHECK)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_trickled_body_ends_with_the_attempts_timeout(flavour: str) -> None:
    """A byte every 50 ms keeps each read well inside httpx's read timeout (the whole body
    would take 23 s); ``timeout=1`` ends the attempt after 1 s."""
    with hostile_server(trickle(0.05)) as server:
        outcome, elapsed = run(flavour, server.url, get_config, timeout=1.0, max_retries=0)
        assert isinstance(outcome, APITimeoutError), outcome
        assert outcome.timeout == 1.0 and "timeout of 1 s per attempt" in str(outcome)
        assert 0.9 <= elapsed < 1.0 + MARGIN, elapsed
        lost, elapsed = run(flavour, server.url, check, timeout=1.0, max_retries=0)
        assert isinstance(lost, ResponseLostError), lost  # check was sent: not resent
        assert elapsed < 1.0 + MARGIN
    assert len(server.seen) == 2


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_deadline_bounds_attempts_and_waits_together(flavour: str) -> None:
    """A trickle on every attempt, ``max_retries=5``: without a deadline that is six
    attempts of 1 s plus backoff; ``deadline=2.5`` ends the call at 2.5 s."""
    with hostile_server(trickle(0.05)) as server:
        outcome, elapsed = run(
            flavour, server.url, get_config, timeout=1.0, max_retries=5, deadline=2.5
        )
    assert isinstance(outcome, APITimeoutError), outcome
    assert elapsed < 2.5 + MARGIN, elapsed
    assert 2 <= len(server.seen) <= 3


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_server_that_never_answers_ends_at_the_deadline(flavour: str) -> None:
    with hostile_server(stall()) as server:
        outcome, elapsed = run(
            flavour, server.url, get_config, timeout=0.5, max_retries=10, deadline=1.5
        )
    assert isinstance(outcome, APITimeoutError), outcome
    assert elapsed < 1.5 + MARGIN, elapsed
    assert len(server.seen) >= 2  # retried while time was left
    assert outcome.attempts == len(server.seen)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_retry_after_past_the_deadline_is_not_waited_for(flavour: str) -> None:
    """503 with ``Retry-After: 59`` on every attempt took 118 s with ``timeout=5``; with
    the deadline the wait is not started: raised at once, ``retry_after=59``."""
    busy = respond(503, json.dumps(api_error_body(503, -1, "busy")).encode(), {"Retry-After": "59"})
    with hostile_server(busy) as server:
        outcome, elapsed = run(flavour, server.url, check, timeout=5.0, deadline=10.0)
    assert isinstance(outcome, InternalServerError), outcome
    assert outcome.retry_after == 59.0 and "retry_after=59 s" in str(outcome)
    assert elapsed < MARGIN, elapsed
    assert len(server.seen) == 1


def test_per_call_deadline_overrides_the_clients() -> None:
    with hostile_server(stall()) as server:
        started = time.monotonic()
        client = Stream(KEY, SECRET, base_url=server.url, timeout=5.0, deadline=30.0)
        with client, pytest.raises(APITimeoutError) as caught:
            client.moderation.get_config("policy", deadline=0.6)
        elapsed = time.monotonic() - started
    assert caught.value.limit == "deadline" and caught.value.timeout == 0.6
    assert "deadline of 0.6 s for the call" in str(caught.value)
    assert elapsed < 0.6 + MARGIN


@pytest.mark.parametrize("flavour", ["asyncio", "trio", "aiohttp"])
def test_cancelling_a_trickled_call_is_prompt(flavour: str) -> None:
    with hostile_server(trickle(0.05)) as server:

        async def main() -> float:
            transport = AiohttpTransport() if flavour == "aiohttp" else None
            async with AsyncStream(KEY, SECRET, base_url=server.url, transport=transport) as c:
                started = time.monotonic()
                with anyio.move_on_after(0.3):
                    await c.moderation.get_config("policy")
                return time.monotonic() - started

        elapsed = anyio.run(main, backend="trio" if flavour == "trio" else "asyncio")
    assert elapsed < 0.3 + MARGIN / 2, elapsed
