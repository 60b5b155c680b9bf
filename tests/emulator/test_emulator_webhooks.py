"""Webhooks from the emulator: signed, with Stream's headers, retried, spec-valid events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stream_moderation import models
from stream_moderation._generated.events import EVENT_MODELS
from stream_moderation.testing import Emulator, WebhookDelivery, sign
from stream_moderation.testing._server import serve_in_thread
from stream_moderation.webhooks import InvalidSignatureError, verify_and_parse
from tests.support.emulator_support import KEY, SECRET, async_client

pytestmark = pytest.mark.anyio
MESSAGE = "stream:chat:v1:message"


def assert_valid_event(body: bytes, signature: str) -> dict[str, Any]:
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    event: dict[str, Any] = json.loads(body)
    getattr(models, EVENT_MODELS[event["type"]]).from_dict(event, strict=True)
    return event


class Receiver:
    """A webhook endpoint on a real port that fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def endpoint(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        if self.failures:
            self.failures -= 1
            return Response("down", status_code=503)
        return Response(status_code=200)


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    with serve_in_thread(app) as url:
        yield receiver, f"{url}/hook"


async def scenario(emu: Emulator) -> None:
    client = async_client(emu)
    m = client.moderation
    await m.upsert_config(key="p", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]})
    base = {"entity_type": MESSAGE, "entity_creator_id": "bob", "config_key": "p"}
    first = await m.check(**base, entity_id="m1", moderation_payload={"texts": ["buy now"]})
    await m.check(**base, entity_id="m1", moderation_payload={"texts": ["buy now again"]})
    await m.check(**base, entity_id="m2", moderation_payload={"texts": ["hello"]})
    item_id = first.data.item.id
    await m.submit_action(action_type="delete_message", item_id=item_id, user_id="mod")
    appeal = await m.appeal(entity_type=MESSAGE, entity_id="m1", appeal_reason="x", user_id="bob")
    await m.submit_action(action_type="restore", item_id=item_id, appeal_id=appeal.data.appeal_id)
    appeal = await m.appeal(entity_type=MESSAGE, entity_id="m1", appeal_reason="y", user_id="bob")
    await m.submit_action(
        action_type="reject_appeal",
        appeal_id=appeal.data.appeal_id,
        reject_appeal={"decision_reason": "no"},
    )
    await m.submit_action(action_type="mark_reviewed", item_id=item_id)
    await m.submit_action(action_type="custom", item_id=item_id, custom={"id": "notify"})


EXPECTED = [
    "review_queue_item.new",
    "moderation_check.completed",
    "review_queue_item.updated",
    "moderation_check.completed",
    "moderation_check.completed",
    "review_queue_item.updated",
    "appeal.created",
    "appeal.accepted",
    "review_queue_item.updated",
    "appeal.created",
    "appeal.rejected",
    "review_queue_item.updated",
    "review_queue_item.updated",
    "moderation.mark_reviewed",
    "review_queue_item.updated",
    "moderation.custom_action",
]


@pytest.mark.parametrize("mode", ["unix_ns", "rfc3339"])
async def test_callback_events_are_signed_and_valid(mode: str) -> None:
    received: list[WebhookDelivery] = []
    emu = Emulator(KEY, SECRET, webhook_callback=received.append, timestamps=mode)  # type: ignore[arg-type]
    await scenario(emu)
    assert [d.event_type for d in received] == EXPECTED
    ids = set()
    for delivery in received:
        event = assert_valid_event(delivery.body, delivery.headers["X-Signature"])
        assert delivery.headers["X-Api-Key"] == KEY
        assert delivery.headers["X-Webhook-Attempt"] == "1"
        assert isinstance(event["created_at"], int if mode == "unix_ns" else str)
        ids.add(delivery.headers["X-Webhook-Id"])
    assert len(ids) == len(received)
    new = json.loads(received[0].body)
    assert new["review_queue_item"]["entity_id"] == "m1"
    assert new["flags"][0]["labels"] == ["SPAM"]
    completed = [
        json.loads(d.body) for d in received if d.event_type.startswith("moderation_check")
    ]
    assert [c["recommended_action"] for c in completed] == ["flag", "flag", "keep"]
    assert completed[0]["review_queue_item_id"] == new["review_queue_item"]["id"]


async def test_async_callbacks_and_retries() -> None:
    attempts: list[str] = []

    async def flaky(delivery: WebhookDelivery) -> None:
        attempts.append(delivery.headers["X-Webhook-Attempt"])
        if len(attempts) < 3:
            raise RuntimeError("receiver down")

    emu = Emulator(KEY, SECRET, webhook_callback=flaky, webhook_retry_delays=(0.0, 0.0))
    client = async_client(emu)
    await client.moderation.flag(entity_type="stream:user", entity_id="bob", user_id="r")
    assert attempts == ["1", "2", "3"]
    (delivery,) = emu.webhook_deliveries
    assert delivery.delivered and delivery.attempts == 3 and delivery.error is None


async def test_failures_never_break_the_api_call() -> None:
    def broken(delivery: WebhookDelivery) -> None:
        raise RuntimeError("always down")

    emu = Emulator(KEY, SECRET, webhook_callback=broken, webhook_retry_delays=(0.0,))
    client = async_client(emu)
    response = await client.moderation.flag(entity_type="stream:user", entity_id="b", user_id="r")
    assert response.status_code == 201
    (delivery,) = emu.webhook_deliveries
    assert (delivery.delivered, delivery.attempts) == (False, 2)
    assert "always down" in (delivery.error or "")


def test_url_delivery_over_http(receiver: tuple[Receiver, str]) -> None:
    hook, url = receiver
    hook.requests.clear()
    hook.failures = 1
    emu = Emulator(KEY, SECRET, webhook_url=url, webhook_retry_delays=(0.01,))
    with emu.sync_client() as client:
        client.moderation.flag(entity_type="stream:user", entity_id="bob", user_id="r")
    assert len(hook.requests) == 2
    (first_headers, first_body), (second_headers, second_body) = hook.requests
    assert first_body == second_body
    assert first_headers["x-webhook-id"] == second_headers["x-webhook-id"]
    assert [first_headers["x-webhook-attempt"], second_headers["x-webhook-attempt"]] == ["1", "2"]
    assert second_headers["x-api-key"] == KEY
    assert second_headers["content-type"] == "application/json"
    event = assert_valid_event(second_body, second_headers["x-signature"])
    assert event["type"] == "review_queue_item.new"
    (delivery,) = emu.webhook_deliveries
    assert (delivery.delivered, delivery.status_code, delivery.target) == (True, 200, url)


async def test_the_sdk_webhook_helpers_read_emulator_events() -> None:
    received: list[WebhookDelivery] = []
    emu = Emulator(KEY, SECRET, webhook_callback=received.append)
    await scenario(emu)
    client = async_client(emu)
    for delivery in received:
        signature = delivery.headers["X-Signature"]
        event = verify_and_parse(delivery.body, signature, SECRET)
        assert type(event).__name__ == EVENT_MODELS[delivery.event_type]
        assert client.verify_webhook(delivery.body, signature)
    with pytest.raises(InvalidSignatureError):
        verify_and_parse(received[0].body, sign(received[0].body, "another secret"), SECRET)


def test_sign_matches_stream_scheme() -> None:
    body = b'{"type":"moderation.flagged"}'
    assert sign(body, "secret") == hmac.new(b"secret", body, hashlib.sha256).hexdigest()
