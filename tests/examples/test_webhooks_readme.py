"""The docs' webhooks example (a Starlette app) runs as written."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.webhook_payloads import build_event, encode, sign

README = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET = "readme-secret-81d2"


def webhooks_example() -> str:
    section = README.read_text()
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python example in the README's Webhooks section"
    return match.group(1)


@pytest.mark.anyio
async def test_readme_webhook_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(webhooks_example(), str(README), "exec"), namespace)

    transport = httpx.ASGITransport(app=namespace["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def post(payload: dict[str, Any], signature: str | None = None) -> httpx.Response:
            body = encode(payload)
            headers = {"X-Signature": signature if signature is not None else sign(body, SECRET)}
            return await client.post("/webhooks/stream", content=body, headers=headers)

        def now(payload: dict[str, Any], seconds_ago: float = 0) -> dict[str, Any]:
            return {**payload, "created_at": time.time_ns() - int(seconds_ago * 1e9)}

        new_item = now(build_event("review_queue_item.new"))
        assert (await post(new_item)).status_code == 200
        assert (await post(now(build_event("moderation_check.completed")))).status_code == 200
        unknown = now({"type": "moderation.sentiment.analysed"})
        assert (await post(unknown)).status_code == 200
        assert (await post(new_item, signature="0" * 64)).status_code == 401
        misfit = now({**build_event("review_queue_item.new"), "review_queue_item": ["a list"]})
        assert (await post(misfit)).status_code == 400
        replay = await post(new_item)
        assert (replay.status_code, replay.text) == (200, "already handled")
        stale = await post(now(build_event("moderation_check.completed"), 3600))
        assert (stale.status_code, stale.text) == (400, "stale event")

    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3  # the replay and the stale event were not handled
    assert out[0].startswith("to review: 1 flags at 20")
    assert out[1] == "message-123 -> flag"
    assert out[2].startswith("new event type moderation.sentiment.analysed")


def later_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)[1:]


@pytest.mark.anyio
async def test_the_queue_and_test_payload_examples_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SQS/SNS handlers and the receiver test of docs/webhooks.md, in one namespace
    with the first example (the app), as a user's test module would have them."""
    import base64
    import gzip
    import json

    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    blocks = later_blocks()
    assert len(blocks) == 2
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    for block in (webhooks_example(), *blocks):
        exec(compile(block, str(README), "exec"), namespace)
    data = encode({**build_event("review_queue_item.new"), "created_at": time.time_ns()})
    namespace["handle_sqs_record"]({"body": base64.b64encode(gzip.compress(data)).decode()})
    namespace["handle_sqs_record"]({"body": "%%% not base64"})
    envelope = {"Type": "Notification", "Message": base64.b64encode(data).decode()}
    namespace["handle_sns_post"](json.dumps(envelope).encode())
    await namespace["test_the_receiver_takes_a_signed_event_and_refuses_a_forged_one"]()
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "sqs: review_queue_item.new",
        out[1],
        "sns: review_queue_item.new",
    ] and out[1].startswith("dropped: ")
    assert out[3:] == ["message-1 -> remove", "sqs: moderation_check.completed"]
