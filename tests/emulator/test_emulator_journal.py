"""The request journal: every request and its answer, bounded, with secrets masked, read
from the in-process object and from ``GET /_emulator/requests`` (admin credentials)."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from stream_moderation import NotFoundError
from stream_moderation.testing import Emulator
from tests.support.emulator_support import KEY, SECRET, async_client, headers, token

pytestmark = pytest.mark.anyio

CONTRACT_KEYS = {
    "method",
    "path",
    "status",
    "request_id",
    "started_at",
    "duration_ms",
    "request_body",
    "response_body",
}


def raw_client(emu: Emulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=emu.transport(), base_url="http://e", params={"api_key": KEY}
    )


async def test_each_request_is_recorded_with_its_answer() -> None:
    emu = Emulator(KEY, SECRET)
    m = async_client(emu).moderation
    checked = await m.check(
        entity_type="stream:chat:v1:message",
        entity_id="m1",
        entity_creator_id="u1",
        moderation_payload={"texts": ["hello"]},
    )
    with pytest.raises(NotFoundError):
        await m.get_config(key="nope")
    entries = emu.requests()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/v2/moderation/check", 201),
        ("GET", "/api/v2/moderation/config/nope", 404),
    ]
    first = entries[0]
    assert set(first) >= CONTRACT_KEYS
    assert first["request_body"]["entity_id"] == "m1"
    assert first["response_body"]["recommended_action"] == checked.data.recommended_action
    assert first["request_id"] == checked.headers["x-request-id"]
    assert first["started_at"].endswith("Z") and first["duration_ms"] >= 0
    assert entries[1]["response_body"]["code"] == 16
    assert emu.requests(limit=1) == entries[-1:]
    assert emu.clear_requests() == 2 and emu.requests() == []


async def test_secrets_never_reach_the_journal() -> None:
    emu = Emulator(KEY, SECRET)
    tok = token()
    async with raw_client(emu) as raw:
        await raw.post(
            "/api/v2/moderation/flag",
            json={
                "entity_type": "stream:user",
                "entity_id": "u2",
                "user_id": "u1",
                "reason": f"leaked {tok} and {SECRET}",
                "custom": {"api_secret": SECRET, "auth_token": "abc", "nested": [{"token": "x"}]},
            },
            headers=headers(tok),
        )
    dumped = json.dumps(emu.requests())
    assert tok not in dumped and SECRET not in dumped
    body = emu.requests()[0]["request_body"]
    assert body["custom"] == {
        "api_secret": "***",
        "auth_token": "***",
        "nested": [{"token": "***"}],
    }
    assert body["reason"] == "leaked *** and ***"
    assert "authorization" not in dumped.lower()


async def test_the_journal_is_bounded_and_bodies_are_capped() -> None:
    emu = Emulator(KEY, SECRET, journal_limit=3, journal_body_limit=64)
    m = async_client(emu).moderation
    for n in range(5):
        await m.upsert_config(key=f"c{n}")
    entries = emu.requests()
    assert [e["request_body"]["key"] for e in entries] == ["c2", "c3", "c4"]
    assert all(e["response_body_truncated"] for e in entries)
    assert all(isinstance(e["response_body"], str) for e in entries)
    assert all(len(e["response_body"]) <= 64 for e in entries)
    with pytest.raises(ValueError, match="journal_limit"):
        Emulator(KEY, SECRET, journal_limit=0)


async def test_gzip_request_bodies_are_recorded_inflated() -> None:
    emu = Emulator(KEY, SECRET)
    body = gzip.compress(json.dumps({"key": "zipped"}).encode())
    async with raw_client(emu) as raw:
        answer = await raw.post(
            "/api/v2/moderation/config",
            content=body,
            headers={**headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    assert answer.status_code == 201
    assert emu.requests()[0]["request_body"] == {"key": "zipped"}


async def test_the_admin_endpoint_reads_and_clears_it_with_the_emulators_credentials() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await raw.get("/api/v2/moderation/config/missing", headers=headers())
        listed = await raw.get("/_emulator/requests", headers=headers())
        assert listed.status_code == 200
        requests = listed.json()["requests"]
        assert [r["path"] for r in requests] == ["/api/v2/moderation/config/missing"]
        assert set(requests[0]) >= CONTRACT_KEYS
        # admin calls are not recorded: reading the journal does not fill it
        assert (
            len((await raw.get("/_emulator/requests", headers=headers())).json()["requests"]) == 1
        )
        no_token = await raw.get("/_emulator/requests")
        assert no_token.status_code == 401
        bad_key = await raw.get(
            "/_emulator/requests", params={"api_key": "other"}, headers=headers()
        )
        assert bad_key.status_code == 401
        wrong_secret = await raw.get(
            "/_emulator/requests", headers=headers(token("another-secret-of-enough-length-xx"))
        )
        assert wrong_secret.status_code == 401
        user = await raw.get("/_emulator/requests", headers=headers(token(user_id="ann")))
        assert user.status_code == 403
        cleared = await raw.delete("/_emulator/requests", headers=headers())
        assert cleared.json()["cleared"] == 1
        assert (await raw.get("/_emulator/requests", headers=headers())).json()["requests"] == []
