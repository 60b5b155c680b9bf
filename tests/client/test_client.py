"""The clients at the wire: what is sent, what comes back, which error is raised, and when
a request is retried. Runs the async client on asyncio and trio against httpx.MockTransport."""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import httpx
import jwt
import pytest

import stream_moderation
from stream_moderation import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncStream,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseLostError,
    Stream,
    StreamError,
)
from stream_moderation.models import CheckResponse, ModerationPayload, ParseError
from stream_moderation.testing import api_error_body, model_body, response_body
from tests.conftest import load_fixture

KEY = "test-key"
SECRET = "s3cr3t-value-that-must-never-leak"
pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]


def api_error(status: int, code: int, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json=api_error_body(status, code, message, **extra))


CHECK_OK = response_body("check", recommended_action="keep", duration="1.2ms")


class Recorder:
    """A MockTransport handler that answers from a list and records every request."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits, recorded instead of slept."""
    waits: list[float] = []

    async def fake_async_sleep(delay: float) -> None:
        waits.append(delay)

    def fake_sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr("stream_moderation._client.anyio.sleep", fake_async_sleep)
    monkeypatch.setattr("stream_moderation._client.time.sleep", fake_sleep)
    return waits


def async_client(recorder: Recorder, **kwargs: Any) -> AsyncStream:
    return AsyncStream(KEY, SECRET, transport=httpx.MockTransport(recorder), **kwargs)


def sync_client(recorder: Recorder, **kwargs: Any) -> Stream:
    return Stream(KEY, SECRET, transport=httpx.MockTransport(recorder), **kwargs)


# --- what goes on the wire ---------------------------------------------------------------


async def test_getting_started_requests_on_the_wire() -> None:
    recorder = Recorder(
        lambda r: (
            httpx.Response(201, json=response_body("upsert_config", duration="1ms"))
            if r.url.path.endswith("/config")
            else httpx.Response(201, json=CHECK_OK)
        )
    )
    async with async_client(recorder) as client:
        await client.moderation.upsert_config(
            key="my_config",
            ai_text_config={
                "rules": [
                    {"label": "SPAM", "action": "flag"},
                    {"label": "HARASSMENT", "action": "remove"},
                ]
            },
            block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
        )
        response = await client.moderation().check(
            entity_type="stream:chat:v1:message",
            entity_id="message-123",
            entity_creator_id="user-456",
            moderation_payload=ModerationPayload(texts=["Hello, this is a test message"]),
            config_key="my_config",
        )
    upsert, check = recorder.requests
    assert upsert.method == "POST"
    assert upsert.url.path == "/api/v2/moderation/config"
    assert upsert.url.host == "chat.stream-io-api.com"
    assert upsert.url.scheme == "https"
    assert json.loads(upsert.content) == {
        "key": "my_config",
        "ai_text_config": {
            "rules": [
                {"label": "SPAM", "action": "flag"},
                {"label": "HARASSMENT", "action": "remove"},
            ]
        },
        "block_list_config": {"rules": [{"name": "profanity_en", "action": "remove"}]},
    }
    assert check.url.path == "/api/v2/moderation/check"
    assert dict(check.url.params) == {"api_key": KEY}
    assert json.loads(check.content) == {
        "entity_type": "stream:chat:v1:message",
        "entity_id": "message-123",
        "entity_creator_id": "user-456",
        "moderation_payload": {"texts": ["Hello, this is a test message"]},
        "config_key": "my_config",
    }
    headers = check.headers
    assert headers["stream-auth-type"] == "jwt"
    assert headers["content-type"] == "application/json"
    assert headers["x-stream-client"] == f"stream-moderation-python-{stream_moderation.__version__}"
    assert not headers["authorization"].startswith("Bearer")
    claims = jwt.decode(headers["authorization"], SECRET, algorithms=["HS256"])
    assert claims.pop("server") is True
    assert abs(claims["iat"] - time.time()) < 60  # signed now, and expires an hour later
    assert claims == {"iat": claims["iat"], "exp": claims["iat"] + 3600}
    assert isinstance(response.data, CheckResponse)
    assert response.data.recommended_action == "keep"
    assert response.status_code == 201


async def test_token_is_built_once_and_shared_by_calls() -> None:
    recorder = Recorder(httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        for i in range(3):
            await client.moderation.check(entity_type="t", entity_id=str(i), entity_creator_id="u")
    assert len({r.headers["authorization"] for r in recorder.requests}) == 1


async def test_path_and_query_parameters_are_encoded() -> None:
    body = {**response_body("delete_config"), **response_body("get_action_config")}
    recorder = Recorder(httpx.Response(200, json=body))
    async with async_client(recorder) as client:
        await client.moderation.delete_config("chat:messaging/x y", team="team a", user_id="mod-1")
        await client.moderation.get_action_config(exclude_defaults=True)
    delete, get = recorder.requests
    assert delete.method == "DELETE"
    assert delete.url.raw_path.startswith(b"/api/v2/moderation/config/chat%3Amessaging%2Fx%20y?")
    assert dict(delete.url.params) == {"api_key": KEY, "team": "team a", "user_id": "mod-1"}
    assert delete.content == b""
    assert dict(get.url.params) == {"api_key": KEY, "exclude_defaults": "true"}


async def test_nested_arguments_take_models_or_dicts_and_bad_dicts_fail_before_sending() -> None:
    recorder = Recorder(httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        await client.moderation.check(
            entity_type="t",
            entity_id="1",
            entity_creator_id="u",
            moderation_payload={"texts": ["hi"]},
        )
        with pytest.raises(ParseError, match=r"^moderation_payload\.texts"):
            await client.moderation.check(
                entity_type="t",
                entity_id="2",
                entity_creator_id="u",
                moderation_payload={"texts": "hi"},
            )
        with pytest.raises(ParseError, match=r"^moderation_payload: unknown field 'text'"):
            await client.moderation.check(
                entity_type="t",
                entity_id="3",
                entity_creator_id="u",
                moderation_payload={"text": ["hi"]},
            )
    assert len(recorder.requests) == 1
    assert json.loads(recorder.requests[0].content)["moderation_payload"] == {"texts": ["hi"]}


async def test_per_call_options_merge_into_the_request() -> None:
    recorder = Recorder(httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        await client.moderation.check(
            entity_type="t",
            entity_id="1",
            entity_creator_id="u",
            timeout=1.5,
            extra_headers={"X-Trace": "abc"},
            extra_query={"debug": True},
            extra_body={"new_field": 7},
        )
        await client.moderation.check(entity_type="t", entity_id="2", entity_creator_id="u")
    first, second = recorder.requests
    assert first.headers["x-trace"] == "abc"
    assert first.url.params["debug"] == "true"
    assert json.loads(first.content)["new_field"] == 7
    assert first.extensions["timeout"] == httpx.Timeout(1.5).as_dict()
    assert second.extensions["timeout"] == httpx.Timeout(10.0, connect=5.0).as_dict()
    assert "x-trace" not in second.headers


async def test_a_per_call_option_that_does_not_exist_is_refused_before_sending() -> None:
    """The clients take the per-call options as ``**options``: a misspelt one still fails
    as an unknown keyword argument would, and nothing is sent."""
    from stream_moderation._generated.api.moderation import check

    recorder = Recorder(httpx.Response(201, json=CHECK_OK))
    options: dict[str, Any] = {"timout": 1.0}
    async with async_client(recorder) as client:
        with pytest.raises(TypeError, match="unexpected keyword argument 'timout'"):
            await client.request(check.OPERATION, "/x", params={}, body=None, **options)
        with pytest.raises(TypeError, match="unexpected keyword argument 'timout'"):
            client.paginate(
                check.OPERATION, lambda cursor: ("/x", {}, None), max_items=None, **options
            )
    with (
        sync_client(recorder) as blocking,
        pytest.raises(TypeError, match="unexpected keyword argument 'timout'"),
    ):
        blocking.request(check.OPERATION, "/x", params={}, body=None, **options)
    assert recorder.requests == []


async def test_query_parameters_path_ids_and_the_http_clients_own_settings() -> None:
    recorder = Recorder(httpx.Response(200, json=response_body("delete_config")))
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(recorder),
        headers={"X-App": "mine"},
        params={"region": "eu"},
    )
    async with AsyncStream(KEY, SECRET, http_client=http) as client:
        await client.moderation.delete_config("a key/1", team="t 1", user_id="u&2")
        await client.moderation.delete_config("a key/1", extra_query={"api_key": "other"})
    await http.aclose()
    first, second = recorder.requests
    assert first.url.path == "/api/v2/moderation/config/a key/1"
    assert first.url.raw_path.startswith(b"/api/v2/moderation/config/a%20key%2F1?")
    assert dict(first.url.params) == {
        "api_key": KEY,
        "team": "t 1",
        "user_id": "u&2",
        "region": "eu",
    }
    assert first.headers["x-app"] == "mine"
    assert first.headers["authorization"] and "content-type" not in first.headers
    assert second.url.params.get_list("api_key") == ["other"]


async def test_query_parameters_without_client_params() -> None:
    recorder = Recorder(httpx.Response(200, json=response_body("delete_config")))
    async with async_client(recorder) as client:
        await client.moderation.delete_config("k", team="t 1", user_id="u&2")
        await client.moderation.delete_config("k")
    first, second = recorder.requests
    assert (
        first.url.raw_path == b"/api/v2/moderation/config/k?api_key=test-key&team=t+1&user_id=u%262"
    )
    assert second.url.raw_path == b"/api/v2/moderation/config/k?api_key=test-key"


async def test_with_options_shares_the_pool_and_changes_defaults() -> None:
    recorder = Recorder(httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        fast = client.with_options(timeout=0.5, max_retries=0)
        assert fast._http is client._http
        assert fast.max_retries == 0 and client.max_retries == 2
        await fast.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
        await fast.aclose()  # does not close the shared pool
        await client.moderation.check(entity_type="t", entity_id="2", entity_creator_id="u")
    assert recorder.requests[0].extensions["timeout"]["read"] == 0.5


async def test_response_carries_status_headers_rate_limit_and_duration() -> None:
    reset = int(time.time()) + 30
    headers = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": str(reset),
    }
    recorder = Recorder(
        httpx.Response(201, json=load_fixture("check_response_heavy_ns.json"), headers=headers)
    )
    async with async_client(recorder) as client:
        response = await client.moderation.check(
            entity_type="t", entity_id="1", entity_creator_id="u"
        )
    assert response.status_code == 201
    assert response.headers["x-ratelimit-limit"] == "5000"
    assert response.rate_limit is not None
    assert (response.rate_limit.limit, response.rate_limit.remaining) == (5000, 4999)
    assert (
        response.rate_limit.reset is not None
        and int(response.rate_limit.reset.timestamp()) == reset
    )
    assert response.duration > 0
    assert response.data.item is not None and response.data.item.flags


def test_sync_client_sends_the_same_request() -> None:
    recorder = Recorder(httpx.Response(201, json=CHECK_OK))
    with sync_client(recorder) as client:
        response = client.moderation().check(
            entity_type="t",
            entity_id="1",
            entity_creator_id="u",
            moderation_payload={"texts": ["x"]},
        )
    assert response.data.recommended_action == "keep"
    request = recorder.requests[0]
    assert json.loads(request.content)["moderation_payload"] == {"texts": ["x"]}
    claims = jwt.decode(request.headers["authorization"], SECRET, algorithms=["HS256"])
    assert claims["server"] is True and claims["exp"] == claims["iat"] + 3600


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, 4, BadRequestError),
        (401, 5, AuthenticationError),
        (403, 17, PermissionDeniedError),
        (404, 16, NotFoundError),
        (409, 6, APIStatusError),
        (429, 9, RateLimitError),
        (500, -1, InternalServerError),
        (503, -1, InternalServerError),
    ],
)
async def test_each_status_maps_to_its_error(
    status: int, code: int, cls: type[APIStatusError]
) -> None:
    response = api_error(
        status, code, "it went wrong", exception_fields={"entity_id": "is required"}
    )
    recorder = Recorder(response)
    async with async_client(recorder, max_retries=0) as client:
        with pytest.raises(cls) as info:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    error = info.value
    assert type(error) is cls
    assert isinstance(error, StreamError)
    assert (error.status_code, error.code, error.message) == (status, code, "it went wrong")
    assert error.exception_fields == {"entity_id": "is required"}
    assert error.more_info == "https://getstream.io/chat/docs/api_errors_response"
    where = "[check: POST chat.stream-io-api.com/api/v2/moderation/check; 1 attempt]"
    assert str(error) == f"{status} (code {code}): it went wrong entity_id: is required {where}"


async def test_html_error_from_a_proxy_is_still_typed() -> None:
    html = (
        "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    )
    recorder = Recorder(httpx.Response(502, text=html, headers={"content-type": "text/html"}))
    async with async_client(recorder, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert info.value.status_code == 502
    assert info.value.code is None
    assert "Bad Gateway" in str(info.value) and "502" in str(info.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>ok</html>", "not JSON"),
        (b'{"recommended_action": "keep", "status": "complete"', "not JSON"),
        (
            json.dumps(response_body("check", recommended_action=3)).encode(),
            "CheckResponse.recommended_action",
        ),
    ],
)
async def test_a_success_that_does_not_fit_raises_validation_error(
    body: bytes, reason: str
) -> None:
    recorder = Recorder(httpx.Response(201, content=body))
    async with async_client(recorder) as client:
        with pytest.raises(APIResponseValidationError, match=reason) as info:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert info.value.status_code == 201
    assert len(recorder.requests) == 1  # not retried


# --- retries ---------------------------------------------------------------------------------


async def test_429_is_retried_after_retry_after(sleeps: list[float]) -> None:
    limited = httpx.Response(
        429, json=api_error_body(429, 9, "Too many"), headers={"Retry-After": "2"}
    )
    recorder = Recorder(limited, httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        response = await client.moderation.check(
            entity_type="t", entity_id="1", entity_creator_id="u"
        )
    assert response.data.recommended_action == "keep"
    assert sleeps == [2.0]
    assert recorder.requests[0].content == recorder.requests[1].content


async def test_429_honours_x_ratelimit_reset(sleeps: list[float]) -> None:
    reset = time.time() + 3
    limited = httpx.Response(
        429, json=api_error_body(429, 9, "Too many"), headers={"X-RateLimit-Reset": str(reset)}
    )
    recorder = Recorder(limited, httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert len(sleeps) == 1 and 2.0 < sleeps[0] <= 3.0


async def test_retry_after_as_http_date(sleeps: list[float]) -> None:
    when = time.time() + 5
    from email.utils import formatdate

    limited = httpx.Response(
        429,
        json=api_error_body(429, 9, "Too many"),
        headers={"Retry-After": formatdate(when, usegmt=True)},
    )
    recorder = Recorder(limited, httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert len(sleeps) == 1 and 3.5 < sleeps[0] <= 5.0


async def test_a_wait_longer_than_a_minute_is_not_waited_for(sleeps: list[float]) -> None:
    recorder = Recorder(
        httpx.Response(
            429, json=api_error_body(429, 9, "slow down"), headers={"Retry-After": "600"}
        )
    )
    async with async_client(recorder) as client:
        with pytest.raises(RateLimitError) as info:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert info.value.retry_after == 600.0
    assert sleeps == []
    assert len(recorder.requests) == 1


async def test_503_is_retried_with_backoff_then_raised(sleeps: list[float]) -> None:
    recorder = Recorder(api_error(503, -1, "unavailable"))
    async with async_client(recorder, max_retries=3) as client:
        with pytest.raises(InternalServerError):
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert len(recorder.requests) == 4
    assert len(sleeps) == 3
    for wait, nominal in zip(sleeps, [0.5, 1.0, 2.0], strict=True):
        assert nominal * 0.75 <= wait <= nominal
    assert len({r.content for r in recorder.requests}) == 1


async def test_per_call_max_retries(sleeps: list[float]) -> None:
    recorder = Recorder(api_error(500, -1, "boom"))
    async with async_client(recorder) as client:
        with pytest.raises(InternalServerError):
            await client.moderation.check(
                entity_type="t", entity_id="1", entity_creator_id="u", max_retries=0
            )
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("failure", "error", "attempts"),
    [
        (httpx.ConnectError("connection refused"), APIConnectionError, 3),
        (httpx.ConnectTimeout("timed out"), APITimeoutError, 3),
        # sent, then lost: check may have been processed, so it is not sent again
        (httpx.ReadError("connection reset by peer"), ResponseLostError, 1),
        (httpx.RemoteProtocolError("server disconnected"), ResponseLostError, 1),
        (httpx.ReadTimeout("timed out"), ResponseLostError, 1),
    ],
)
async def test_transport_failures_of_check_are_retried_only_when_not_sent(
    sleeps: list[float], failure: Exception, error: type[Exception], attempts: int
) -> None:
    recorder = Recorder(failure)
    async with async_client(recorder) as client:
        with pytest.raises(error) as info:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert type(info.value) is error
    assert info.value.attempts == attempts
    assert info.value.may_have_been_processed is (attempts == 1)
    assert len(recorder.requests) == attempts
    assert len(sleeps) == attempts - 1


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ConnectError("connection refused"), APIConnectionError),
        (httpx.ReadError("connection reset by peer"), APIConnectionError),
        (httpx.RemoteProtocolError("server disconnected"), APIConnectionError),
        (httpx.ReadTimeout("timed out"), APITimeoutError),
    ],
)
async def test_transport_failures_of_a_read_are_retried_then_raised(
    sleeps: list[float], failure: Exception, error: type[Exception]
) -> None:
    recorder = Recorder(failure)
    async with async_client(recorder) as client:
        with pytest.raises(error) as info:
            await client.moderation.get_config("policy")
    assert type(info.value) is error
    assert info.value.attempts == 3 and "3 attempts" in str(info.value)
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2


async def test_transport_failure_then_success(sleeps: list[float]) -> None:
    recorder = Recorder(httpx.ReadError("reset"), httpx.Response(201, json=CHECK_OK))
    async with async_client(recorder) as client:
        response = await client.moderation.check(
            entity_type="t", entity_id="1", entity_creator_id="u", retry_unsafe=True
        )
    assert response.data.status == "complete"
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    "response",
    [
        api_error(400, 4, "bad input"),
        api_error(401, 43, "signature invalid"),
        api_error(404, 16, "not found"),
        api_error(500, -1, "broken for good", unrecoverable=True),
        api_error(429, 9, "no more", unrecoverable=True),
    ],
)
async def test_no_retry_for_client_errors_or_unrecoverable(
    sleeps: list[float], response: httpx.Response
) -> None:
    recorder = Recorder(response)
    async with async_client(recorder) as client:
        with pytest.raises(APIStatusError):
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_sync_client_retries_too(sleeps: list[float]) -> None:
    recorder = Recorder(
        api_error(503, -1, "x"), httpx.ReadError("reset"), httpx.Response(201, json=CHECK_OK)
    )
    with sync_client(recorder, retry_unsafe=True) as client:
        response = client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert response.data.recommended_action == "keep"
    assert len(sleeps) == 2


async def test_cancellation_during_backoff_is_prompt() -> None:
    limited = api_error_body(429, 9, "Too many")
    recorder = Recorder(httpx.Response(429, json=limited, headers={"Retry-After": "30"}))
    async with async_client(recorder) as client:
        started = time.monotonic()
        with anyio.move_on_after(0.2) as scope:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
        assert scope.cancelled_caught
        assert time.monotonic() - started < 2
    assert len(recorder.requests) == 1


async def test_cancellation_during_a_slow_request_is_prompt() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return httpx.Response(201, json=CHECK_OK)

    async with AsyncStream(KEY, SECRET, transport=httpx.MockTransport(slow)) as client:
        started = time.monotonic()
        with anyio.move_on_after(0.2):
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
        assert time.monotonic() - started < 2


# --- construction, tokens, secrets -------------------------------------------------------------


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_API_KEY", "env-key")
    monkeypatch.setenv("STREAM_API_SECRET", "env-secret-of-at-least-32-bytes-long")
    monkeypatch.setenv("STREAM_BASE_URL", "https://eu.example.test/")
    client = Stream()
    assert client.api_key == "env-key"
    assert client.base_url == "https://eu.example.test"
    client.close()


def test_missing_credentials_are_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_API_KEY", raising=False)
    monkeypatch.delenv("STREAM_API_SECRET", raising=False)
    with pytest.raises(ValueError, match="api_key is required"):
        AsyncStream()
    with pytest.raises(ValueError, match="api_secret is required"):
        AsyncStream(api_key="k")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://chat.stream-io-api.com", True),
        ("http://localhost:8080", True),
        ("http://127.0.0.1:9000", True),
        ("http://[::1]:9000", True),
        ("http://chat.stream-io-api.com", False),
        ("http://10.0.0.5", False),
        ("ftp://example.com", False),
    ],
)
def test_plain_http_only_to_loopback(url: str, allowed: bool) -> None:
    if allowed:
        Stream(KEY, SECRET, base_url=url).close()
    else:
        with pytest.raises(ValueError):
            Stream(KEY, SECRET, base_url=url)


def test_plain_http_elsewhere_when_opted_in() -> None:
    Stream(KEY, SECRET, base_url="http://emulator.internal:8080", allow_insecure_http=True).close()


def test_create_token() -> None:
    client = Stream(KEY, SECRET)
    token = client.create_token("user-1", expiration=timedelta(hours=1), claims={"role": "admin"})
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["user_id"] == "user-1" and claims["role"] == "admin"
    assert 3590 <= claims["exp"] - claims["iat"] <= 3600
    forever = jwt.decode(client.create_token("u2"), SECRET, algorithms=["HS256"])
    assert "exp" not in forever
    client.close()


async def test_secret_and_token_never_appear_in_reprs_errors_or_logs(
    caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG, logger="stream_moderation")
    failures: list[httpx.Response | Exception] = [
        api_error(400, 4, "bad"),
        api_error(401, 43, "token signature invalid"),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(201, content=b"not json"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
    ]
    texts: list[str] = []
    async with AsyncStream(
        KEY, SECRET, transport=httpx.MockTransport(Recorder(*failures))
    ) as client:
        token = client._core.credentials.server_token
        texts += [repr(client), repr(client._core.credentials), repr(client.moderation)]
        for _ in failures:
            try:
                await client.moderation.check(
                    entity_type="t", entity_id="1", entity_creator_id="u", max_retries=1
                )
            except StreamError as exc:
                texts += [str(exc), repr(exc), repr(vars(exc))]
    texts.append(caplog.text)
    assert caplog.records  # attempts and retries were logged
    for text in texts:
        assert SECRET not in text
        assert token not in text


def test_client_cannot_be_pickled() -> None:
    import pickle

    client = Stream(KEY, SECRET)
    with pytest.raises(TypeError, match="secret"):
        pickle.dumps(client)
    client.close()


def test_the_package_exports_exactly_what_it_lists() -> None:
    """As httpx's test of its exported members: every public name of the package (but its
    submodules) is in ``__all__``, and every name there resolves."""
    public = {
        name
        for name in dir(stream_moderation)
        if not name.startswith("_") and not inspect.ismodule(getattr(stream_moderation, name))
    }
    assert public == set(stream_moderation.__all__) - {"__version__"}
    assert len(stream_moderation.__all__) == len(set(stream_moderation.__all__))
    for name in stream_moderation.__all__:
        assert getattr(stream_moderation, name) is not None, name


def test_errors_are_exported_from_their_module() -> None:
    """Every exception class ``_exceptions`` defines is public in the package."""
    from stream_moderation import _exceptions

    defined = {
        name
        for name, value in vars(_exceptions).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == _exceptions.__name__
        and not name.startswith("_")
    }
    assert defined <= set(stream_moderation.__all__), defined - set(stream_moderation.__all__)


def test_client_verifies_and_parses_webhooks_with_its_secret() -> None:
    import hashlib
    import hmac

    from stream_moderation import InvalidSignatureError
    from stream_moderation.models import ModerationCheckCompletedEvent

    body = json.dumps(
        model_body(
            "ModerationCheckCompletedEvent",
            type="moderation_check.completed",
            created_at=1715679472123456789,
            entity_id="m-1",
            entity_type="stream:chat:v1:message",
            recommended_action="flag",
            review_queue_item_id="rq-1",
        )
    ).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    client = Stream(KEY, SECRET)
    assert client.verify_webhook(body, signature)
    assert not client.verify_webhook(body + b" ", signature)
    event = client.parse_webhook(body, signature)
    assert isinstance(event, ModerationCheckCompletedEvent)
    assert event.recommended_action == "flag"
    with pytest.raises(InvalidSignatureError, match="X-Signature"):
        client.parse_webhook(body, None)
    client.close()


# --- JSON decoding (orjson when the extra is installed) -----------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        b"",
        # the edges of what orjson reads exactly, and a lone surrogate, which it refuses
        b',"n":18446744073709551615',
        b',"n":-9223372036854775808',
        b',"s":"\\ud800"',
    ],
)
async def test_any_valid_json_body_decodes_as_the_stdlib_would(extra: bytes) -> None:
    from stream_moderation._core import loads_json

    content = json.dumps(response_body("check")).encode()[:-1] + extra + b"}"
    assert loads_json(content) == json.loads(content)
    recorder = Recorder(httpx.Response(201, content=content))
    async with async_client(recorder) as client:
        response = await client.moderation.check(
            entity_type="t", entity_id="1", entity_creator_id="u"
        )
    assert response.data.to_dict() == json.loads(content)


def test_orjson_is_used_when_installed() -> None:
    pytest.importorskip("orjson")
    from stream_moderation._core import loads_json

    assert loads_json is not json.loads
    with pytest.raises(ValueError):
        loads_json(b'{"not": json}')
