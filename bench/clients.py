"""The clients the per-call benchmark compares, each making the same ``check`` call.

Every client sends the same request (POST /api/v2/moderation/check, ``api_key`` in the
query, the server JWT in ``Authorization``, the same JSON body) and turns the response into
what it gives its user: this SDK and getstream their models, the raw clients a dict from
``response.json()`` (the floor: the least any client of that transport can do).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

__all__ = ["CLIENTS", "KEY", "SECRET", "open_client"]

KEY = "bench-api-key"
SECRET = "bench-api-secret-of-a-realistic-length-0123456789"
PATH = "/api/v2/moderation/check"
TEXT = "Hello, this is a test message"

Call = Callable[[], Awaitable[Any]]

# name -> what it is (shown in the table)
CLIENTS = {
    "sdk": "stream_moderation, default transport (httpx/httpcore)",
    "sdk_aiohttp": "stream_moderation, aiohttp transport",
    "sdk_aiohttp_orjson": "stream_moderation, aiohttp transport + orjson",
    "httpx": "raw httpx.AsyncClient + response.json() (floor of the default transport)",
    "aiohttp": "raw aiohttp.ClientSession + response.json() (floor of the aiohttp transport)",
    "getstream": "getstream 7.0.0 AsyncStream",
}
USES_ORJSON = frozenset({"sdk_aiohttp_orjson"})


def _token() -> str:
    import jwt

    return jwt.encode({"server": True}, SECRET, algorithm="HS256")


def _raw_body() -> dict[str, Any]:
    return {
        "entity_type": "stream:chat:v1:message",
        "entity_id": "message-123",
        "entity_creator_id": "user-456",
        "moderation_payload": {"texts": [TEXT]},
        "config_key": "my_config",
    }


@contextlib.asynccontextmanager
async def open_client(name: str, base_url: str) -> AsyncIterator[Call]:
    """A ``check`` call of client ``name`` against the server at ``base_url``."""
    if name in ("sdk", "sdk_aiohttp", "sdk_aiohttp_orjson"):
        from stream_moderation import AsyncStream
        from stream_moderation.models import ModerationPayload

        transport = None
        if name != "sdk":
            from stream_moderation.aiohttp import AiohttpTransport

            transport = AiohttpTransport()
        async with AsyncStream(KEY, SECRET, base_url=base_url, transport=transport) as client:
            check = client.moderation.check

            async def sdk_call() -> Any:
                response = await check(
                    entity_type="stream:chat:v1:message",
                    entity_id="message-123",
                    entity_creator_id="user-456",
                    moderation_payload=ModerationPayload(texts=[TEXT]),
                    config_key="my_config",
                )
                return response.data

            yield sdk_call

    elif name == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        http = httpx.AsyncClient(limits=limits)
        url = base_url + PATH
        headers = {"Authorization": _token(), "Stream-Auth-Type": "jwt"}
        params = {"api_key": KEY}
        async with http:

            async def httpx_call() -> Any:
                response = await http.post(url, params=params, json=_raw_body(), headers=headers)
                return response.json()

            yield httpx_call

    elif name == "aiohttp":
        import aiohttp

        url = base_url + PATH
        headers = {"Authorization": _token(), "Stream-Auth-Type": "jwt"}
        params = {"api_key": KEY}
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def aiohttp_call() -> Any:
                async with session.post(
                    url, params=params, json=_raw_body(), headers=headers
                ) as response:
                    return await response.json()

            yield aiohttp_call

    elif name == "getstream":
        from getstream import AsyncStream as GetStream
        from getstream.models import ModerationPayload as GSPayload

        gs = GetStream(api_key=KEY, api_secret=SECRET, base_url=base_url)
        moderation = gs.moderation

        async def getstream_call() -> Any:
            response = await moderation.check(
                entity_type="stream:chat:v1:message",
                entity_id="message-123",
                entity_creator_id="user-456",
                moderation_payload=GSPayload(texts=[TEXT]),
                config_key="my_config",
            )
            return response.data

        try:
            yield getstream_call
        finally:
            await gs.aclose()
    else:
        raise KeyError(name)
