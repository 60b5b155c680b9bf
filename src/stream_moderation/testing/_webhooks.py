"""Webhook delivery: the events a call produced, POSTed to a URL and/or handed to a callback.

Each event is the JSON of its spec model (``type``, ``created_at``, ``custom`` and the
event's fields), signed like Stream signs webhooks: ``X-Signature`` is the lowercase hex
HMAC-SHA256 of the exact body with the API secret. ``X-Webhook-Id`` is unique per event
and stable across retries, ``X-Webhook-Attempt`` counts from 1, ``X-Api-Key`` names the
app. Delivery happens before the API call that caused it returns, so a test can assert on
it at once; a failure (exception, or a non-2xx answer from the URL) is retried after each
of ``retry_delays`` and never affects the API response.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from ._wire import TimestampMode, encode_json, ts

__all__ = ["WebhookCallback", "WebhookDelivery", "WebhookSender", "sign"]

logger = logging.getLogger("stream_moderation.testing")

WEBHOOK_EVENTS = (
    "review_queue_item.new",
    "review_queue_item.updated",
    "moderation_check.completed",
    "moderation.mark_reviewed",
    "moderation.custom_action",
    "appeal.created",
    "appeal.accepted",
    "appeal.rejected",
    "moderation.text_analysis.complete",
    "moderation.image_analysis.complete",
    "moderation.analysis.failed",
)
"""The event types the emulator sends."""


def sign(body: bytes, secret: str) -> str:
    """The X-Signature of a webhook body: hex HMAC-SHA256 keyed with the API secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class WebhookDelivery:
    """One webhook call: what was sent and how it went."""

    event_type: str
    body: bytes
    """The exact bytes that were signed and sent."""
    headers: dict[str, str]
    """The headers of the last attempt."""
    attempts: int = 0
    delivered: bool = False
    error: str | None = None
    status_code: int | None = None
    """The URL's answer to the last attempt (None for a callback)."""
    target: str = ""
    """The URL, or ``callback``."""
    payload: dict[str, Any] = field(default_factory=dict)
    """The event as JSON (decoded from ``body``)."""


WebhookCallback = Callable[[WebhookDelivery], Awaitable[Any] | Any]
"""Called with each delivery (its ``body`` and ``headers`` as a receiver would see them);
raising counts as a failed attempt."""


class WebhookSender:
    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        url: str | None = None,
        callback: WebhookCallback | None = None,
        retry_delays: Sequence[float] = (0.05, 0.25),
        timeout: float = 3.0,
    ) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self.url = url
        self.callback = callback
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.deliveries: list[WebhookDelivery] = []

    @property
    def enabled(self) -> bool:
        return self.url is not None or self.callback is not None

    @staticmethod
    def build(event_type: str, payload: dict[str, Any], now: int, mode: TimestampMode) -> bytes:
        """The JSON body of an event: its fields plus type, created_at and custom (the
        payload's own ``custom`` when it has one, e.g. an echo of the request's)."""
        return encode_json(
            {"type": event_type, "custom": {}, **payload, "created_at": ts(now)}, mode
        )

    async def send(
        self, events: list[tuple[str, dict[str, Any]]], now: int, mode: TimestampMode
    ) -> None:
        if not self.enabled or not events:
            return
        for event_type, payload in events:
            webhook_id = str(uuid.uuid4())
            body = self.build(event_type, payload, now, mode)
            decoded = json.loads(body)
            if self.url is not None:
                await self._deliver(webhook_id, event_type, body, decoded, self.url)
            if self.callback is not None:
                await self._deliver(webhook_id, event_type, body, decoded, None)

    def _headers(self, webhook_id: str, body: bytes, attempt: int) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Signature": sign(body, self._secret),
            "X-Webhook-Id": webhook_id,
            "X-Webhook-Attempt": str(attempt),
            "X-Api-Key": self.api_key,
        }

    async def _deliver(
        self,
        webhook_id: str,
        event_type: str,
        body: bytes,
        payload: dict[str, Any],
        url: str | None,
    ) -> None:
        delivery = WebhookDelivery(
            event_type=event_type,
            body=body,
            headers={},
            target=url or "callback",
            payload=payload,
        )
        self.deliveries.append(delivery)
        delays = (0.0, *self.retry_delays)
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await anyio.sleep(delay)
            delivery.attempts = attempt
            delivery.headers = self._headers(webhook_id, body, attempt)
            try:
                if url is not None:
                    async with httpx.AsyncClient(timeout=self.timeout) as client:
                        response = await client.post(url, content=body, headers=delivery.headers)
                    delivery.status_code = response.status_code
                    if not 200 <= response.status_code < 300:
                        raise RuntimeError(f"{url} answered {response.status_code}")
                else:
                    assert self.callback is not None
                    result = self.callback(delivery)
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:  # noqa: BLE001 - a receiver's failure is recorded, not raised
                delivery.error = f"{type(exc).__name__}: {exc}"
                logger.info(
                    "webhook %s to %s failed (attempt %d): %s",
                    event_type,
                    delivery.target,
                    attempt,
                    delivery.error,
                )
                continue
            delivery.delivered = True
            delivery.error = None
            return
