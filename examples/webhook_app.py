"""Receive Stream moderation webhooks in a Starlette app.

Run it (Starlette and uvicorn come with the ``testing`` extra)::

    STREAM_API_SECRET=... uvicorn --factory examples.webhook_app:create_app

and set ``https://<your host>/webhooks/stream`` as the moderation webhook URL in the
dashboard. ``POST /webhooks/stream`` reads the raw body and ``X-Signature``, verifies and
parses the event, and awaits the handlers registered for its class:

- 200 once handled (or when this ``X-Webhook-Id`` was already handled: Stream retries a
  call with the same id, so handling is idempotent);
- 401 when the signature is missing or wrong;
- 400 when a signed body is not a readable event;
- 500 when a handler fails, so that Stream retries.

Stream expects an answer within seconds: keep handlers short, or hand the event to a
queue.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from stream_moderation.models import (
    ModerationCheckCompletedEvent,
    ReviewQueueItemNewEvent,
    ReviewQueueItemUpdatedEvent,
)
from stream_moderation.webhooks import (
    InvalidEventError,
    InvalidSignatureError,
    UnknownEvent,
    verify_and_parse,
)

log = logging.getLogger("webhook_app")

E = TypeVar("E")
Handler = Callable[[E], Awaitable[None]]


class EventHandlers:
    """Async handlers by event class; an event goes to the handlers of its class."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Handler[Any]]] = {}

    def on(self, event_class: type[E]) -> Callable[[Handler[E]], Handler[E]]:
        """Decorator: ``@handlers.on(ReviewQueueItemNewEvent)``."""

        def register(handler: Handler[E]) -> Handler[E]:
            self._handlers.setdefault(event_class, []).append(handler)
            return handler

        return register

    async def dispatch(self, event: object) -> None:
        for handler in self._handlers.get(type(event), []):
            await handler(event)


class SeenWebhooks:
    """The ids of the last ``size`` webhook calls handled (or being handled) here.

    In memory, so per process: with several workers, keep the ids in a shared store
    (e.g. Redis ``SET NX`` with an expiry) instead.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def claim(self, webhook_id: str) -> bool:
        """Whether the call is new (and now claimed); False if it was seen already."""
        if webhook_id in self._ids:
            return False
        self._ids[webhook_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True

    def release(self, webhook_id: str) -> None:
        """Forget a call whose handling failed, so that Stream's retry is handled."""
        self._ids.pop(webhook_id, None)


# The handlers of this example: replace them with your own.
handlers = EventHandlers()


@handlers.on(ReviewQueueItemNewEvent)
async def on_new_item(event: ReviewQueueItemNewEvent) -> None:
    item = event.review_queue_item
    flags = len(event.flags or [])
    log.info("new review queue item %s (%d flags)", item and item.id, flags)


@handlers.on(ReviewQueueItemUpdatedEvent)
async def on_updated_item(event: ReviewQueueItemUpdatedEvent) -> None:
    item = event.review_queue_item
    log.info("review queue item %s updated", item and item.id)


@handlers.on(ModerationCheckCompletedEvent)
async def on_check_completed(event: ModerationCheckCompletedEvent) -> None:
    log.info("check of %s %s: %s", event.entity_type, event.entity_id, event.recommended_action)


@handlers.on(UnknownEvent)
async def on_unknown(event: UnknownEvent) -> None:
    log.info("event type %s is not known to this SDK version; ignored", event.type)


def create_app(
    api_secret: str | None = None,
    event_handlers: EventHandlers = handlers,
    seen: SeenWebhooks | None = None,
) -> Starlette:
    """The webhook app; the secret defaults to the ``STREAM_API_SECRET`` variable."""
    secret = api_secret or os.environ.get("STREAM_API_SECRET")
    if not secret:
        raise RuntimeError("set STREAM_API_SECRET (the app's API secret) to verify webhooks")
    seen_ids = seen if seen is not None else SeenWebhooks()

    async def receive(request: Request) -> PlainTextResponse:
        body = await request.body()
        try:
            event = verify_and_parse(body, request.headers.get("x-signature"), secret)
        except InvalidSignatureError as exc:
            log.warning("rejected webhook call: %s", exc)
            return PlainTextResponse("invalid signature", status_code=401)
        except InvalidEventError as exc:
            log.error("signed webhook body is not a readable event: %s", exc)
            return PlainTextResponse(str(exc), status_code=400)

        webhook_id = request.headers.get("x-webhook-id")
        if webhook_id and not seen_ids.claim(webhook_id):
            return PlainTextResponse("already handled")
        try:
            await event_handlers.dispatch(event)
        except BaseException:
            if webhook_id:
                seen_ids.release(webhook_id)
            raise
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/webhooks/stream", receive, methods=["POST"])])


if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
