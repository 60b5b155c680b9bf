"""check_many and auto-pagination against the emulator: what the issue promises a worker.

The emulator counts what it processed per entity id, so "each item checked exactly once"
is read from the server side. A small ASGI middleware adds latency, counts requests in
flight, and answers 429 for a while when a test asks it to.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from typing import Any

import anyio
import pytest

from stream_moderation import BadRequestError, CheckItem, RateLimitError
from stream_moderation.testing import Emulator, api_error_body

pytestmark = pytest.mark.anyio
ASGIApp = Any


class Gate:
    """ASGI middleware: per-request latency, the most requests seen in flight, 429s on demand."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.in_flight = 0
        self.max_in_flight = 0
        self.throttle_until = 0.0
        self.throttle_for: float | None = None
        """Throttle for this long from the first arrival (a stalled machine cannot eat it)."""
        self.retry_after = "0.2"
        self.arrivals: list[float] = []
        self.throttled = 0

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http" or not scope["path"].endswith("/check"):
                await app(scope, receive, send)
                return
            self.arrivals.append(time.monotonic())
            if self.throttle_for is not None and not self.throttle_until:
                self.throttle_until = self.arrivals[0] + self.throttle_for
            if time.monotonic() < self.throttle_until:
                self.throttled += 1
                body = json.dumps(api_error_body(429, 9, "Too many requests"))
                await send(
                    {
                        "type": "http.response.start",
                        "status": 429,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"retry-after", self.retry_after.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body.encode()})
                return
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.latency:
                    await anyio.sleep(self.latency)
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1

        return middleware


TEXTS = ["hello there", "Buy now! Click here for free money", "You are an idiot and a loser"]


def items(n: int, prefix: str = "msg") -> list[CheckItem]:
    return [
        CheckItem(
            "stream:chat:v1:message", f"{prefix}-{i}", f"user-{i % 9}", {"texts": [TEXTS[i % 3]]}
        )
        for i in range(n)
    ]


async def setup(emulator: Emulator) -> None:
    async with emulator.client() as client:
        await client.moderation.upsert_config(
            key="backfill",
            ai_text_config={
                "rules": [
                    {"label": "SPAM", "action": "flag"},
                    {"label": "HARASSMENT", "action": "remove"},
                ]
            },
        )


async def test_a_thousand_items_at_concurrency_20_are_each_checked_exactly_once() -> None:
    emulator = Emulator()
    gate = Gate(latency=0.001)
    emulator.add_middleware(gate)
    await setup(emulator)
    batch = items(1000)
    async with emulator.client() as client:
        results = [
            r
            async for r in client.moderation.check_many(
                batch, concurrency=20, config_key="backfill"
            )
        ]
    assert sorted(r.index for r in results) == list(range(1000))
    assert all(r.ok for r in results)
    assert all(r.item is batch[r.index] for r in results)
    assert set(emulator.state.check_counts.values()) == {1}
    assert len(emulator.state.check_counts) == 1000
    assert 1 < gate.max_in_flight <= 20
    actions = Counter(r.recommended_action for r in results)
    assert actions == {"keep": 334, "flag": 333, "remove": 333}
    for result in results:  # each result is the answer to its own item
        text = result.item.moderation_payload["texts"][0]  # type: ignore[index]
        assert (
            result.recommended_action
            == {TEXTS[0]: "keep", TEXTS[1]: "flag", TEXTS[2]: "remove"}[text]
        )


async def test_a_failing_item_is_reported_and_the_rest_complete() -> None:
    emulator = Emulator()
    await setup(emulator)
    batch = items(30)
    batch[7] = CheckItem("stream:chat:v1:message", "msg-7", "user-7", {"texts": "not a list"})  # type: ignore[arg-type]
    batch[12] = CheckItem(
        "stream:chat:v1:message", "msg-12", "user-1", {"texts": ["x"]}, config_key="missing"
    )
    async with emulator.client() as client:
        results = {
            r.index: r
            async for r in client.moderation.check_many(batch, concurrency=5, config_key="backfill")
        }
    assert len(results) == 30
    failed = {i for i, r in results.items() if not r.ok}
    assert failed == {7, 12}
    assert isinstance(results[7].error, (TypeError, ValueError))  # refused before sending
    assert results[12].error is not None and getattr(results[12].error, "status_code", None) == 404
    # The emulator counts what it received: all but the item refused before sending.
    assert "msg-7" not in emulator.state.check_counts
    assert len(emulator.state.check_counts) == 29


async def test_429s_slow_the_whole_batch_down() -> None:
    window = 0.3

    async def arrivals_in_window(shared: bool) -> int:
        emulator = Emulator()
        gate = Gate(latency=0.002)
        emulator.add_middleware(gate)
        await setup(emulator)
        batch = items(200)
        async with emulator.client() as client:
            gate.throttle_for = window
            gate.retry_after = "0.4"
            if shared:
                async for result in client.moderation.check_many(
                    batch, concurrency=20, config_key="backfill"
                ):
                    assert result.ok, result.error
            else:
                # The same 20 workers without a shared pause: a 429 fails only its own item
                # and the worker goes straight on to the next one.
                limiter = anyio.CapacityLimiter(20)

                async def one(item: CheckItem) -> None:
                    async with limiter:
                        with contextlib.suppress(RateLimitError):  # the 429s are the point
                            await client.moderation.check(
                                **item.to_kwargs(), config_key="backfill", max_retries=0
                            )

                async with anyio.create_task_group() as group:
                    for item in batch:
                        group.start_soon(one, item)
        start = gate.arrivals[0]
        return sum(1 for t in gate.arrivals if start <= t < start + window)

    with_pause = await arrivals_in_window(True)
    without = await arrivals_in_window(False)
    assert with_pause <= 20  # each worker knocks once, then the whole batch waits
    assert without > 3 * with_pause


async def test_cancelling_mid_batch_leaves_no_request_in_flight() -> None:
    emulator = Emulator()
    gate = Gate(latency=0.05)
    emulator.add_middleware(gate)
    await setup(emulator)
    seen = 0
    in_flight_when_cancelled = 0
    async with emulator.client() as client:
        # cancelled by what it has seen, not by a timer: a loaded machine may take any time
        # to give the first results
        with anyio.CancelScope() as scope:
            async with client.moderation.check_many(
                items(500), concurrency=10, config_key="backfill"
            ) as results:
                async for _ in results:
                    seen += 1
                    if seen >= 5 and gate.in_flight > 0:
                        in_flight_when_cancelled = gate.in_flight
                        scope.cancel()
        assert gate.in_flight == 0
        await anyio.sleep(0.1)
        assert gate.in_flight == 0
    assert in_flight_when_cancelled > 0  # the batch was cancelled with requests in flight
    assert 5 <= seen < 500
    assert len(emulator.state.check_counts) < 500


async def test_pagination_over_250_queue_items_yields_each_once_in_order() -> None:
    emulator = Emulator()
    async with emulator.client() as client:
        for i in range(250):
            await client.moderation.flag(
                entity_type="stream:chat:v1:message",
                entity_id=f"m-{i:03d}",
                reason="spam",
                user_id="reporter",
            )
        before = emulator.calls.get("query_review_queue", 0)
        seen = [
            item.entity_id
            async for item in client.moderation.query_review_queue.iter(
                sort=[{"field": "created_at", "direction": 1}], limit=25
            )
        ]
        pages = emulator.calls.get("query_review_queue", 0) - before
    assert seen == [f"m-{i:03d}" for i in range(250)]
    assert pages in (10, 11)  # the last page may be an empty confirmation


def test_sync_check_many_against_the_emulator() -> None:
    emulator = Emulator()
    anyio.run(setup, emulator)
    with emulator.sync_client() as client:
        results = list(
            client.moderation.check_many(items(60), concurrency=6, config_key="backfill")
        )
        with pytest.raises(BadRequestError):
            client.moderation.check(entity_type="", entity_id="", entity_creator_id="")
    assert len(results) == 60 and all(r.ok for r in results)
    assert set(emulator.state.check_counts.values()) == {1}
