"""Receive Stream moderation webhooks in a Starlette app.

Run it (Starlette and uvicorn come with the ``testing`` extra)::

    STREAM_API_SECRET=... uvicorn --factory examples.webhook_app:create_app

and set ``https://<your host>/webhooks/stream`` as the moderation webhook URL in the
dashboard. ``POST /webhooks/stream`` reads the raw body and ``X-Signature``, verifies and
parses the event, and awaits the handlers registered for its class:

- 200 once handled, or when this body was already handled: each signed body is handled
  once (``event_key``: its SHA-256, which the signature covers; ``X-Webhook-Id`` is not
  signed, so a replay can carry any id). Stream retries a call with the same body;
- 401 when the signature is missing or wrong;
- 400 when the event's ``created_at`` (signed) is more than ``max_age`` (5 minutes) from
  now: a replayed call, or a retry later than accepted; or when a signed body is not a
  readable event;
- 500 when a handler fails, so that Stream retries (and the retry is handled).

Stream expects an answer within seconds: keep handlers short, or hand the event to a
queue.
"""

from __future__ import annotations

import logging
import os
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
    SeenEvents,
    StaleEventError,
    UnknownEvent,
    event_key,
    verify_and_parse,
)

log = logging.getLogger("webhook_app")

MAX_AGE = 300.0
"""Seconds: an event created further from now is refused (a replay, or a very late retry)."""

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
    seen: SeenEvents | None = None,
    max_age: float = MAX_AGE,
) -> Starlette:
    """The webhook app; the secret defaults to the ``STREAM_API_SECRET`` variable.

    ``seen`` remembers the bodies handled (by default for ``2 * max_age``, in memory: with
    several workers, share them, e.g. in Redis).
    """
    secret = api_secret or os.environ.get("STREAM_API_SECRET")
    if not secret:
        raise RuntimeError("set STREAM_API_SECRET (the app's API secret) to verify webhooks")
    seen_bodies = seen if seen is not None else SeenEvents(ttl=2 * max_age)

    async def receive(request: Request) -> PlainTextResponse:
        body = await request.body()
        try:
            event = verify_and_parse(
                body, request.headers.get("x-signature"), secret, max_age=max_age
            )
        except InvalidSignatureError as exc:
            log.warning("rejected webhook call: %s", exc)
            return PlainTextResponse("invalid signature", status_code=401)
        except StaleEventError as exc:
            log.warning("rejected stale webhook call: %s", exc)
            return PlainTextResponse("stale event", status_code=400)
        except InvalidEventError as exc:
            log.error("signed webhook body is not a readable event: %s", exc)
            return PlainTextResponse(str(exc), status_code=400)

        key = event_key(body)
        if not seen_bodies.claim(key):
            return PlainTextResponse("already handled")
        try:
            await event_handlers.dispatch(event)
        except BaseException:
            seen_bodies.release(key)
            raise
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/webhooks/stream", receive, methods=["POST"])])


if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
