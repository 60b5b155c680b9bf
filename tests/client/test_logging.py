"""The logger ``stream_moderation``: a DEBUG record per attempt with its fields, INFO for
retries and rate-limit waits, WARNING for a call that fails after retries; the env vars
that turn it on; and no secret, token or signature in any record."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from stream_moderation import InternalServerError, LocalRateLimits, Stream
from stream_moderation._logs import JsonFormatter, RedactingFilter, configure_from_env
from stream_moderation.testing import Emulator, FaultInjector, ServerError, response_body
from tests.support.fault_support import fast_backoff

pytestmark = pytest.mark.anyio

KEY = "log-key"
SECRET = "log-secret-that-is-long-enough-for-hs256-signing"
ROOT = Path(__file__).resolve().parents[2]
CHECK = {"entity_type": "stream:chat:v1:message", "entity_id": "m-1", "entity_creator_id": "u-1"}


def sdk_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "stream_moderation"]


async def test_each_attempt_is_a_debug_record_and_a_retry_an_info_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator = Emulator(KEY, SECRET)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    faults.inject(ServerError(503), times=1, operations=["check"])
    caplog.set_level(logging.DEBUG, logger="stream_moderation")
    async with emulator.client() as client:
        fast_backoff(client)
        await client.moderation.check(**CHECK)
    records = sdk_records(caplog)
    attempts = [r for r in records if r.levelno == logging.DEBUG]
    statuses = [r.stream_status for r in attempts]  # type: ignore[attr-defined]
    assert statuses[0] == 503 and 200 <= statuses[1] < 300 and len(statuses) == 2
    assert [r.stream_attempt for r in attempts] == [1, 2]  # type: ignore[attr-defined]
    for record in attempts:
        assert record.stream_operation == "check"  # type: ignore[attr-defined]
        assert record.stream_method == "POST"  # type: ignore[attr-defined]
        assert record.stream_path == "/api/v2/moderation/check"  # type: ignore[attr-defined]
        assert record.stream_elapsed >= 0  # type: ignore[attr-defined]
        assert "POST /api/v2/moderation/check ->" in record.getMessage()
    (retry,) = [r for r in records if r.levelno == logging.INFO]
    assert retry.stream_reason == "status 503"  # type: ignore[attr-defined]
    assert retry.stream_attempt == 1  # type: ignore[attr-defined]
    assert "retrying POST /api/v2/moderation/check" in retry.getMessage()


def test_the_request_id_of_an_answer_is_in_its_record(caplog: pytest.LogCaptureFixture) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=response_body("check"), headers={"X-Request-Id": "rq-1"})

    caplog.set_level(logging.DEBUG, logger="stream_moderation")
    with Stream(KEY, SECRET, transport=httpx.MockTransport(answer)) as client:
        client.moderation.check(**CHECK)
    (record,) = sdk_records(caplog)
    assert record.stream_request_id == "rq-1"  # type: ignore[attr-defined]
    assert record.stream_status == 201  # type: ignore[attr-defined]


def test_a_call_that_fails_after_retries_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    emulator = Emulator(KEY, SECRET)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    faults.inject(ServerError(500), operations=["get_config"])
    caplog.set_level(logging.INFO, logger="stream_moderation")
    with emulator.sync_client(max_retries=1) as client:
        fast_backoff(client)
        with pytest.raises(InternalServerError):
            client.moderation.get_config(key="any")
    (warning,) = [r for r in sdk_records(caplog) if r.levelno == logging.WARNING]
    assert warning.stream_status == 500  # type: ignore[attr-defined]
    assert warning.stream_attempt == 2  # type: ignore[attr-defined]
    assert warning.stream_error == "InternalServerError"  # type: ignore[attr-defined]
    assert "failed after 2 attempts" in warning.getMessage()


async def test_a_429_pause_and_the_wait_for_it_are_info_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = LocalRateLimits()
    caplog.set_level(logging.INFO, logger="stream_moderation")
    await limits.report("k:check", 429, {"retry-after": "0.2"})
    await limits.acquire("k:check")
    messages = [r.getMessage() for r in sdk_records(caplog)]
    assert any(m.startswith("rate limited (429) on check") for m in messages), messages
    assert any(m.startswith("rate limits: check waits") for m in messages), messages


def test_the_redaction_filter_masks_secrets_tokens_and_signatures() -> None:
    client = Stream(KEY, SECRET)
    user_token = client.create_token("user-1")
    server_token = client._core.credentials.server_token
    signature = "ab" * 32
    record = logging.LogRecord(
        "stream_moderation", logging.INFO, __file__, 1, "%s %s %s %s", None, None
    )
    record.args = (SECRET, user_token, "Bearer " + server_token, f"X-Signature: {signature}")
    record.stream_detail = f"secret={SECRET}"
    assert RedactingFilter().filter(record)
    text = record.getMessage() + " " + JsonFormatter().format(record)
    for leaked in (SECRET, user_token, server_token, signature):
        assert leaked not in text
    assert "***" in record.getMessage() and json.loads(JsonFormatter().format(record))[
        "detail"
    ] == ("secret=***")
    client.close()


def test_an_unknown_level_leaves_logging_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert configure_from_env({"STREAM_MODERATION_LOG": "loud"}) is None
    assert "STREAM_MODERATION_LOG='loud'" in capsys.readouterr().err
    assert configure_from_env({}) is None


SCRIPT = textwrap.dedent(
    """
    import logging, sys
    import anyio
    from stream_moderation import AsyncStream, AuthenticationError
    from stream_moderation.testing import Emulator, sign
    from stream_moderation.models import ModerationPayload

    KEY, SECRET, URL = sys.argv[1], sys.argv[2], "http://localhost"

    async def main():
        emulator = Emulator(KEY, SECRET)
        async with emulator.client() as client:
            await client.moderation.upsert_config(
                key="c", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
            )
            await client.moderation.check(
                entity_type="stream:chat:v1:message", entity_id="m", entity_creator_id="u",
                moderation_payload=ModerationPayload(texts=["hello"]), config_key="c",
            )
            token = client.create_token("user-1")
            body = b'{"type":"moderation.flagged"}'
            log = logging.getLogger("stream_moderation")
            # what an app might log through the SDK's logger: all of it must be masked
            log.info("token %s for %s", token, SECRET)
            log.info("webhook signature %s", sign(body, SECRET))
            print("LEAKS", token, sign(body, SECRET), file=sys.stdout)
        other = "another-secret-long-enough-for-hs256"
        wrong = AsyncStream(KEY, other, transport=emulator.transport(), base_url=URL)
        async with wrong:
            try:
                await wrong.moderation.get_config(key="c")
            except AuthenticationError:
                logging.getLogger("stream_moderation").exception("the call failed")

    anyio.run(main)
    """
)


def test_env_vars_turn_on_json_logs_without_a_secret_a_token_or_a_signature() -> None:
    """A real run: STREAM_MODERATION_LOG=debug, JSON lines on stderr, calls to the
    emulator, and an app that logs the secret, a token and a signature through the SDK's
    logger: stderr has the attempt records and none of them."""
    env = {
        **os.environ,
        "STREAM_MODERATION_LOG": "debug",
        "STREAM_MODERATION_LOG_FORMAT": "json",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, KEY, SECRET],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    leaks = done.stdout.split("LEAKS", 1)[1].split()
    records: list[dict[str, Any]] = []
    for line in done.stderr.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    attempts = [r for r in records if r["level"] == "debug" and "attempt" in r]
    assert {r["operation"] for r in attempts} >= {"upsert_config", "check", "get_config"}
    assert 401 in {r["status"] for r in attempts}
    assert all(r["logger"] == "stream_moderation" for r in attempts)
    assert any(r["message"] == "the call failed" and "exception" in r for r in records)
    for secret in (SECRET, "another-secret-long-enough-for-hs256", *leaks):
        assert secret not in done.stderr
