"""Moderate messages in a FastAPI app, and receive Stream's moderation webhooks.

Run it (FastAPI is not a dependency of the SDK: ``pip install fastapi uvicorn``)::

    STREAM_API_KEY=... STREAM_API_SECRET=... uvicorn --factory examples.fastapi_app:create_app

- One ``AsyncStream`` per process, made in the app's lifespan and closed on shutdown: its
  connection pool serves every request. The ``moderation_client`` dependency hands it to
  the endpoints (override it in tests, or pass ``make_client`` to ``create_app``).
- ``POST /messages`` checks a message with the moderation config ``CONFIG_KEY``: 201 with
  the recommended action when it may be posted (``keep``, or ``flag``: posted and queued
  for review), 422 when moderation removes it (and, as FastAPI does, for a body that does
  not validate); 503 when Stream cannot be reached, 502 for another API error.
- ``POST /webhooks/stream`` verifies ``X-Signature`` with the client's secret, parses the
  event (200), and answers 401 for a bad signature, 400 for an unreadable or stale event.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from stream_moderation import APIConnectionError, AsyncStream, StreamError
from stream_moderation.models import ModerationPayload
from stream_moderation.webhooks import InvalidEventError, InvalidSignatureError, StaleEventError

log = logging.getLogger("fastapi_app")

CONFIG_KEY = os.environ.get("STREAM_MODERATION_CONFIG", "chat_messages")
"""The moderation config (policy) the messages are checked with."""
MAX_AGE = 300.0
"""Seconds: a webhook event created further from now is refused (a replay)."""


class NewMessage(BaseModel):
    id: str = Field(min_length=1, max_length=255)
    user_id: str = Field(min_length=1, max_length=255)
    text: str = Field(min_length=1, max_length=10_000)


class Checked(BaseModel):
    id: str
    recommended_action: str
    review_queue_item_id: str | None = None


def moderation_client(request: Request) -> AsyncStream:
    """The app's client, made in the lifespan (a FastAPI dependency)."""
    client: AsyncStream = request.app.state.moderation
    return client


Client = Annotated[AsyncStream, Depends(moderation_client)]


def create_app(make_client: Callable[[], AsyncStream] = AsyncStream) -> FastAPI:
    """The app; ``make_client`` makes its client (default: ``AsyncStream()``, which reads
    STREAM_API_KEY and STREAM_API_SECRET)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with make_client() as client:  # closed when the app shuts down
            app.state.moderation = client
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.webhook_events = []  # what the webhook received, for the demo

    @app.post("/messages", status_code=201, response_model=Checked)
    async def post_message(message: NewMessage, client: Client) -> Any:
        try:
            response = await client.moderation.check(
                entity_type="stream:chat:v1:message",
                entity_id=message.id,
                entity_creator_id=message.user_id,
                moderation_payload=ModerationPayload(texts=[message.text]),
                config_key=CONFIG_KEY,
            )
        except APIConnectionError as exc:  # timeouts included: Stream did not answer
            raise HTTPException(503, "moderation is unavailable, try again") from exc
        except StreamError as exc:
            log.error("moderation check failed: %s", exc)
            raise HTTPException(502, "moderation failed") from exc
        result = response.data
        item = result.item
        checked = Checked(
            id=message.id,
            recommended_action=str(result.recommended_action),
            review_queue_item_id=item.id if item is not None else None,
        )
        if result.recommended_action == "remove":
            return JSONResponse(
                {"detail": "the message was refused by moderation", **checked.model_dump()},
                status_code=422,
            )
        return checked

    @app.post("/webhooks/stream")
    async def stream_webhook(
        request: Request,
        client: Client,
        x_signature: Annotated[str | None, Header()] = None,
    ) -> Response:
        body = await request.body()  # the raw bytes: the signature covers them
        try:
            event = client.parse_webhook(body, x_signature, max_age=MAX_AGE)
        except InvalidSignatureError:
            return Response("invalid signature", status_code=401)
        except (StaleEventError, InvalidEventError) as exc:
            return Response(str(exc), status_code=400)
        request.app.state.webhook_events.append(event)
        log.info("webhook: %s", getattr(event, "type", type(event).__name__))
        return Response("ok")

    return app
