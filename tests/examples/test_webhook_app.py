"""The example webhook app (examples/webhook_app.py), end to end over ASGI, and over a
real socket for the replays."""

from __future__ import annotations

import gzip
import importlib.util
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from stream_moderation import Timestamp
from stream_moderation.models import ModerationCheckCompletedEvent, ReviewQueueItemNewEvent
from stream_moderation.testing._server import serve_in_thread
from stream_moderation.webhooks import UnknownEvent
from tests.support.webhook_payloads import build_event, encode, sign

SECRET = "whsec-example-4f9c2a"
URL = "/webhooks/stream"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()


class Recorder:
    """Handlers that record what they were given; ``fail`` makes the next call raise."""

    def __init__(self) -> None:
        self.handlers = example.EventHandlers()
        self.events: list[Any] = []
        self.fail = False
        for cls in (ReviewQueueItemNewEvent, ModerationCheckCompletedEvent, UnknownEvent):
            self.handlers.on(cls)(self.record)

    async def record(self, event: Any) -> None:
        if self.fail:
            self.fail = False
            raise RuntimeError("handler failed")
        self.events.append(event)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    app = example.create_app(SECRET, recorder.handlers)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def fresh(payload: dict[str, Any], seconds_ago: float = 0.0) -> dict[str, Any]:
    """``payload`` created ``seconds_ago``, in the wire encoding its created_at had."""
    created = time.time_ns() - int(seconds_ago * 1e9)
    encoded = payload.get("created_at")
    value = Timestamp.from_unix_ns(created).to_rfc3339() if isinstance(encoded, str) else created
    return {**payload, "created_at": value}


def signed(
    payload: dict[str, Any],
    webhook_id: str | None = "wh-1",
    *,
    seconds_ago: float | None = 0.0,
    **headers: str,
) -> dict[str, Any]:
    """A signed call of an event created ``seconds_ago`` (None: its created_at as is)."""
    if seconds_ago is not None and "created_at" in payload:
        payload = fresh(payload, seconds_ago)
    body = encode(payload)
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/json",
            "X-Signature": sign(body, SECRET),
            "X-Webhook-Attempt": "1",
            **({"X-Webhook-Id": webhook_id} if webhook_id is not None else {}),
            **headers,
        },
    }


@pytest.mark.anyio
async def test_signed_event_is_dispatched_by_class(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.post(URL, **signed(build_event("review_queue_item.new")))
    assert response.status_code == 200
    [event] = recorder.events
    assert isinstance(event, ReviewQueueItemNewEvent)

    response = await client.post(
        URL, **signed(build_event("moderation_check.completed", "rfc3339"), "wh-2")
    )
    assert response.status_code == 200
    assert isinstance(recorder.events[-1], ModerationCheckCompletedEvent)
    assert recorder.events[-1].recommended_action == "flag"


@pytest.mark.anyio
async def test_gzip_body(client: httpx.AsyncClient, recorder: Recorder) -> None:
    body = encode(fresh(build_event("review_queue_item.new")))
    headers = {"X-Signature": sign(body, SECRET), "Content-Encoding": "gzip"}
    response = await client.post(URL, content=gzip.compress(body), headers=headers)
    assert response.status_code == 200
    assert isinstance(recorder.events[0], ReviewQueueItemNewEvent)


@pytest.mark.anyio
async def test_a_retried_call_is_handled_once(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    call = signed(build_event("review_queue_item.new"), "wh-42")
    first = await client.post(URL, **call)
    retry = await client.post(
        URL, **call | {"headers": call["headers"] | {"X-Webhook-Attempt": "2"}}
    )
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.text == "already handled"
    assert len(recorder.events) == 1


@pytest.mark.anyio
async def test_a_failed_handler_answers_500_and_the_retry_is_handled(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    call = signed(build_event("review_queue_item.new"), "wh-7")
    recorder.fail = True
    assert (await client.post(URL, **call)).status_code == 500
    assert (await client.post(URL, **call)).status_code == 200
    assert len(recorder.events) == 1


@pytest.mark.anyio
async def test_unknown_event_type_is_accepted(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    payload = {"type": "moderation.sentiment.analysed", "created_at": 1, "custom": {}}
    response = await client.post(URL, **signed(payload))
    assert response.status_code == 200
    [event] = recorder.events
    assert isinstance(event, UnknownEvent)
    assert event.type == "moderation.sentiment.analysed"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "signature", [None, "", "0" * 64, "not-a-signature"], ids=["absent", "empty", "zeros", "junk"]
)
async def test_bad_or_missing_signature_is_401(
    client: httpx.AsyncClient, recorder: Recorder, signature: str | None
) -> None:
    call = signed(build_event("review_queue_item.new"))
    del call["headers"]["X-Signature"]
    if signature is not None:
        call["headers"]["X-Signature"] = signature
    response = await client.post(URL, **call)
    assert response.status_code == 401
    assert SECRET not in response.text
    assert recorder.events == []


@pytest.mark.anyio
async def test_tampered_body_is_401(client: httpx.AsyncClient, recorder: Recorder) -> None:
    call = signed(build_event("review_queue_item.new"))
    tampered = call["content"].replace(b'"flag"', b'"keep"', 1)
    assert tampered != call["content"]
    call["content"] = tampered
    assert (await client.post(URL, **call)).status_code == 401
    assert recorder.events == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "payload",
    [{"no": "type"}, {"type": "review_queue_item.new", "created_at": "soon", "custom": {}}],
)
async def test_signed_body_that_is_not_an_event_is_400(
    client: httpx.AsyncClient, recorder: Recorder, payload: dict[str, Any]
) -> None:
    response = await client.post(URL, **signed(payload, seconds_ago=None))
    assert response.status_code == 400
    assert recorder.events == []


@pytest.mark.anyio
async def test_only_post(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 405


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_API_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="STREAM_API_SECRET"):
        example.create_app()
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    assert example.create_app() is not None


def test_a_replayed_body_is_handled_once_whatever_its_webhook_id(recorder: Recorder) -> None:
    """Over a socket: the same signed body with its id, a new id, no id, and gzipped.
    Deduplicating on X-Webhook-Id (not signed) handled it three times."""
    app = example.create_app(SECRET, recorder.handlers)
    call = signed(build_event("review_queue_item.new"), "wh-1")
    replays = [
        call,
        {**call, "headers": {**call["headers"], "X-Webhook-Id": "wh-999"}},
        {**call, "headers": {k: v for k, v in call["headers"].items() if k != "X-Webhook-Id"}},
        {
            "content": gzip.compress(call["content"]),
            "headers": {**call["headers"], "Content-Encoding": "gzip", "X-Webhook-Id": "wh-7"},
        },
    ]
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        answers = [http.post(URL, **replay) for replay in replays]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert [a.text for a in answers] == ["ok"] + ["already handled"] * 3
    assert len(recorder.events) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["ns", "rfc3339"])
@pytest.mark.parametrize(
    ("seconds_ago", "status"),
    [(60, 200), (example.MAX_AGE + 60, 400), (-(example.MAX_AGE + 60), 400)],
    ids=["a-minute-old", "stale", "from-the-future"],
)
async def test_an_event_is_handled_only_while_fresh(
    client: httpx.AsyncClient, recorder: Recorder, encoding: str, seconds_ago: float, status: int
) -> None:
    """A captured call replayed later, with or without a new id, is refused by its signed
    created_at (unix nanoseconds or RFC 3339)."""
    payload = build_event("review_queue_item.new", encoding)  # type: ignore[arg-type]
    response = await client.post(URL, **signed(payload, seconds_ago=seconds_ago))
    assert response.status_code == status, response.text
    assert len(recorder.events) == (1 if status == 200 else 0)
    if status == 400:
        assert response.text == "stale event"


@pytest.mark.anyio
async def test_an_event_without_created_at_is_400(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    payload = {k: v for k, v in build_event("review_queue_item.new").items() if k != "created_at"}
    response = await client.post(URL, **signed(payload))
    assert response.status_code == 400
    assert "created_at" in response.text
    assert recorder.events == []


@pytest.mark.anyio
async def test_the_app_handles_the_emulators_webhooks_end_to_end(recorder: Recorder) -> None:
    from stream_moderation.testing import Emulator

    secret = SECRET * 2  # pyjwt warns about HMAC keys shorter than 32 bytes
    app = example.create_app(secret, recorder.handlers)
    answers: list[int] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as http:

        async def forward(
            delivery: Any,
        ) -> None:  # the emulator's delivery, as Stream would POST it
            response = await http.post(URL, content=delivery.body, headers=delivery.headers)
            answers.append(response.status_code)
            response.raise_for_status()

        emulator = Emulator("app-key", secret, webhook_callback=forward)
        async with emulator.client() as client:
            await client.moderation.upsert_config(
                key="chat", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
            )
            await client.moderation.check(
                entity_type="stream:chat:v1:message",
                entity_id="m-1",
                entity_creator_id="u-1",
                moderation_payload={"texts": ["Buy now! Click here for free money"]},
                config_key="chat",
            )
    assert answers and set(answers) == {200}
    kinds = [type(event) for event in recorder.events]
    assert ReviewQueueItemNewEvent in kinds and ModerationCheckCompletedEvent in kinds
    new = next(e for e in recorder.events if isinstance(e, ReviewQueueItemNewEvent))
    assert new.review_queue_item is not None and new.review_queue_item.entity_id == "m-1"
    completed = next(e for e in recorder.events if isinstance(e, ModerationCheckCompletedEvent))
    assert completed.recommended_action == "flag"
