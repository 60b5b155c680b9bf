"""A response that lacks a field the spec requires (the spec can be stricter than the
server) still parses: the field is None and one warning per model and field says so.
``strict_response_validation=True`` (on the client, ``with_options`` or per call) makes it
an APIResponseValidationError again. The fields are read from the generated spec."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stream_moderation import APIResponseValidationError, AsyncStream, Stream
from stream_moderation._generated import SPEC_VERSION
from stream_moderation._types import _warned_missing
from stream_moderation.testing import response_body
from stream_moderation.testing._spec import load_spec
from tests.support.hostile_server import hostile_server, respond

KEY, SECRET = "lenient-key", "lenient-secret-that-is-long-enough-for-hs256"
pytestmark = pytest.mark.anyio
CHECK = {"entity_type": "stream:chat:v1:message", "entity_id": "m1", "entity_creator_id": "u1"}


def required(schema: str) -> list[str]:
    return list(load_spec()["components"]["schemas"][schema]["required"])


def attribute(model: type, field: str) -> str:
    """The attribute of a JSON field of a generated model."""
    import sys

    names = sys.modules[model.__module__]._REQUIRED_NAMES  # type: ignore[attr-defined]
    return next(py for py, wire in names.items() if wire == field)


# a required field of the check response other than the recommended action (what a caller
# acts on, and what the test checks is still read)
DROPPED = next(f for f in required("CheckResponse") if f != "recommended_action")


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    """Each test starts as a new process would: nothing warned about yet."""
    _warned_missing.clear()
    yield
    _warned_missing.clear()


def body_without(field: str, **fields: Any) -> bytes:
    body = response_body("check", recommended_action="remove", **fields)
    del body[field]
    return json.dumps(body).encode()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "stream_moderation" and r.levelno == logging.WARNING
    ]


def answering(content: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(201, content=content))


async def test_a_missing_required_field_reads_none_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="stream_moderation")
    async with AsyncStream(KEY, SECRET, transport=answering(body_without(DROPPED))) as client:
        first = await client.moderation.check(**CHECK)
        second = await client.moderation.check(**CHECK)
    data = first.data
    name = attribute(type(data), DROPPED)
    assert data.recommended_action == "remove"
    assert getattr(data, name) is None and getattr(second.data, name) is None
    assert name not in data.fields_set
    assert DROPPED not in data.to_dict()  # given back as received
    (record,) = warnings_of(caplog)  # one per model and field, however many responses
    message = record.getMessage()
    assert f"CheckResponse.{DROPPED}" in message and SPEC_VERSION in message
    assert "strict_response_validation=True" in message
    assert (record.stream_model, record.stream_field) == ("CheckResponse", DROPPED)  # type: ignore[attr-defined]
    assert SECRET not in message and KEY not in message


async def test_strict_response_validation_raises_on_the_client_and_per_call() -> None:
    transport = answering(body_without(DROPPED))
    async with AsyncStream(
        KEY, SECRET, transport=transport, strict_response_validation=True, max_retries=3
    ) as strict:
        assert strict.strict_response_validation is True
        with pytest.raises(APIResponseValidationError) as info:
            await strict.moderation.check(**CHECK)
        assert f"CheckResponse.{DROPPED}: required field is missing" in str(info.value)
        assert info.value.status_code == 201 and info.value.attempts == 1  # not retried
        lenient = await strict.moderation.check(**CHECK, strict_response_validation=False)
        assert lenient.data.recommended_action == "remove"
        relaxed = strict.with_options(strict_response_validation=False)
        assert (await relaxed.moderation.check(**CHECK)).data.recommended_action == "remove"
    async with AsyncStream(KEY, SECRET, transport=transport) as client:
        assert client.strict_response_validation is False
        with pytest.raises(APIResponseValidationError):
            await client.moderation.check(**CHECK, strict_response_validation=True)
        with pytest.raises(APIResponseValidationError):
            await client.with_options(strict_response_validation=True).moderation.check(**CHECK)


async def test_a_nested_model_missing_a_required_field_names_that_model(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="stream_moderation")
    field = required("ReviewQueueItemResponse")[-1]
    body = response_body("check", recommended_action="flag", item={"id": "item-1"})
    del body["item"][field]
    async with AsyncStream(KEY, SECRET, transport=answering(json.dumps(body).encode())) as client:
        item = (await client.moderation.check(**CHECK)).data.item
        assert item is not None and item.id == "item-1"
        assert getattr(item, attribute(type(item), field)) is None
        with pytest.raises(APIResponseValidationError, match=rf"\.item\.{field}: required"):
            await client.moderation.check(**CHECK, strict_response_validation=True)
    assert [(r.stream_model, r.stream_field) for r in warnings_of(caplog)] == [  # type: ignore[attr-defined]
        ("ReviewQueueItemResponse", field)
    ]


async def test_a_required_field_sent_as_null_reads_none_and_is_given_back_as_null() -> None:
    body = json.loads(body_without(DROPPED))
    body[DROPPED] = None
    async with AsyncStream(KEY, SECRET, transport=answering(json.dumps(body).encode())) as client:
        data = (await client.moderation.check(**CHECK)).data
        assert getattr(data, attribute(type(data), DROPPED)) is None
        assert data.to_dict()[DROPPED] is None
        with pytest.raises(APIResponseValidationError, match="required field is null"):
            await client.moderation.check(**CHECK, strict_response_validation=True)


async def test_a_value_of_the_wrong_type_stays_an_error() -> None:
    """A value that cannot be read as its type is not guessed at: the check would act on
    it. (Integers for numbers, integral floats for integers and the two timestamp forms
    are read; see docs/errors.md.)"""
    content = json.dumps(response_body("check", recommended_action=["remove"])).encode()
    async with AsyncStream(KEY, SECRET, transport=answering(content)) as client:
        with pytest.raises(APIResponseValidationError, match="recommended_action"):
            await client.moderation.check(**CHECK)


def test_the_sync_client_on_a_real_socket_behaves_the_same(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="stream_moderation")
    with (
        hostile_server(respond(201, body_without(DROPPED))) as server,
        Stream(KEY, SECRET, base_url=server.url) as client,
    ):
        data = client.moderation.check(**CHECK).data
        assert data.recommended_action == "remove"
        assert getattr(data, attribute(type(data), DROPPED)) is None
        with pytest.raises(APIResponseValidationError):
            client.moderation.check(**CHECK, strict_response_validation=True)
    assert len(warnings_of(caplog)) == 1


def test_strict_response_validation_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="strict_response_validation"):
        Stream(KEY, SECRET, strict_response_validation="yes")  # type: ignore[arg-type]
