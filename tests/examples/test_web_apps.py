"""examples/fastapi_app.py and examples/starlette_app.py against the in-process emulator,
through httpx's ASGI transport, on asyncio and trio: the client made in the lifespan and
closed at shutdown, the check endpoint's 201 and 422, and the webhook endpoint fed with
what the emulator sends."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from stream_moderation import AsyncStream
from stream_moderation.models import ModerationCheckCompletedEvent
from stream_moderation.testing import Emulator, FaultInjector, WebhookDelivery
from stream_moderation.webhooks import sign_test_payload

pytestmark = pytest.mark.anyio

KEY = "web-app-key"
SECRET = "web-app-secret-of-32-bytes-or-more-0123456789"
APPS = ["examples.fastapi_app", "examples.starlette_app"]


@pytest.fixture(params=APPS)
def example(request: pytest.FixtureRequest) -> Any:
    if request.param == "examples.fastapi_app":
        pytest.importorskip("fastapi")
    return importlib.import_module(request.param)


class Served:
    def __init__(self) -> None:
        self.deliveries: list[WebhookDelivery] = []
        self.emulator = Emulator(KEY, SECRET, webhook_callback=self.deliveries.append)
        self.faults = FaultInjector()
        self.emulator.add_middleware(self.faults)
        self.clients: list[AsyncStream] = []
        self.app: Any = None

    def make_client(self) -> AsyncStream:
        client = self.emulator.client()
        self.clients.append(client)
        return client


@asynccontextmanager
async def running(example: Any, served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run (httpx's ASGI transport does not run it)."""
    app = served.app = example.create_app(served.make_client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


async def policy(served: Served, key: str) -> None:
    async with served.emulator.client() as client:
        await client.moderation.upsert_config(
            key=key,
            ai_text_config={
                "rules": [
                    {"label": "SPAM", "action": "flag"},
                    {"label": "HARASSMENT", "action": "remove"},
                ]
            },
        )


def message(n: int, text: str) -> dict[str, str]:
    return {"id": f"message-{n}", "user_id": "user-1", "text": text}


async def test_the_check_endpoint_answers_201_or_422(example: Any) -> None:
    served = Served()
    await policy(served, example.CONFIG_KEY)
    async with running(example, served) as http:
        (client,) = served.clients  # one client for the app, made in the lifespan
        kept = await http.post("/messages", json=message(1, "hello there"))
        assert kept.status_code == 201
        assert kept.json()["recommended_action"] == "keep"
        flagged = await http.post("/messages", json=message(2, "buy now, click here"))
        assert flagged.status_code == 201
        assert flagged.json()["recommended_action"] == "flag"
        assert flagged.json()["review_queue_item_id"]
        removed = await http.post("/messages", json=message(3, "you idiot"))
        assert removed.status_code == 422
        assert removed.json()["recommended_action"] == "remove"
        invalid = await http.post("/messages", json={"id": "message-4"})
        assert invalid.status_code == 422
        assert served.clients == [client]
    checked = sorted(i.entity_id for i in served.emulator.state.items.values())
    assert checked == ["message-2", "message-3"]
    # closed at shutdown: the pool does not take another call
    with pytest.raises(RuntimeError):
        await client.moderation.query_review_queue()


async def test_the_check_endpoint_answers_503_when_stream_cannot_be_reached(
    example: Any,
) -> None:
    from stream_moderation.testing import DropConnection

    served = Served()
    await policy(served, example.CONFIG_KEY)
    served.faults.inject(DropConnection(), operations=["check"])
    async with running(example, served) as http:
        served.clients[0]._core.max_retries = 0
        answer = await http.post("/messages", json=message(1, "hello"))
    assert answer.status_code == 503


async def test_the_webhook_endpoint_takes_what_the_emulator_sends(example: Any) -> None:
    served = Served()
    await policy(served, example.CONFIG_KEY)
    async with running(example, served) as http:
        await http.post("/messages", json=message(1, "buy now, click here"))
        assert served.deliveries, "the emulator sent no webhook"
        for delivery in served.deliveries:
            answer = await http.post(
                "/webhooks/stream", content=delivery.body, headers=delivery.headers
            )
            assert answer.status_code == 200, answer.text
        app_events = served.app.state.webhook_events
        assert [e.type for e in app_events] == [d.event_type for d in served.deliveries]

        forged = sign_test_payload({"type": "moderation.flagged"}, "not-the-secret-" * 3)
        answer = await http.post("/webhooks/stream", content=forged.body, headers=forged.headers)
        assert answer.status_code == 401
        stale = sign_test_payload({"type": "moderation.flagged", "created_at": 1}, SECRET)
        answer = await http.post("/webhooks/stream", content=stale.body, headers=stale.headers)
        assert answer.status_code == 400
        event = {
            "type": "moderation_check.completed",
            "entity_id": "message-9",
            "entity_type": "stream:chat:v1:message",
            "recommended_action": "keep",
            "review_queue_item_id": "",
            "custom": {},
        }
        signed = sign_test_payload(event, SECRET, compress=True)
        answer = await http.post("/webhooks/stream", content=signed.body, headers=signed.headers)
        assert answer.status_code == 200
        assert isinstance(app_events[-1], ModerationCheckCompletedEvent)
