"""The emulator at the HTTP level: auth, malformed requests, routing, limits, the served
spec, and a real server on a port driven by a plain HTTP client with a hand-made JWT."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from stream_moderation.testing import Emulator
from tests.support.emulator_support import KEY, SECRET, error_of, headers, now_s, token

pytestmark = pytest.mark.anyio

CHECK = "/api/v2/moderation/check"
CHECK_BODY = {
    "entity_type": "stream:chat:v1:message",
    "entity_id": "m1",
    "entity_creator_id": "u1",
    "moderation_payload": {"texts": ["hello"]},
    "config_key": "cfg",
}


@pytest.fixture
def emu() -> Emulator:
    emulator = Emulator(KEY, SECRET)
    emulator.add_blocklist("extra", ["forbidden"])
    return emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url="http://emulator", params={"api_key": KEY}
    ) as client:
        await client.post("/api/v2/moderation/config", json={"key": "cfg"}, headers=headers())
        yield client


# -- authentication ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "auth", "code"),
    [
        ({"api_key": "wrong"}, None, 2),
        ({"api_key": ""}, None, 2),
        ({}, "", 5),
        ({}, "not-a-jwt", 5),
        ({}, "Bearer " + token(), 5),
        ({}, token("another-secret-of-sufficient-length!!"), 43),
        ({}, token(server=True, exp=now_s() - 3600), 40),
        ({}, token(server=True, nbf=now_s() + 3600), 41),
        ({}, token(server=True, iat=now_s() + 3600), 42),
    ],
    ids=[
        "wrong-key",
        "empty-key",
        "no-token",
        "malformed",
        "bearer",
        "bad-signature",
        "expired",
        "not-yet-valid",
        "issued-in-future",
    ],
)
async def test_authentication_errors(
    http: httpx.AsyncClient, params: dict[str, str], auth: str | None, code: int
) -> None:
    response = await http.post(
        CHECK,
        json=CHECK_BODY,
        params={"api_key": KEY, **params},
        headers=headers(auth) if auth is not None else headers(),
    )
    assert response.status_code == 401
    body = error_of(response)
    assert body["code"] == code
    assert body["unrecoverable"] is True
    assert SECRET not in response.text


async def test_missing_api_key(emu: Emulator) -> None:
    async with httpx.AsyncClient(transport=emu.transport(), base_url="http://e") as client:
        response = await client.post(CHECK, json=CHECK_BODY, headers=headers())
    assert (response.status_code, error_of(response)["code"]) == (401, 2)


async def test_other_token_shapes_are_accepted(http: httpx.AsyncClient) -> None:
    for tok in (
        token(iat=now_s()),  # the official Python SDK's server token: only iat
        token(server="true", exp=now_s() + 60),
    ):
        response = await http.post(CHECK, json=CHECK_BODY, headers=headers(tok))
        assert response.status_code == 201, response.text


async def test_anonymous_auth_is_not_allowed(http: httpx.AsyncClient) -> None:
    response = await http.post(CHECK, json=CHECK_BODY, headers={"Stream-Auth-Type": "anonymous"})
    assert (response.status_code, error_of(response)["code"]) == (403, 17)


async def test_user_tokens_only_reach_client_side_operations(http: httpx.AsyncClient) -> None:
    user = headers(token(user_id="alice"))
    response = await http.post(CHECK, json=CHECK_BODY, headers=user)
    assert (response.status_code, error_of(response)["code"]) == (403, 17)
    response = await http.post(
        "/api/v2/moderation/flag",
        json={"entity_type": "stream:user", "entity_id": "bob", "reason": "spam"},
        headers=user,
    )
    assert response.status_code == 201, response.text
    assert response.json()["item_id"]


# -- malformed requests -------------------------------------------------------------------


async def test_malformed_json(http: httpx.AsyncClient) -> None:
    response = await http.post(
        CHECK,
        content=b'{"entity_type": ',
        headers=headers(**{"Content-Type": "application/json"}),
    )
    body = error_of(response)
    assert (response.status_code, body["code"]) == (400, 4)
    assert "not valid JSON" in body["message"]


@pytest.mark.parametrize("depth", [65, 100_000])
async def test_deeply_nested_json(http: httpx.AsyncClient, depth: int) -> None:
    custom = "[" * depth + "]" * depth
    content = ('{"entity_type": "x", "entity_id": "1", "custom": ' + custom + "}").encode()
    response = await http.post(
        "/api/v2/moderation/flag",
        content=content,
        headers=headers(**{"Content-Type": "application/json"}),
    )
    body = error_of(response)
    assert (response.status_code, body["code"]) == (400, 4)
    assert "nested" in body["message"]


async def test_invalid_utf8(http: httpx.AsyncClient) -> None:
    response = await http.post(
        CHECK, content=b'{"a": "\xff"}', headers=headers(**{"Content-Type": "application/json"})
    )
    assert (response.status_code, error_of(response)["code"]) == (400, 4)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_wrong_content_type(http: httpx.AsyncClient, content_type: str) -> None:
    response = await http.post(
        CHECK,
        content=json.dumps(CHECK_BODY).encode(),
        headers=headers(**({"Content-Type": content_type} if content_type else {})),
    )
    assert (response.status_code, error_of(response)["code"]) == (415, 4)


@pytest.mark.parametrize("body", [[], "text", 3, None])
async def test_body_must_be_an_object(http: httpx.AsyncClient, body: Any) -> None:
    response = await http.post(CHECK, json=body, headers=headers())
    assert (response.status_code, error_of(response)["code"]) == (400, 4)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entity_id": None}, "entity_id"),
        ({"entity_id": 5}, "entity_id"),
        ({"moderation_payload": {"texts": [1]}}, "moderation_payload.texts[]"),
        ({"moderation_payload": {"images": ["x"] * 31}}, "moderation_payload.images"),
        ({"test_mode": "yes"}, "test_mode"),
    ],
)
async def test_invalid_fields_are_named(
    http: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**CHECK_BODY, **change}.items() if v is not None}
    response = await http.post(CHECK, json=body, headers=headers())
    error = error_of(response)
    assert (response.status_code, error["code"]) == (400, 4)
    assert field in error["exception_fields"], error
    assert error["message"].startswith("Check failed with error:")


async def test_missing_required_field(http: httpx.AsyncClient) -> None:
    body = {k: v for k, v in CHECK_BODY.items() if k != "entity_creator_id"}
    error = error_of(await http.post(CHECK, json=body, headers=headers()))
    assert error["exception_fields"] == {"entity_creator_id": "required field is missing"}


async def test_unknown_enum_value(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v2/moderation/submit_action",
        json={"action_type": "obliterate", "item_id": "x"},
        headers=headers(),
    )
    error = error_of(response)
    assert response.status_code == 400
    assert "action_type" in error["exception_fields"]


async def test_query_parameters_are_validated(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v2/moderation/unban", json={}, headers=headers())
    assert error_of(response)["exception_fields"] == {
        "target_user_id": "required query parameter is missing"
    }
    response = await http.get(
        "/api/v2/moderation/action_config", params={"only_defaults": "maybe"}, headers=headers()
    )
    assert "only_defaults" in error_of(response)["exception_fields"]


async def test_limits_from_the_spec(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v2/moderation/review_queue", json={"limit": 101}, headers=headers()
    )
    assert error_of(response)["exception_fields"] == {"limit": "must be less than or equal to 100"}
    response = await http.post(
        "/api/v2/moderation/review_queue", json={"lock_duration": 2**63}, headers=headers()
    )
    assert error_of(response)["exception_fields"] == {"lock_duration": "does not fit in an int64"}
    response = await http.post(
        "/api/v2/moderation/action_config",
        json={"entity_type": "x", "action": "y", "order": 5, "icon": "i" * 256},
        headers=headers(),
    )
    assert error_of(response)["exception_fields"] == {"icon": "must be at most 255 characters long"}


async def test_a_required_body_must_be_sent(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v2/moderation/review_queue", headers=headers())
    assert error_of(response)["exception_fields"] == {"body": "required"}
    response = await http.post("/api/v2/moderation/review_queue", json={}, headers=headers())
    assert response.status_code == 201
    response = await http.post("/api/v1/moderation/dashboard/flag_feedback", headers=headers())
    assert response.status_code == 200  # the spec gives this one no body


async def test_null_reads_as_not_sent(http: httpx.AsyncClient) -> None:
    body = {**CHECK_BODY, "test_mode": None, "config": None, "moderation_payload": {"texts": None}}
    response = await http.post(CHECK, json=body, headers=headers())
    assert response.status_code == 201, response.text
    assert response.json()["recommended_action"] == "keep"


async def test_payload_too_big(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.app.max_body_bytes = 1000
    big = {**CHECK_BODY, "moderation_payload": {"texts": ["x" * 2000]}}
    response = await http.post(CHECK, json=big, headers=headers())
    assert (response.status_code, error_of(response)["code"]) == (413, 22)


async def test_gzip_request_body(http: httpx.AsyncClient) -> None:
    response = await http.post(
        CHECK,
        content=gzip.compress(json.dumps(CHECK_BODY).encode()),
        headers=headers(**{"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    )
    assert response.status_code == 201, response.text
    response = await http.post(
        CHECK,
        content=b"not gzip",
        headers=headers(**{"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    )
    assert response.status_code == 400


# -- routing -------------------------------------------------------------------------------


async def test_unknown_route(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v2/moderation/nope", headers=headers())
    assert (response.status_code, error_of(response)["code"]) == (404, 16)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "TRACE"])
async def test_wrong_method(http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, CHECK, headers=headers())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    error_of(response)


async def test_trailing_slash_and_aliases(http: httpx.AsyncClient) -> None:
    response = await http.post(CHECK + "/", json=CHECK_BODY, headers=headers())
    assert response.status_code == 201
    response = await http.get("/automod/v1/tasks", headers=headers())
    assert response.status_code == 200
    assert response.json()["tasks"] == []


async def test_unknown_ids_are_404(http: httpx.AsyncClient) -> None:
    for path in (
        "/api/v2/moderation/review_queue/missing",
        "/api/v2/moderation/appeal/missing",
        "/api/v2/moderation/moderation_rule/missing",
        "/api/v2/moderation/config/missing",
        "/api/v1/moderation/tasks/missing",
    ):
        response = await http.get(path, headers=headers())
        assert (response.status_code, error_of(response)["code"]) == (404, 16), path


# -- headers, rate limits, extras ---------------------------------------------------------


async def test_response_headers(http: httpx.AsyncClient) -> None:
    response = await http.post(CHECK, json=CHECK_BODY, headers=headers())
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-request-id"]
    assert int(response.headers["x-ratelimit-limit"]) > 0
    assert int(response.headers["x-ratelimit-remaining"]) >= 0
    assert int(response.headers["x-ratelimit-reset"]) > now_s() - 1
    assert response.json()["duration"].endswith("ms")


async def test_rate_limit() -> None:
    emu = Emulator(KEY, SECRET, rate_limit=2)
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url="http://e", params={"api_key": KEY}
    ) as client:
        statuses = []
        for _ in range(3):
            response = await client.get("/api/v1/moderation/tasks", headers=headers())
            statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    body = error_of(response)
    assert body["code"] == 9
    assert body["unrecoverable"] is False
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-ratelimit-remaining"] == "0"


async def test_large_responses_are_gzipped_on_request(http: httpx.AsyncClient) -> None:
    for index in range(10):
        await http.post("/api/v2/moderation/config", json={"key": f"k{index}"}, headers=headers())
    response = await http.post(
        "/api/v2/moderation/configs", json={}, headers=headers(**{"Accept-Encoding": "gzip"})
    )
    assert response.status_code == 201
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["configs"]) == 11


async def test_openapi_and_health(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    assert spec["servers"][0]["url"] == "http://emulator"
    created = spec["components"]["schemas"]["ConfigResponse"]["properties"]["created_at"]
    assert {"type": "integer", "format": "int64"} in created["anyOf"]
    check = spec["paths"][CHECK]["post"]["responses"]
    assert {"201", "400", "401", "404", "429"} <= set(check)
    request = spec["components"]["schemas"]["CheckRequest"]["properties"]
    assert request["config_key"]["nullable"] is True
    assert request["moderation_payload"]["allOf"] == [
        {"$ref": "#/components/schemas/ModerationPayload"}
    ]
    assert "nullable" not in request["entity_id"]
    health = (await http.get("/_emulator/health")).json()
    assert health["status"] == "ok"


async def test_admin_endpoints(emu: Emulator, http: httpx.AsyncClient) -> None:
    response = await http.put(
        "/_emulator/blocklists/brands", json={"words": ["acme"]}, headers=headers()
    )
    assert response.status_code == 200
    assert emu.backend.blocklists["brands"] == ("acme",)
    response = await http.put("/_emulator/blocklists/x", json={"words": 1}, headers=headers())
    assert error_of(response)["code"] == 4
    response = await http.post("/_emulator/reset", headers=headers(token(user_id="u")))
    assert response.status_code == 403
    response = await http.post("/_emulator/reset", headers=headers())
    assert response.status_code == 200
    assert emu.state.configs == {}


async def test_internal_errors_are_500_with_the_error_body(
    emu: Emulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setitem(emu.app._handlers, "check", broken)
    response = await http.post(CHECK, json=CHECK_BODY, headers=headers())
    body = error_of(response)
    assert (response.status_code, body["code"], body["unrecoverable"]) == (500, -1, False)


# -- a real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator(KEY, SECRET)
    with emulator.serve() as url:
        yield emulator, url


def test_served_emulator_with_plain_http_and_hand_made_jwt(served: tuple[Emulator, str]) -> None:
    emulator, url = served
    auth = {"Authorization": token(server=True), "Stream-Auth-Type": "jwt"}
    with httpx.Client(base_url=url, params={"api_key": KEY}, headers=auth) as client:
        config = {
            "key": "served",
            "ai_text_config": {"rules": [{"label": "SPAM", "action": "flag"}]},
        }
        assert client.post("/api/v2/moderation/config", json=config).status_code == 201
        raw = json.dumps(
            {
                "entity_type": "stream:chat:v1:message",
                "entity_id": "served-1",
                "entity_creator_id": "u1",
                "moderation_payload": {"texts": ["Buy now, limited time offer!"]},
                "config_key": "served",
            }
        )
        response = client.post(CHECK, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 201
        data = response.json()
        assert data["recommended_action"] == "flag"
        assert isinstance(data["item"]["created_at"], int)
        bad = client.post(CHECK, content=raw, headers={"Authorization": token("nope" * 10)})
        assert (bad.status_code, bad.json()["code"]) == (401, 43)
        assert client.get("/openapi.json").json()["servers"][0]["url"] == url
    assert emulator.state.items
