"""The rate-limit coordinators, in process and through a real Redis server: what one client
learns from an answer (a 429, ``X-RateLimit-Remaining: 0``, the window's quota) holds back
the others; every pause expires on its own; Redis failing never stops a check.

Two clients with a coordinator each stand for two workers: ``RedisRateLimits`` instances
share nothing but the Redis server (tests/examples/test_fleet.py runs worker processes)."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
import redis

from stream_moderation import (
    APITimeoutError,
    ArgumentValueError,
    AsyncStream,
    CheckItem,
    CoordinatorError,
    LocalRateLimits,
    RateLimitCoordinator,
    RateLimitError,
    RedisRateLimits,
)
from stream_moderation.testing import Emulator, FaultInjector, RateLimited
from tests.support.redis_support import RedisServer, free_port, redis_server

pytestmark = [pytest.mark.anyio, pytest.mark.release_independent]
Make = Callable[..., RateLimitCoordinator]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # RedisRateLimits runs on asyncio; the trio tests say so


@pytest.fixture(params=["local", "redis"])
async def coordinators(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """Makes the coordinator of one more "worker": in process, the same one for all; with
    Redis, a new one (its own connections) on the same server."""
    if request.param == "local":
        shared: dict[bool, LocalRateLimits] = {}

        def local(*, pace: bool = False) -> RateLimitCoordinator:
            return shared.setdefault(pace, LocalRateLimits(pace=pace))

        yield local
        return
    made: list[RedisRateLimits] = []
    with redis_server() as server:

        def shared_redis(*, pace: bool = False) -> RateLimitCoordinator:
            made.append(RedisRateLimits(server.url, pace=pace))
            return made[-1]

        yield shared_redis
        for limits in made:
            await limits.aclose()


def emulator_with(**options: Any) -> Emulator:
    return Emulator(**options)


async def with_config(emulator: Emulator) -> None:
    async with emulator.client() as client:
        await client.moderation.upsert_config(
            key="c", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
        )


async def check(client: AsyncStream, entity_id: str) -> float:
    """Check one message; returns when it was answered (time.monotonic)."""
    await client.moderation.check(
        entity_type="stream:chat:v1:message",
        entity_id=entity_id,
        entity_creator_id="user-1",
        moderation_payload={"texts": ["hello"]},
        config_key="c",
    )
    return time.monotonic()


async def window_start(window: int) -> None:
    now = time.time()
    await anyio.sleep(math.ceil(now / window) * window - now + 0.02)


async def test_a_429_seen_by_one_client_pauses_the_others(coordinators: Make) -> None:
    emulator = emulator_with()
    await with_config(emulator)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    faults.inject(RateLimited(retry_after=0.6), times=1, operations=["check"])
    async with (
        emulator.client(rate_limits=coordinators()) as first,
        emulator.client(rate_limits=coordinators()) as second,
    ):
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            tg.start_soon(check, first, "m-1")  # answered 429, waits 0.6 s, sent again
            await anyio.sleep(0.1)
            answered = await check(second, "m-2")  # waits for the first one's pause
    assert faults.injected == {"429": 1}  # the second client never got one
    assert answered - started >= 0.55
    assert emulator.state.check_counts == {"m-1": 1, "m-2": 1}


async def test_remaining_zero_pauses_every_client_until_the_reset(coordinators: Make) -> None:
    emulator = emulator_with(rate_limits={"check": 2}, rate_window=1)
    await with_config(emulator)
    async with (
        emulator.client(rate_limits=coordinators()) as first,
        emulator.client(rate_limits=coordinators()) as second,
    ):
        await window_start(1)
        await check(first, "m-1")
        await check(first, "m-2")  # X-RateLimit-Remaining: 0
        waited_from = time.time()
        await check(second, "m-3")  # waits for the reset
    assert emulator.rate_limited == {}  # nobody walked into the closed window
    assert time.time() >= math.ceil(waited_from)
    assert len(emulator.state.check_counts) == 3


async def test_pacing_keeps_concurrent_clients_under_each_window_quota(coordinators: Make) -> None:
    emulator = emulator_with(rate_limits={"check": 4}, rate_window=1)
    await with_config(emulator)

    async def check_all(client: AsyncStream, prefix: str) -> list[bool]:
        items = [
            CheckItem("stream:chat:v1:message", f"{prefix}-{i}", "user-1", {"texts": ["hi"]})
            for i in range(4)
        ]
        batch = client.moderation.check_many(items, concurrency=4, config_key="c")
        return [r.ok async for r in batch]

    outcomes: list[bool] = []
    async with (
        emulator.client(rate_limits=coordinators(pace=True)) as first,
        emulator.client(rate_limits=coordinators(pace=True)) as second,
    ):
        await window_start(1)
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for client, prefix in ((first, "a"), (second, "b")):

                async def run(client: AsyncStream = client, prefix: str = prefix) -> None:
                    outcomes.extend(await check_all(client, prefix))

                tg.start_soon(run)
        took = time.monotonic() - started
    # 8 checks, 4 per window: two windows, and not one 429
    assert outcomes == [True] * 8
    assert emulator.rate_limited == {}
    assert set(emulator.state.check_counts.values()) == {1}
    assert 1.0 <= took < 3.0


async def test_a_call_waits_for_a_pause_within_its_deadline() -> None:
    emulator = emulator_with()
    await with_config(emulator)
    limits = LocalRateLimits()
    async with emulator.client(rate_limits=limits, deadline=0.5) as client:
        await limits.pause(f"{client.api_key}:check", 5.0)
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"deadline of 0\.5 s"):
            await check(client, "m-1")
    # the wait gives up while half the deadline is left for the attempt: nothing sent
    assert 0.2 <= time.monotonic() - started < 1.5
    assert emulator.calls.get("check", 0) == 0


async def test_a_pause_never_leaves_the_attempt_without_its_timeout() -> None:
    emulator = emulator_with()
    await with_config(emulator)
    limits = LocalRateLimits()
    async with emulator.client(rate_limits=limits, deadline=3.0, timeout=1.0) as client:
        # ends 2.5 s in: waiting for it would leave the check 0.5 s of its 1 s timeout
        await limits.pause(f"{client.api_key}:check", 2.5)
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"deadline of 3(\.0)? s") as raised:
            await check(client, "m-1")
        assert 1.8 <= time.monotonic() - started < 2.6  # gave up with 1 s left, unsent
        assert not raised.value.may_have_been_processed
        assert emulator.calls.get("check", 0) == 0
        # a pause that leaves the attempt its timeout is waited for
        await limits.pause(f"{client.api_key}:check", 1.0)
        await check(client, "m-2")
    assert emulator.calls["check"] == 1


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_in_process_coordinator_works_under_trio() -> None:
    emulator = emulator_with(rate_limits={"check": 1}, rate_window=1)
    await with_config(emulator)
    async with emulator.client(rate_limits=LocalRateLimits()) as client:
        await window_start(1)
        await check(client, "m-1")
        await check(client, "m-2")  # waits for the reset
    assert emulator.rate_limited == {}


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_redis_coordinator_says_it_needs_asyncio() -> None:
    with redis_server() as server:
        limits = RedisRateLimits(server.url)
        with pytest.raises(CoordinatorError, match="needs asyncio"):
            async with Emulator().client(rate_limits=limits):
                pass


# -- Redis: expiry, bad input, failures --------------------------------------------------------

CHILD = """
import anyio, os, signal, sys
from stream_moderation import RedisRateLimits

async def main():
    limits = RedisRateLimits(sys.argv[1], pace=True, probe_seconds=1.0)
    await limits.acquire("app:probed")        # this process holds the window's probe
    await limits.pause("app:paused", 1.5)     # and pauses the fleet for 1.5 s
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)      # then dies without a word

anyio.run(main)
"""


async def test_a_dying_worker_never_leaves_the_fleet_paused() -> None:
    with redis_server() as server:
        child = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(CHILD), server.url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert child.stdout == "ready\n" and child.returncode == -9
        died = time.monotonic()
        async with RedisRateLimits(server.url, pace=True) as limits:
            with anyio.fail_after(5):
                await limits.acquire("app:paused")
            paused = time.monotonic() - died
            with anyio.fail_after(5):
                await limits.acquire("app:probed")
            probed = time.monotonic() - died
        assert 0.9 < paused <= 1.6  # the pause was shared, and ended on its own
        assert probed <= 1.6  # the dead worker's probe expired too


def test_a_bad_redis_url_is_refused_at_once_without_its_password() -> None:
    with pytest.raises(ArgumentValueError, match="not a Redis URL") as info:
        RedisRateLimits("http://:hunter2-the-password@cache.internal:6379/0")
    assert "hunter2" not in str(info.value)
    assert "redis://[:password@]host" in str(info.value)


async def test_redis_unreachable_at_start_is_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    limits = RedisRateLimits(f"redis://:hunter2-the-password@127.0.0.1:{port}/0")
    assert "hunter2" not in repr(limits)
    with pytest.raises(CoordinatorError) as info:
        async with Emulator().client(rate_limits=limits):
            pass
    message = str(info.value)
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{port}/0" in message
    assert "fallback=True" in message
    assert "hunter2" not in message


async def test_redis_down_at_start_back_and_killed_mid_run_checks_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stream_moderation")
    emulator = emulator_with()
    await with_config(emulator)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    server = RedisServer()  # not started: Redis is down at start
    limits = RedisRateLimits(server.url, fallback=True, reconnect_after=0.2)
    try:
        async with emulator.client(rate_limits=limits) as client:
            for i in range(3):
                await check(client, f"down-{i}")
            assert not limits.connected and limits.outages == 1

            server.start()
            await anyio.sleep(0.25)
            faults.inject(RateLimited(retry_after=0.5), times=1, operations=["check"])
            with pytest.raises(RateLimitError):
                await client.moderation.check(
                    entity_type="stream:chat:v1:message",
                    entity_id="back",
                    entity_creator_id="user-1",
                    config_key="c",
                    max_retries=0,
                )
            assert limits.connected  # the 429's pause went to Redis
            shared = redis.Redis(port=server.port)
            pauses = list(shared.scan_iter("stream-moderation:rate-limits:*:pause"))
            assert len(pauses) == 1 and 0 < shared.pttl(pauses[0]) <= 1100  # to the reset
            shared.close()
            await check(client, "back")

            server.kill()
            started = time.monotonic()
            for i in range(3):
                await check(client, f"killed-{i}")
            assert time.monotonic() - started < 2  # a dead Redis costs no waiting
            assert limits.outages == 2
    finally:
        server.kill()
        await limits.aclose()
    assert set(emulator.state.check_counts.values()) == {1}
    assert len(emulator.state.check_counts) == 7
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one warning per outage, however many checks
    assert all("is unreachable" in m for m in warnings)
    assert sum("reachable again" in r.getMessage() for r in caplog.records) == 1
