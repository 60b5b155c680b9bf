"""analyze: per-text and per-image verdicts (images as multipart parts, as Stream takes
them), no review queue item, and the analysis webhooks of the async mode."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stream_moderation import AsyncStream, BadRequestError, NotFoundError, models
from stream_moderation._generated.api import OPERATIONS
from stream_moderation._generated.events import EVENT_MODELS
from stream_moderation.testing import Emulator, sign
from tests.support.emulator_support import KEY, SECRET, async_client, check_response, headers

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif("analyze" not in OPERATIONS, reason="a release without analyze"),
]
POLICY: dict[str, Any] = {
    "ai_text_config": {
        "rules": [
            {"label": "SPAM", "action": "flag"},
            {"label": "HARASSMENT", "action": "remove"},
        ]
    },
    "ai_image_config": {
        "rules": [{"label": "Explicit Nudity", "min_confidence": 50, "action": "remove"}]
    },
}


def valid_event(delivery: Any) -> dict[str, Any]:
    """The event's JSON, checked against the model of its type and its signature."""
    assert delivery.headers["X-Signature"] == sign(delivery.body, SECRET)
    event: dict[str, Any] = json.loads(delivery.body)
    getattr(models, EVENT_MODELS[event["type"]]).from_dict(event, strict=True)
    return event


@pytest.fixture
def events() -> list[Any]:
    return []


@pytest.fixture
def emu(events: list[Any]) -> Emulator:
    return Emulator(KEY, SECRET, webhook_callback=events.append)


@pytest.fixture
async def client(emu: Emulator) -> AsyncStream:
    client = async_client(emu)
    await client.moderation.upsert_config(key="policy", **POLICY)
    return client


async def test_each_text_gets_its_classifications_and_action(
    client: AsyncStream, emu: Emulator, events: list[Any]
) -> None:
    response = await client.moderation.analyze(
        config_key="policy",
        texts={"title": "You are an idiot", "body": "buy now", "footer": "thanks", "empty": " "},
        content_ids={"title": "t-1"},
    )
    texts = response.data.texts
    assert response.data.status == "complete"
    assert {k: v.action for k, v in texts.items() if k != "empty"} == {
        "title": "remove",
        "body": "flag",
        "footer": "keep",
    }
    assert [(c.name, c.severity) for c in texts["title"].classifications] == [
        ("HARASSMENT", "MEDIUM")
    ]
    assert texts["title"].severity == "MEDIUM" and texts["title"].id == "t-1"
    assert texts["footer"].classifications == [] and not texts["footer"].severity
    assert texts["empty"].error and not texts["empty"].action
    assert emu.state.items == {} and emu.state.flags == []  # no review queue item
    assert events == []  # the verdicts are in the answer


def multipart(fields: dict[str, Any], images: dict[str, str]) -> tuple[bytes, str]:
    boundary = "emulator-test-boundary"
    parts = []
    for name, value in fields.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{text}')
    for label, filename in images.items():
        parts.append(
            f'Content-Disposition: form-data; name="image:{label}"; filename="{filename}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n\xff\xd8 not really a jpeg"
        )
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return body.encode("latin-1"), f"multipart/form-data; boundary={boundary}"


async def test_images_sent_as_multipart_parts_get_per_image_verdicts(
    client: AsyncStream, emu: Emulator
) -> None:
    body, content_type = multipart(
        {"config_key": "policy", "texts": {"caption": "hello"}, "content_ids": {"image:a": "i-1"}},
        {"a": "explicit-nudity-4711.jpg", "b": "holiday.jpg"},
    )
    async with httpx.AsyncClient(transport=emu.transport(), base_url="http://e") as raw:
        response = await raw.post(
            "/api/v2/moderation/analyze",
            params={"api_key": KEY},
            content=body,
            headers=headers(**{"Content-Type": content_type}),
        )
    assert response.status_code == 201, response.text
    check_response("POST", "/api/v2/moderation/analyze", 201, response.content, response.headers)
    data = models.AnalyzeResponse.from_dict(response.json(), strict=True)
    images = data.images
    assert images["a"].action == "remove" and images["a"].id == "i-1"
    assert [(c.name, c.confidence) for c in images["a"].classifications] == [
        ("Explicit Nudity", 0.99)
    ]
    assert images["b"].action == "keep" and images["b"].classifications == []
    assert data.texts["caption"].action == "keep"
    assert emu.state.items == {}


async def test_async_mode_answers_pending_and_delivers_the_verdicts_as_webhooks(
    client: AsyncStream, events: list[Any]
) -> None:
    response = await client.moderation.analyze(
        entity_type="stream:chat:v1:message",
        entity_id="m1",
        entity_creator_id="ann",
        config_key="policy",
        texts={"title": "You are an idiot"},
        custom={"source": "upload"},
        async_response=True,
    )
    assert response.data.status == "pending" and not response.data.texts
    assert [e.event_type for e in events] == ["moderation.text_analysis.complete"]
    payload = valid_event(events[0])
    assert payload["texts"]["title"]["action"] == "remove"
    assert (payload["entity_id"], payload["config_key"], payload["custom"]) == (
        "m1",
        "policy",
        {"source": "upload"},
    )
    assert "review_queue_item_id" not in payload


@pytest.mark.skipif(
    "moderation.analysis.failed" not in EVENT_MODELS, reason="a release without the event"
)
async def test_async_mode_with_a_missing_policy_sends_analysis_failed(
    client: AsyncStream, events: list[Any]
) -> None:
    response = await client.moderation.analyze(
        config_key="gone", texts={"t": "hi"}, content_ids={"t": "c-9"}, async_response=True
    )
    assert response.data.status == "pending"
    assert [e.event_type for e in events] == ["moderation.analysis.failed"]
    assert valid_event(events[0])["content_ids"] == {"t": "c-9"}
    with pytest.raises(NotFoundError):
        await client.moderation.analyze(config_key="gone", texts={"t": "hi"})


async def test_modes_need_their_fields(client: AsyncStream) -> None:
    m = client.moderation
    with pytest.raises(BadRequestError) as caught:
        await m.analyze(texts={"t": "hi"})  # stateless: a policy is needed
    assert caught.value.exception_fields == {"config_key": "required"}
    with pytest.raises(BadRequestError) as caught:
        await m.analyze(entity_type="x", entity_id="1", texts={"t": "hi"})
    assert set(caught.value.exception_fields) == {"entity_creator_id"}
    with pytest.raises(BadRequestError):
        await m.analyze(config_key="policy")
    # stateful without config_key: the entity type's default policy, else no rules
    kept = await m.analyze(
        entity_type="custom", entity_id="1", entity_creator_id="u", texts={"t": "you idiot"}
    )
    assert kept.data.texts["t"].action == "keep"
    assert kept.data.texts["t"].classifications[0].name == "HARASSMENT"


async def test_async_images_arrive_as_image_analysis_webhooks(
    client: AsyncStream, emu: Emulator, events: list[Any]
) -> None:
    body, content_type = multipart(
        {"config_key": "policy", "async_response": "true"}, {"a": "explicit_nudity.png"}
    )
    async with httpx.AsyncClient(transport=emu.transport(), base_url="http://e") as raw:
        response = await raw.post(
            "/api/v2/moderation/analyze",
            params={"api_key": KEY},
            content=body,
            headers=headers(**{"Content-Type": content_type}),
        )
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert [e.event_type for e in events] == ["moderation.image_analysis.complete"]
    assert valid_event(events[0])["images"]["a"]["action"] == "remove"


async def test_a_malformed_form_is_a_400(emu: Emulator) -> None:
    async with httpx.AsyncClient(transport=emu.transport(), base_url="http://e") as raw:
        response = await raw.post(
            "/api/v2/moderation/analyze",
            params={"api_key": KEY},
            content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
            headers=headers(**{"Content-Type": "multipart/form-data; boundary=x"}),
        )
    assert response.status_code == 400
    assert response.json()["exception_fields"] == {"body": "part without a name"}
