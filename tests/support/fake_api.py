"""A small stand-in for the API's check and review-queue endpoints, for the worker tests.

It answers through httpx.MockTransport (async and sync handlers over the same state) and
records what happened: requests per entity, arrival times, requests in flight (and the
most at once). Knobs: a latency (per entity if wanted), statuses to answer for some
entities, a rate-limit window opened by the n-th check (every request inside it gets 429
with the Retry-After left), and a review queue of any size paged with ``limit``/``next``.

It keeps the worker tests fast (no emulator state, no classifier); its bodies are built
from the generated release's spec (``stream_moderation.testing.response_body``), so a
release that adds required fields does not leave them behind.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from stream_moderation.testing import api_error_body, model_body, response_body

CHECK_PATH = "/api/v2/moderation/check"
QUEUE_PATH = "/api/v2/moderation/review_queue"


def action_for(text: str) -> str:
    """The fake's classifier: 'abuse' removes, 'spam' flags, anything else is kept."""
    if "abuse" in text:
        return "remove"
    if "spam" in text:
        return "flag"
    return "keep"


def queue_item(n: int) -> dict[str, Any]:
    """A review queue item (its other required fields filled from the spec)."""
    return model_body(
        "ReviewQueueItemResponse",
        created_at=1_715_679_472_000_000_000 + n,
        entity_id=f"msg-{n}",
        entity_type="stream:chat:v1:message",
        flags_count=1,
        id=f"rq-{n:04d}",
        languages=["en"],
        recommended_action="flag",
        severity=1,
        status="pending",
        updated_at=1_715_679_472_000_000_000 + n,
    )


class FakeAPI:
    def __init__(
        self,
        *,
        latency: float | Callable[[str], float] = 0.0,
        queue_size: int = 0,
    ) -> None:
        self.latency = latency
        self.fail: dict[str, int] = {}
        """entity_id -> the error status to answer for it."""
        self.window_at: int | None = None
        """The check that opens the rate-limit window (1-based), if any."""
        self.window = 0.0
        self.throttle = True
        """False: only mark the window (a baseline run), answer normally inside it."""
        self.window_start: float | None = None
        self.calls: Counter[str] = Counter()
        self.succeeded: Counter[str] = Counter()
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.queue = [queue_item(n) for n in range(queue_size)]
        self.queue_bodies: list[dict[str, Any]] = []
        self.gather = 0
        """The first ``gather`` checks each wait until that many are in flight at once (sync),
        so that a bound on concurrency is reached whatever the machine's speed."""
        self.hold: dict[str, int] = {}
        """entity_id -> how many other checks must have been answered before it is (async)."""
        self._lock = threading.Lock()

    # -- transports --------------------------------------------------------------

    def async_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle_async)

    def sync_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle_sync)

    async def _handle_async(self, request: httpx.Request) -> httpx.Response:
        delay, answer = self._begin(request)
        try:
            if delay:
                await anyio.sleep(delay)
            others = self.hold.get(str(answer.get("body", {}).get("entity_id")))
            if others is not None:
                with anyio.fail_after(30):  # a condition, not a duration: 30 s is "never"
                    while sum(self.succeeded.values()) < others:
                        await anyio.sleep(0.001)
            return self._finish(answer)
        finally:
            self._end()

    def _handle_sync(self, request: httpx.Request) -> httpx.Response:
        delay, answer = self._begin(request)
        try:
            if len(self.arrivals) <= self.gather:
                deadline = time.monotonic() + 30  # a condition, not a duration
                while self.max_in_flight < self.gather and time.monotonic() < deadline:
                    time.sleep(0.001)
            if delay:
                time.sleep(delay)
            return self._finish(answer)
        finally:
            self._end()

    # -- behaviour ---------------------------------------------------------------

    def arrivals_in_window(self) -> int:
        """Checks that arrived while the window was open (the opening one included)."""
        assert self.window_start is not None, "the window never opened"
        end = self.window_start + self.window
        return sum(1 for t in self.arrivals if self.window_start <= t < end)

    def _begin(self, request: httpx.Request) -> tuple[float, dict[str, Any]]:
        body = json.loads(request.content) if request.content else {}
        now = time.monotonic()
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if request.url.path == QUEUE_PATH:
                self.queue_bodies.append(body)
                return 0.0, {"kind": "queue", "body": body}
            entity_id = str(body.get("entity_id"))
            self.calls[entity_id] += 1
            self.arrivals.append(now)
            if self.window_at is not None and len(self.arrivals) == self.window_at:
                self.window_start = now
            if (
                self.throttle
                and self.window_start is not None
                and now < self.window_start + self.window
            ):
                left = self.window_start + self.window - now
                return 0.0, {"kind": "429", "retry_after": f"{left:.3f}"}
            if entity_id in self.fail:
                return 0.0, {"kind": "error", "status": self.fail[entity_id]}
        latency = self.latency(entity_id) if callable(self.latency) else self.latency
        return latency, {"kind": "check", "body": body}

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _finish(self, answer: dict[str, Any]) -> httpx.Response:
        kind = answer["kind"]
        if kind == "429":
            return httpx.Response(
                429,
                headers={"Retry-After": answer["retry_after"]},
                json=_error(429, 9, "Too many requests"),
            )
        if kind == "error":
            status = answer["status"]
            return httpx.Response(status, json=_error(status, 4, f"fake error {status}"))
        if kind == "queue":
            return self._queue_page(answer["body"])
        body = answer["body"]
        texts = (body.get("moderation_payload") or {}).get("texts") or [""]
        with self._lock:
            self.succeeded[body["entity_id"]] += 1
        return httpx.Response(
            201,
            json=response_body(
                "check",
                recommended_action=action_for(" ".join(texts)),
                status="complete",
                duration="0.1ms",
                task_id=f"task-{body['entity_id']}",
            ),
        )

    def _queue_page(self, body: dict[str, Any]) -> httpx.Response:
        start = int(body.get("next") or 0)
        limit = int(body.get("limit") or 25)
        page = self.queue[start : start + limit]
        cursors: dict[str, str] = {}
        if start + limit < len(self.queue):
            cursors["next"] = str(start + limit)
        if start:
            cursors["prev"] = str(max(0, start - limit))
        payload = response_body("query_review_queue", duration="0.1ms", items=page, **cursors)
        return httpx.Response(201, json=payload)


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return api_error_body(status, code, message, duration="0.1ms")
