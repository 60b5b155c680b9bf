"""Secret hygiene: every error path, with every logger at DEBUG, and neither the API secret
nor the server JWT appears in a log line, a repr, an exception message, an exception's
attributes or a formatted traceback (chained causes included).

The server side is hostile on purpose: its answers echo the token the client sent into
every field of the error body, into a 2xx body that does not parse, into an HTML page and
into a transport error's message, as echo servers, debugging proxies and chatty error
messages do. The SDK keeps what the server said, minus the secrets.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from stream_moderation import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AsyncStream,
    AuthenticationError,
    PermissionDeniedError,
    ResponseLostError,
    Stream,
    StreamError,
    webhooks,
)
from stream_moderation.models import ParseError
from stream_moderation.testing import (
    Emulator,
    FaultInjector,
    Stall,
    api_error_body,
    response_body,
    sign,
)

pytestmark = pytest.mark.anyio

KEY = "hygiene-key"
SECRET = "hygiene-SECRET-0f4c1e9a-must-never-leak"
OTHER_SECRET = "emulator-SECRET-7d2b90aa-must-never-leak-either"
CHECK: dict[str, Any] = {
    "entity_type": "stream:chat:v1:message",
    "entity_id": "m1",
    "entity_creator_id": "u1",
    "moderation_payload": {"texts": ["hello"]},
}


def texts_of(error: BaseException, depth: int = 0) -> Iterator[str]:
    """Everything an exception shows: str, repr, each attribute's repr, the formatted
    traceback, and the same for the exceptions chained to it as Python shows them (the
    cause, or the context unless ``raise ... from`` suppressed it)."""
    yield str(error)
    yield repr(error)
    yield "".join(traceback.format_exception(error))
    for name, value in vars(error).items():
        yield f"{name}={value!r}"
        if isinstance(value, dict | list):
            yield json.dumps(value, default=repr)
    linked = error.__cause__
    if linked is None and not error.__suppress_context__:
        linked = error.__context__
    if linked is not None and depth < 5:
        yield from texts_of(linked, depth + 1)


class Hostile:
    """A MockTransport handler whose answers echo the request's Authorization token."""

    def __init__(self, make: Callable[[str], httpx.Response | Exception]) -> None:
        self.make = make

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = self.make(request.headers["authorization"])
        if isinstance(answer, Exception):
            raise answer
        return answer


def echo_error(status: int) -> Callable[[str], httpx.Response]:
    def make(token: str) -> httpx.Response:
        body = api_error_body(
            status,
            5,
            f"token {token} rejected",
            more_info=f"https://example.invalid/?t={token}",
            details=[token, {"token": token}],
            exception_fields={"authorization": token},
            unrecoverable=True,
        )
        headers = {"Retry-After": "0"} if status == 429 else {}
        return httpx.Response(status, json=body, headers=headers)

    return make


ECHOES: dict[str, tuple[Callable[[str], httpx.Response | Exception], type[StreamError]]] = {
    **{
        f"status-{status}": (echo_error(status), APIStatusError)
        for status in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503, 504)
    },
    "html-502": (
        lambda t: httpx.Response(502, text=f"<html><pre>Authorization: {t}</pre></html>"),
        APIStatusError,
    ),
    "2xx-field-echo": (
        lambda t: httpx.Response(
            201, json=response_body("check", recommended_action={"echo": t}, status=t)
        ),
        APIResponseValidationError,
    ),
    # the item (a nested model) is read when first used: the ParseError comes then
    "2xx-item-echo": (
        lambda t: httpx.Response(201, json=response_body("check", item=t)),
        ParseError,
    ),
    "2xx-not-json": (
        lambda t: httpx.Response(200, text=f"<html>hello {t}</html>"),
        APIResponseValidationError,
    ),
    "connect-error-echo": (
        lambda t: httpx.ConnectError(f"proxy refused Authorization {t}"),
        APIConnectionError,
    ),
    "protocol-error-echo": (
        lambda t: httpx.RemoteProtocolError(f"bad response to {t}"),
        APIConnectionError,
    ),
    # check may have been processed when its read times out: ResponseLostError
    "read-timeout": (lambda t: httpx.ReadTimeout("timed out"), ResponseLostError),
    "connect-error": (lambda t: httpx.ConnectError("[Errno 111] refused"), APIConnectionError),
}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, httpx, httpcore, the emulator
    return caplog


def assert_clean(texts: list[str], *tokens: str) -> None:
    for text in texts:
        for secret in (SECRET, OTHER_SECRET, *tokens):
            assert secret not in text, f"{secret[:12]}... leaked in: {text[:500]}"


@pytest.mark.parametrize("case", sorted(ECHOES))
async def test_hostile_answers_leak_nothing(case: str, logs: pytest.LogCaptureFixture) -> None:
    make, expected = ECHOES[case]
    texts: list[str] = []
    async with AsyncStream(
        KEY, SECRET, transport=httpx.MockTransport(Hostile(make)), max_retries=1
    ) as client:
        token = client._core.credentials.server_token
        with pytest.raises(StreamError) as caught:
            response = await client.moderation.check(**CHECK)
            _ = response.data.item
        assert isinstance(caught.value, expected)
        texts += list(texts_of(caught.value))
        texts += [repr(client), repr(client.moderation), repr(client.with_options(timeout=1))]
    assert logs.records
    texts.append(logs.text)
    texts += [record.getMessage() for record in logs.records]
    assert_clean(texts, token)
    if isinstance(caught.value, APIStatusError) and case.startswith("status-"):
        # what the server said is kept, minus the secrets
        assert caught.value.message == "token *** rejected"
        assert caught.value.details == ["***", {"token": "***"}]
        assert caught.value.exception_fields == {"authorization": "***"}


@pytest.mark.parametrize("case", ["status-401", "2xx-item-echo", "connect-error-echo"])
def test_hostile_answers_leak_nothing_sync(case: str, logs: pytest.LogCaptureFixture) -> None:
    make, expected = ECHOES[case]
    with Stream(KEY, SECRET, transport=httpx.MockTransport(Hostile(make)), max_retries=0) as c:
        token = c._core.credentials.server_token
        with pytest.raises(expected) as caught:
            _ = c.moderation.check(**CHECK).data.item
    assert_clean([*texts_of(caught.value), logs.text], token)


async def test_a_successful_response_and_its_request_leak_nothing(
    logs: pytest.LogCaptureFixture,
) -> None:
    emulator = Emulator(KEY, SECRET)
    async with emulator.client() as client:
        token = client._core.credentials.server_token
        await client.moderation.upsert_config(key="c")
        response = await client.moderation.check(**CHECK, config_key="c")
        request = client._core.build_request(
            client._http,
            _check_operation(),
            "/api/v2/moderation/check",
            {},
            CHECK,
            timeout=1.0,
            extra_headers=None,
            extra_query=None,
            extra_body=None,
        )
        texts = [repr(response), repr(response.headers), repr(request), repr(request.headers)]
        texts += [str(request.url), repr(emulator), repr(client._core.credentials)]
    assert_clean([*texts, logs.text], token)


def _check_operation() -> Any:
    from stream_moderation._generated.api.moderation import check

    return check.OPERATION


async def test_real_transport_failures_leak_nothing(logs: pytest.LogCaptureFixture) -> None:
    """Over real sockets, with httpcore's DEBUG trace: a refused connection and a stall."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    texts: list[str] = []
    async with AsyncStream(
        KEY, SECRET, base_url=f"http://127.0.0.1:{closed_port}", max_retries=1
    ) as client:
        token = client._core.credentials.server_token
        with pytest.raises(APIConnectionError) as refused:
            await client.moderation.check(**CHECK)
        texts += list(texts_of(refused.value))
    emulator = Emulator(KEY, SECRET)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    faults.inject(Stall(seconds=1))
    with emulator.serve() as url:
        async with AsyncStream(KEY, SECRET, base_url=url, timeout=0.2, max_retries=0) as client:
            with pytest.raises(ResponseLostError) as stalled:
                await client.moderation.check(**CHECK)
            texts += list(texts_of(stalled.value))
    assert_clean([*texts, logs.text], token)


def never_sent(request: httpx.Request) -> httpx.Response:
    raise AssertionError("a bad argument must fail before anything is sent")


async def test_parse_errors_of_bad_arguments_leak_nothing(logs: pytest.LogCaptureFixture) -> None:
    async with AsyncStream(KEY, SECRET, transport=httpx.MockTransport(never_sent)) as client:
        token = client._core.credentials.server_token
        texts: list[str] = []
        for bad in ({"texts": 5}, {"images": {"a": 1}}, "not a payload"):
            with pytest.raises((ParseError, TypeError)) as caught:
                await client.moderation.check(
                    entity_type="t",
                    entity_id="e",
                    entity_creator_id="u",
                    moderation_payload=bad,  # type: ignore[arg-type]
                )
            texts += list(texts_of(caught.value))
        with pytest.raises((ParseError, TypeError)) as caught:
            await client.moderation.submit_action(action_type="ban", ban={"timeout": "soon"})
        texts += list(texts_of(caught.value))
    assert_clean([*texts, logs.text], token)


async def test_emulator_auth_failures_leak_nothing(logs: pytest.LogCaptureFixture) -> None:
    """A client with the wrong secret, a user token on a server operation, a token with the
    secret in its claims: the emulator's answers and logs hold neither secret."""
    emulator = Emulator(KEY, OTHER_SECRET)
    texts = [repr(emulator)]
    async with AsyncStream(KEY, SECRET, transport=emulator.transport(), max_retries=0) as c:
        token = c._core.credentials.server_token
        with pytest.raises(AuthenticationError) as wrong:
            await c.moderation.check(**CHECK)
        texts += list(texts_of(wrong.value))
        user_token = emulator.create_token(user_id="bob", note=SECRET)
        with pytest.raises(PermissionDeniedError) as forbidden:
            await c.moderation.check(**CHECK, extra_headers={"Authorization": user_token})
        texts += list(texts_of(forbidden.value))
        for header in (f"Bearer {token}", token[:-3], f"{token}.{SECRET}", SECRET):
            with pytest.raises(AuthenticationError) as refused:
                await c.moderation.check(**CHECK, extra_headers={"Authorization": header})
            texts += list(texts_of(refused.value))
    with emulator.serve() as url:
        raw = httpx.post(
            f"{url}/api/v2/moderation/check",
            params={"api_key": KEY},
            headers={"Authorization": f"{token}.{SECRET}", "Stream-Auth-Type": "jwt"},
            json=CHECK,
        )
        texts += [raw.text, repr(raw.headers)]
    assert_clean([*texts, logs.text], token, user_token)


async def test_webhook_errors_leak_nothing(logs: pytest.LogCaptureFixture) -> None:
    body = json.dumps({"type": "review_queue_item.new", "created_at": "x"}).encode()
    texts: list[str] = []
    async with AsyncStream(KEY, SECRET, transport=httpx.MockTransport(never_sent)) as client:
        token = client._core.credentials.server_token
        attempts: list[tuple[bytes, Any]] = [
            (body, None),
            (body, ""),
            (body, "0" * 64),
            (body, SECRET),
            (body, token),
            (b"\x1f\x8b not gzip", sign(b"x", SECRET)),
            (b"not json", sign(b"not json", SECRET)),
            (b"[1, 2]", sign(b"[1, 2]", SECRET)),
            (b'{"type": 5}', sign(b'{"type": 5}', SECRET)),
            (body, sign(body, SECRET)),  # an event whose fields do not parse
        ]
        for payload, signature in attempts:
            try:
                client.parse_webhook(payload, signature)
            except (StreamError, ValueError) as exc:
                texts += list(texts_of(exc))
            try:
                webhooks.verify_and_parse(payload, signature, SECRET)
            except (StreamError, ValueError) as exc:
                texts += list(texts_of(exc))
    assert len(texts) > 20
    assert_clean([*texts, logs.text], token)
