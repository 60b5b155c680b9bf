"""Proxies and secrets on the way out, over real loopback sockets.

Environment proxies are honoured by both transports alike (the aiohttp one used to ignore
them), a plain-http proxy off loopback is refused like a plain-http base URL, a socks
proxy without its extra is a clear error; and the secret and the server token are in no
SDK frame's locals, nor in a request chained to an error."""

from __future__ import annotations

import base64
import traceback
from typing import Any

import anyio
import httpx
import pytest

from stream_moderation import (
    APIConnectionError,
    ArgumentValueError,
    AsyncStream,
    InsecureTransportError,
    Stream,
)
from stream_moderation.aiohttp import AiohttpTransport
from tests.support.hostile_server import hostile_server, respond

KEY = "proxy-key"
SECRET = "proxy-secret-that-is-long-enough-for-hs256"
DESTINATION = "http://127.0.0.1:9"  # nothing listens there: only the proxy can answer
FLAVOURS = ["asyncio", "trio", "aiohttp", "sync"]
CHECK: dict[str, Any] = {"entity_type": "t", "entity_id": "1", "entity_creator_id": "u"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def make(flavour: str, **options: Any) -> AsyncStream | Stream:
    if flavour == "sync":
        return Stream(KEY, SECRET, **options)
    transport = AiohttpTransport() if flavour == "aiohttp" else None
    return AsyncStream(KEY, SECRET, transport=transport, **options)


def call(flavour: str, **options: Any) -> object:
    if flavour == "sync":
        with Stream(KEY, SECRET, max_retries=0, **options) as client:
            return client.moderation.check(**CHECK)

    async def main() -> object:
        transport = AiohttpTransport() if flavour == "aiohttp" else None
        async with AsyncStream(KEY, SECRET, transport=transport, max_retries=0, **options) as c:
            return await c.moderation.check(**CHECK)

    return anyio.run(main, backend="trio" if flavour == "trio" else "asyncio")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_environment_proxies_are_honoured_by_every_transport(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hostile_server(respond()) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)  # loopback: allowed for plain http
        call(flavour, base_url=DESTINATION)
    (seen,) = proxy.seen
    assert seen.target.startswith(f"{DESTINATION}/api/v2/moderation/check?api_key={KEY}")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_proxy_url_with_credentials_authenticates_to_the_proxy_only(flavour: str) -> None:
    with hostile_server(respond()) as proxy:
        port = proxy.url.rsplit(":", 1)[1]
        call(flavour, base_url=DESTINATION, proxy=f"http://proxy-user:p%40ss@127.0.0.1:{port}")
    (seen,) = proxy.seen
    assert seen.target.startswith(f"{DESTINATION}/api/v2/moderation/check?api_key={KEY}")
    expected = "Basic " + base64.b64encode(b"proxy-user:p@ss").decode()
    assert seen.headers["proxy-authorization"] == expected


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_trust_env_false_and_no_proxy_ignore_them(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hostile_server(respond()) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with pytest.raises(APIConnectionError):
            call(flavour, base_url=DESTINATION, trust_env=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with pytest.raises(APIConnectionError):
            call(flavour, base_url=DESTINATION)
    assert proxy.seen == []


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_plain_http_proxy_off_loopback_is_refused(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://user:pw@proxy.example:3128")
    with pytest.raises(InsecureTransportError) as caught:
        make(flavour, base_url=DESTINATION)
    message = str(caught.value)
    assert "http://proxy.example:3128 (HTTP_PROXY)" in message and "pw" not in message
    assert isinstance(caught.value, ValueError)
    make(flavour, base_url=DESTINATION, allow_insecure_http=True)  # the explicit opt-in
    make(flavour, base_url=DESTINATION, proxy="https://proxy.example:3128")  # TLS to it
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    make(flavour, base_url="https://chat.stream-io-api.com")  # a CONNECT tunnel: fine


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_socks_proxy_without_its_extra_names_the_extra(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ArgumentValueError) as caught:
        make(flavour)
    message = str(caught.value)
    if flavour == "aiohttp":
        assert "aiohttp transport cannot use the socks proxy" in message
    assert 'pip install "stream-moderation[socks]"' in message and "(ALL_PROXY)" in message


# -- secrets -----------------------------------------------------------------------------------


def sdk_frames(error: BaseException) -> list[Any]:
    return [
        frame
        for frame, _ in traceback.walk_tb(error.__traceback__)
        if "stream_moderation" in frame.f_code.co_filename
    ]


@pytest.mark.parametrize("flavour", ["asyncio", "sync"])
def test_no_sdk_frame_and_no_chained_request_holds_a_secret(flavour: str) -> None:
    client = make(flavour, base_url=DESTINATION, max_retries=0)
    token = client._core.credentials.server_token
    with pytest.raises(APIConnectionError) as caught:
        if isinstance(client, Stream):
            with client:
                client.moderation.check(**CHECK)
        else:

            async def main() -> None:
                async with client:
                    await client.moderation.check(**CHECK)

            anyio.run(main)
    frames = sdk_frames(caught.value)
    assert frames  # the call went through the SDK's frames
    for frame in frames:
        for name, value in frame.f_locals.items():
            shown = repr(value)
            assert SECRET not in shown and token not in shown, (frame.f_code.co_name, name)
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.RequestError)
    assert cause.request.headers["authorization"] == "***"
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert "127.0.0.1:9" in str(caught.value)  # the host is named
