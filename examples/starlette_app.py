"""Moderate messages in a Starlette app, and receive Stream's moderation webhooks.

The same app as ``examples/fastapi_app.py``, in plain Starlette (which, with uvicorn,
comes with the ``testing`` extra)::

    STREAM_API_KEY=... STREAM_API_SECRET=... uvicorn --factory examples.starlette_app:create_app

- One ``AsyncStream`` per process, made in the lifespan and closed on shutdown; endpoints
  get it with ``moderation_client(request)``.
- ``POST /messages`` (JSON ``{"id", "user_id", "text"}``): 201 with the recommended
  action when the message may be posted (``keep`` or ``flag``), 422 when moderation
  removes it or the body is not such an object; 503 when Stream cannot be reached, 502
  for another API error.
- ``POST /webhooks/stream``: 200 for a verified event, 401 for a bad signature, 400 for
  an unreadable or stale event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from stream_moderation import APIConnectionError, AsyncStream, StreamError
from stream_moderation.models import ModerationPayload
from stream_moderation.webhooks import InvalidEventError, InvalidSignatureError, StaleEventError

log = logging.getLogger("starlette_app")

CONFIG_KEY = "chat_messages"
MAX_AGE = 300.0
FIELDS = ("id", "user_id", "text")


def moderation_client(request: Request) -> AsyncStream:
    """The app's client, made in the lifespan."""
    client: AsyncStream = request.app.state.moderation
    return client


def _message(payload: Any) -> dict[str, str] | None:
    if not isinstance(payload, dict):
        return None
    fields = {name: payload.get(name) for name in FIELDS}
    if not all(isinstance(v, str) and 0 < len(v) <= 10_000 for v in fields.values()):
        return None
    return fields  # type: ignore[return-value]


async def post_message(request: Request) -> Response:
    try:
        message = _message(await request.json())
    except ValueError:
        message = None
    if message is None:
        return JSONResponse({"detail": f"a JSON object with {', '.join(FIELDS)}"}, 422)
    client = moderation_client(request)
    try:
        response = await client.moderation.check(
            entity_type="stream:chat:v1:message",
            entity_id=message["id"],
            entity_creator_id=message["user_id"],
            moderation_payload=ModerationPayload(texts=[message["text"]]),
            config_key=CONFIG_KEY,
        )
    except APIConnectionError:
        return JSONResponse({"detail": "moderation is unavailable, try again"}, 503)
    except StreamError as exc:
        log.error("moderation check failed: %s", exc)
        return JSONResponse({"detail": "moderation failed"}, 502)
    result = response.data
    checked = {
        "id": message["id"],
        "recommended_action": str(result.recommended_action),
        "review_queue_item_id": result.item.id if result.item is not None else None,
    }
    if result.recommended_action == "remove":
        return JSONResponse({"detail": "the message was refused by moderation", **checked}, 422)
    return JSONResponse(checked, 201)


async def stream_webhook(request: Request) -> Response:
    body = await request.body()  # the raw bytes: the signature covers them
    client = moderation_client(request)
    try:
        event = client.parse_webhook(body, request.headers.get("X-Signature"), max_age=MAX_AGE)
    except InvalidSignatureError:
        return PlainTextResponse("invalid signature", 401)
    except (StaleEventError, InvalidEventError) as exc:
        return PlainTextResponse(str(exc), 400)
    request.app.state.webhook_events.append(event)
    log.info("webhook: %s", getattr(event, "type", type(event).__name__))
    return PlainTextResponse("ok")


def create_app(make_client: Callable[[], AsyncStream] = AsyncStream) -> Starlette:
    """The app; ``make_client`` makes its client (default: ``AsyncStream()``, which reads
    STREAM_API_KEY and STREAM_API_SECRET)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with make_client() as client:  # closed when the app shuts down
            app.state.moderation = client
            yield

    app = Starlette(
        routes=[
            Route("/messages", post_message, methods=["POST"]),
            Route("/webhooks/stream", stream_webhook, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.webhook_events = []
    return app
