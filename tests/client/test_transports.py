"""The async client over real sockets, with each transport: httpx's default and aiohttp's.

The same tests run on both (the aiohttp one on asyncio only: aiohttp has no trio support)
against a small scripted HTTP/1.1 server on loopback: what goes on the wire, parsing,
typed errors, retries, timeouts, refused connections, many calls in flight, and closing.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from stream_moderation import (
    APIConnectionError,
    APITimeoutError,
    AsyncStream,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    ResponseLostError,
)
from stream_moderation.aiohttp import AiohttpTransport
from stream_moderation.models import CheckResponse, ModerationPayload
from stream_moderation.testing import api_error_body, response_body
from tests.conftest import load_fixture

KEY = "transport-key"
SECRET = "transport-secret-that-is-long-enough-for-hs256"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Reply:
    status: int = 201
    body: Any = field(default_factory=lambda: response_body("check", duration="1ms"))
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang_up: bool = False


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """Answers each request with the next Reply (the last one repeats) and records it."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply()]
        self.seen: list[Seen] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.seen.append(Seen(method, target, headers, body))
                reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.hang_up:
                    return
                content = json.dumps(reply.body).encode()
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                writer.write(
                    f"HTTP/1.1 {reply.status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(content)}\r\n{extra}\r\n".encode()
                    + content
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    servers: list[ScriptedServer] = []

    async def start(*replies: Reply) -> ScriptedServer:
        scripted = ScriptedServer(*replies)
        scripted.server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
        servers.append(scripted)
        return scripted

    yield start
    for scripted in servers:
        assert scripted.server is not None
        scripted.server.close()


TRANSPORTS: dict[str, Callable[[], httpx.AsyncBaseTransport | None]] = {
    "default": lambda: None,
    "aiohttp": AiohttpTransport,
}


@pytest.fixture(params=list(TRANSPORTS))
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client(url: str, transport_name: str, **kwargs: Any) -> AsyncStream:
    return AsyncStream(KEY, SECRET, base_url=url, transport=TRANSPORTS[transport_name](), **kwargs)


async def test_a_check_on_the_wire_and_back(serve: Any, transport_name: str) -> None:
    heavy = load_fixture("check_response_heavy_ns.json")
    server = await serve(Reply(body=heavy, headers={"X-RateLimit-Remaining": "9"}))
    async with client(server.url, transport_name) as sdk:
        response = await sdk.moderation.check(
            entity_type="stream:chat:v1:message",
            entity_id="message-123",
            entity_creator_id="user-456",
            moderation_payload=ModerationPayload(texts=["Hello, this is a test message"]),
            config_key="my_config",
        )
    (seen,) = server.seen
    assert seen.method == "POST"
    assert seen.target == f"/api/v2/moderation/check?api_key={KEY}"
    claims = jwt.decode(seen.headers["authorization"], SECRET, algorithms=["HS256"])
    assert claims["server"] is True and claims["exp"] == claims["iat"] + 3600
    assert seen.headers["stream-auth-type"] == "jwt"
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body)["moderation_payload"] == {
        "texts": ["Hello, this is a test message"]
    }
    assert isinstance(response.data, CheckResponse)
    assert response.data.to_dict() == heavy
    assert response.status_code == 201
    assert response.rate_limit is not None and response.rate_limit.remaining == 9


async def test_errors_are_typed(serve: Any, transport_name: str) -> None:
    error = api_error_body(400, 4, "entity_id is required")
    server = await serve(Reply(status=400, body=error))
    async with client(server.url, transport_name) as sdk:
        with pytest.raises(BadRequestError) as caught:
            await sdk.moderation.check(entity_type="t", entity_id="", entity_creator_id="u")
    assert caught.value.status_code == 400
    assert caught.value.code == 4
    assert "entity_id is required" in str(caught.value)


async def test_a_5xx_is_retried_with_the_same_request(serve: Any, transport_name: str) -> None:
    server = await serve(
        Reply(status=503, body=api_error_body(503, -1, "busy"), headers={"Retry-After": "0"}),
        Reply(),
    )
    async with client(server.url, transport_name) as sdk:
        response = await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert response.data.recommended_action == "keep"
    first, second = server.seen
    assert first.body == second.body and first.target == second.target


async def test_retries_give_up_with_the_last_error(serve: Any, transport_name: str) -> None:
    server = await serve(
        Reply(status=500, body=api_error_body(500, -1, "down"), headers={"Retry-After": "0"})
    )
    async with client(server.url, transport_name, max_retries=1) as sdk:
        with pytest.raises(InternalServerError) as caught:
            await sdk.moderation.get_config("policy")
        assert caught.value.attempts == 2
        assert len(server.seen) == 2
        # a 500 may follow processing: check (not resendable) is not sent again
        with pytest.raises(InternalServerError) as caught:
            await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
        assert caught.value.attempts == 1
    assert len(server.seen) == 3


async def test_a_slow_server_times_out(serve: Any, transport_name: str) -> None:
    server = await serve(Reply(delay=2.0))
    async with client(server.url, transport_name, timeout=0.2, max_retries=0) as sdk:
        with pytest.raises(APITimeoutError) as timed_out:
            await sdk.moderation.get_config("policy")
        assert timed_out.value.timeout == 0.2 and "0.2 s" in str(timed_out.value)
        # the check was sent and may have been processed: said so, and not resent
        with pytest.raises(ResponseLostError) as lost:
            await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
        assert lost.value.may_have_been_processed and lost.value.timeout == 0.2


async def test_a_refused_connection_is_a_connection_error(transport_name: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    async with client(f"http://127.0.0.1:{port}", transport_name, max_retries=0) as sdk:
        with pytest.raises(APIConnectionError) as caught:
            await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert not isinstance(caught.value, APITimeoutError)
    assert SECRET not in str(caught.value)


async def test_a_dropped_connection_is_retried_as_a_connection_error(
    serve: Any, transport_name: str
) -> None:
    server = await serve(
        Reply(hang_up=True), Reply(body=response_body("get_config", duration="1ms"))
    )
    async with client(server.url, transport_name) as sdk:
        response = await sdk.moderation.get_config("policy")
    assert response.data.duration == "1ms"
    assert len(server.seen) == 2
    server = await serve(Reply(hang_up=True))
    async with client(server.url, transport_name, max_retries=0) as sdk:
        with pytest.raises(APIConnectionError) as caught:
            await sdk.moderation.get_config("policy")
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.may_have_been_processed
    # check is not resent after the request was sent: one request, ResponseLostError
    server = await serve(Reply(hang_up=True), Reply())
    async with client(server.url, transport_name) as sdk:
        with pytest.raises(ResponseLostError):
            await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    assert len(server.seen) == 1


async def test_many_calls_in_flight_share_the_pool(serve: Any, transport_name: str) -> None:
    server = await serve(Reply(delay=0.01))
    async with client(server.url, transport_name) as sdk:

        async def one(i: int) -> str:
            response = await sdk.moderation.check(
                entity_type="t", entity_id=str(i), entity_creator_id="u"
            )
            return response.data.recommended_action

        results = await asyncio.gather(*(one(i) for i in range(150)))
    assert results == ["keep"] * 150
    assert {json.loads(s.body)["entity_id"] for s in server.seen} == {str(i) for i in range(150)}
    assert server.connections <= 100


async def test_aclose_closes_the_aiohttp_session(serve: Any) -> None:
    server = await serve()
    transport = AiohttpTransport()
    sdk = AsyncStream(KEY, SECRET, base_url=server.url, transport=transport)
    await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    session = transport.session
    assert session is not None and not session.closed
    await sdk.aclose()
    assert session.closed and transport.session is None


async def test_an_error_from_the_aiohttp_path_pickles_with_its_headers(serve: Any) -> None:
    server = await serve(
        Reply(
            status=429,
            body=api_error_body(429, 9, "Too many requests"),
            headers={"Retry-After": "7"},
        )
    )
    async with AsyncStream(
        KEY, SECRET, base_url=server.url, transport=AiohttpTransport(), max_retries=0
    ) as sdk:
        with pytest.raises(RateLimitError) as caught:
            await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.headers["retry-after"] == "7" and copy.retry_after == 7
    assert SECRET not in repr(vars(copy)) and SECRET not in str(copy)


async def test_the_aiohttp_path_makes_no_httpx_client_request_or_response(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await serve()
    made: list[str] = []
    for cls in (httpx.AsyncClient, httpx.Request, httpx.Response):
        original = cls.__init__

        def counting(
            self: Any, *args: Any, _cls: type = cls, _init: Any = original, **kw: Any
        ) -> None:
            made.append(_cls.__name__)
            _init(self, *args, **kw)

        monkeypatch.setattr(cls, "__init__", counting)
    async with AsyncStream(KEY, SECRET, base_url=server.url, transport=AiohttpTransport()) as sdk:
        response = await sdk.moderation.check(
            entity_type="t", entity_id="1", entity_creator_id="u", extra_query={"x": "1"}
        )
        await sdk.moderation.check(entity_type="t", entity_id="2", entity_creator_id="u")
    assert made == []
    assert response.data.recommended_action == "keep"
    assert response.headers["content-type"].startswith("application/json")
    sent = server.seen[0]
    assert sent.method == "POST" and "x=1" in sent.target and "api_key=" in sent.target


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_aiohttp_transport_says_it_needs_asyncio(anyio_backend: str) -> None:
    async with AsyncStream(
        KEY, SECRET, base_url="http://127.0.0.1:9", transport=AiohttpTransport()
    ) as sdk:
        with pytest.raises(RuntimeError, match="asyncio only"):
            await sdk.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")


async def test_the_aiohttp_transport_reports_when_a_request_may_have_been_written(
    serve: Any,
) -> None:
    # What the core's resend rule reads: an attempt that had a connection may have been
    # written (and processed); one that timed out waiting for a connection was not.
    from stream_moderation._core import ATTEMPT_PROGRESS, Progress, WireRequest

    server = await serve(Reply(delay=1.0))

    def request() -> WireRequest:
        url = httpx.URL(server.url + "/api/v2/moderation/check")
        made = WireRequest("POST", url, str(url), {"content-type": "application/json"}, b"{}")
        made.extensions["timeout"] = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
        return made

    async def attempt(transport: AiohttpTransport, seconds: float) -> Progress:
        progress = Progress()
        token = ATTEMPT_PROGRESS.set(progress)
        try:
            async with transport.attempt_timeout(seconds):
                response = await transport.send(request())
                await response.aclose()
        except TimeoutError:
            pass
        finally:
            ATTEMPT_PROGRESS.reset(token)
        return progress

    one_connection = AiohttpTransport(limits=httpx.Limits(max_connections=1))
    try:
        holding = asyncio.ensure_future(attempt(one_connection, 3.0))
        while not server.seen:  # the only connection is taken, its request written
            await asyncio.sleep(0.01)
        waiting = await attempt(one_connection, 0.2)  # for a connection: none comes
        assert (waiting.reported, waiting.sent) == (True, False)
        held = await holding
        assert (held.reported, held.sent) == (True, True)
    finally:
        await one_connection.aclose()

    import aiohttp  # a session of the user's: its connector does not report, nor is it said to

    async with aiohttp.ClientSession() as own:
        given = await attempt(AiohttpTransport(client=own), 3.0)
    assert (given.reported, given.sent) == (False, False)
