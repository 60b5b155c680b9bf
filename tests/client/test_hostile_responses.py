"""Whatever the server answers (any status, any headers, any bytes), a call returns a
parsed response or raises a StreamError: never another exception, never a wait past the
cap, never a dict posing as a model."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_moderation import Stream, StreamError
from stream_moderation.models import CheckResponse
from stream_moderation.testing import response_body
from tests.support.spec_strategies import json_values, schema_instances

KEY, SECRET = "hostile-key", "hostile-secret-that-is-long-enough-for-hs256"


def nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


CHECK = json.dumps(response_body("check", duration="1ms")).encode()


def in_a_check(inner: bytes) -> bytes:
    """A check's body with one more field, ``inner`` as its raw JSON value."""
    return CHECK[:-1] + b',"x":' + inner + b"}"


@contextlib.contextmanager
def recorded_sleeps(waits: list[float]) -> Iterator[None]:
    """The sync client's backoff sleeps, recorded instead of slept (hypothesis runs many
    examples in one test, so pytest's function-scoped monkeypatch does not fit)."""
    real = time.sleep
    time.sleep = waits.append  # type: ignore[assignment]
    try:
        yield
    finally:
        time.sleep = real


deep = st.tuples(st.integers(1, 100_000), st.sampled_from(["array", "object"])).map(
    lambda pair: nested(*pair)
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    schema_instances("CheckResponse").map(lambda v: json.dumps(v).encode()),
    schema_instances("APIError").map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    deep,
    deep.map(in_a_check),
    st.sampled_from(
        [
            b"",
            b"NaN",
            b"-Infinity",
            b"1e999999",
            in_a_check(b"1e999999"),
            in_a_check(b"-" + b"9" * 5000),
            CHECK.replace(b'"duration": "1ms"', b'"duration": "\xff\xfe"'),
            b'"\\ud800"',
            b"<html>502 Bad Gateway</html>",
        ]
    ),
)
header_values = st.one_of(
    st.sampled_from(["", " ", "-1", "nan", "inf", "-inf", "1e309", "0", "3", "61", "1.5"]),
    st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 99 Foo 9999 99:99:99 GMT", "x"]),
    st.integers(-(2**70), 2**70).map(str),
)
headers = st.dictionaries(
    st.sampled_from(
        [
            "retry-after",
            "x-ratelimit-reset",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "content-type",
            "x-request-id",
        ]
    ),
    header_values,
    max_size=4,
)
statuses = st.sampled_from([200, 201, 202, 204, 301, 400, 401, 403, 404, 409, 418, 429, 500, 503])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(status=statuses, body=bodies, extra=headers)
def test_any_answer_is_a_response_or_a_stream_error(
    status: int, body: bytes, extra: dict[str, str]
) -> None:
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=extra)

    with (
        Stream(KEY, SECRET, transport=httpx.MockTransport(answer), max_retries=1) as client,
        recorded_sleeps(waits),
    ):
        try:
            response: Any = client.moderation.check(
                entity_type="t", entity_id="e", entity_creator_id="u"
            )
        except StreamError:
            pass
        else:
            assert 200 <= status < 300
            assert isinstance(response.data, CheckResponse)
            assert isinstance(response.data.to_dict(), dict)
    assert all(0 <= wait <= 60 for wait in waits), waits


@pytest.mark.parametrize("depth", [10, 500, 990, 5_000, 100_000])
@pytest.mark.parametrize("status", [201, 500])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_deeply_nested_json_is_a_typed_error_or_parses(depth: int, status: int, kind: str) -> None:
    """json.loads raises RecursionError (not a ValueError) past ~1000 levels."""
    for body in (nested(depth, kind), in_a_check(nested(depth, kind))):
        transport = httpx.MockTransport(lambda r, body=body: httpx.Response(status, content=body))
        with (
            Stream(KEY, SECRET, transport=transport, max_retries=0) as client,
            contextlib.suppress(StreamError),
        ):
            client.moderation.check(entity_type="t", entity_id="e", entity_creator_id="u")


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_webhook_bodies_are_invalid_events(depth: int) -> None:
    from stream_moderation import webhooks
    from stream_moderation.testing import sign

    for body in (nested(depth, "array"), b'{"type":"x","a":' + nested(depth, "object") + b"}"):
        with pytest.raises(webhooks.WebhookError):
            webhooks.parse_event(body)
        with pytest.raises(webhooks.WebhookError):
            webhooks.verify_and_parse(body, sign(body, SECRET), SECRET)
