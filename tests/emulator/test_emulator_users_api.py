"""Stream's users API as the emulator serves it (beyond the moderation spec): upsert,
partial update, query, delete (a task), block/unblock and the banned-users query, and how
the moderation endpoints see those users. Shapes: the moderation spec's UserResponse
(checked through the generated model, strict) in getstream 7.0.0's envelopes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stream_moderation import models
from stream_moderation.testing import Emulator
from tests.support.emulator_support import (
    KEY,
    SECRET,
    async_client,
    error_of,
    raw_client,
    token,
)

pytestmark = pytest.mark.anyio


def user_response(body: dict[str, Any]) -> Any:
    """A FullUserResponse is a UserResponse plus counters: the spec's model reads it."""
    return models.UserResponse.from_dict(body, strict=True)


def payload(**fields: Any) -> dict[str, str]:
    return {"payload": json.dumps(fields)}


async def upsert(raw: httpx.AsyncClient, *users: dict[str, Any]) -> httpx.Response:
    return await raw.post("/api/v2/users", json={"users": {u["id"]: u for u in users}})


async def test_upsert_creates_and_replaces_users_known_to_moderation() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        created = await upsert(
            raw,
            {"id": "ann", "name": "Ann", "role": "admin", "teams": ["red"], "custom": {"a": 1}},
            {"id": "bob"},
        )
        assert created.status_code == 201
        users = created.json()["users"]
        assert set(users) == {"ann", "bob"}
        ann = user_response(users["ann"])
        assert (ann.name, ann.role, ann.teams, ann.custom) == ("Ann", "admin", ["red"], {"a": 1})
        assert users["ann"]["mutes"] == [] and users["ann"]["total_unread_count"] == 0
        assert created.json()["membership_deletion_task_id"] == ""
        # an upsert replaces the user's data
        again = await upsert(raw, {"id": "ann", "name": "Annie"})
        replaced = again.json()["users"]["ann"]
        assert (replaced["name"], replaced["role"], replaced["teams"]) == ("Annie", "user", [])
        assert replaced["created_at"] == users["ann"]["created_at"]
    muted = await async_client(emu).moderation.mute(target_ids=["ann", "bob", "cat"], user_id="bob")
    assert [m.target.id for m in muted.data.mutes] == ["ann", "bob"]
    assert muted.data.non_existing_users == ["cat"]


@pytest.mark.parametrize(
    ("users", "field"),
    [
        ({"ann": {"id": "ann", "teams": "red"}}, "users.ann.teams"),
        ({"ann": {"id": "ann", "name": 7}}, "users.ann.name"),
        ({"ann": {"id": "bob"}}, "users.ann.id"),
        ({"ann": {"id": "ann", "colour": "red"}}, "users.ann.colour"),
        ({"ann": "not an object"}, "users.ann"),
        ({}, "users"),
    ],
)
async def test_a_malformed_user_is_refused_naming_the_field(users: Any, field: str) -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        answer = await raw.post("/api/v2/users", json={"users": users})
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == 4 and field in error["exception_fields"]
    assert error["message"].startswith("UpdateUsers failed with error:")
    assert emu.state.users == {}


async def test_partial_update_sets_and_unsets_fields_and_custom_data() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await upsert(raw, {"id": "ann", "name": "Ann", "role": "admin", "custom": {"x": 1}})
        patched = await raw.patch(
            "/api/v2/users",
            json={"users": [{"id": "ann", "set": {"name": "A", "color": "red"}, "unset": ["x"]}]},
        )
        assert patched.status_code == 200
        ann = patched.json()["users"]["ann"]
        assert (ann["name"], ann["role"], ann["custom"]) == ("A", "admin", {"color": "red"})
        missing = await raw.patch("/api/v2/users", json={"users": [{"id": "nobody", "set": {}}]})
        assert missing.status_code == 404 and error_of(missing)["code"] == 16


async def test_query_users_filters_sorts_and_pages() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        for n in range(5):
            await upsert(raw, {"id": f"u{n}", "role": "admin" if n % 2 else "user"})
        admins = await raw.get(
            "/api/v2/users",
            params=payload(
                filter_conditions={"role": "admin"}, sort=[{"field": "id", "direction": 1}]
            ),
        )
        assert [u["id"] for u in admins.json()["users"]] == ["u1", "u3"]
        paged = await raw.get(
            "/api/v2/users",
            params=payload(
                filter_conditions={}, sort=[{"field": "id", "direction": -1}], limit=2, offset=1
            ),
        )
        assert [u["id"] for u in paged.json()["users"]] == ["u3", "u2"]
        for user in paged.json()["users"]:
            user_response(user)
        bad = await raw.get("/api/v2/users", params={"payload": "{not json"})
        assert bad.status_code == 400 and "payload" in error_of(bad)["exception_fields"]
        unknown = await raw.get("/api/v2/users", params=payload(filter_conditions={"nope": 1}))
        assert unknown.status_code == 400
        assert (await raw.get("/api/v2/users")).status_code == 400


async def test_delete_users_answers_a_task_and_takes_their_data() -> None:
    emu = Emulator(KEY, SECRET)
    m = async_client(emu).moderation
    async with raw_client(emu) as raw:
        await upsert(raw, {"id": "ann"}, {"id": "bob", "name": "Bob"}, {"id": "mod"})
        await m.ban(target_user_id="bob", banned_by_id="mod")
        await m.mute(target_ids=["bob"], user_id="ann")
        soft = await raw.post("/api/v2/users/delete", json={"user_ids": ["ann"], "user": "pruning"})
        assert soft.status_code == 201
        task = await raw.get(f"/api/v2/tasks/{soft.json()['task_id']}")
        assert task.json()["status"] == "completed"
        assert task.json()["result"] == {"ann": {"status": "ok"}}
        assert emu.state.users["ann"].deleted_at is not None
        listed = await raw.get("/api/v2/users", params=payload(filter_conditions={}))
        assert sorted(u["id"] for u in listed.json()["users"]) == ["bob", "mod"]
        # hard needs messages and conversations hard too
        refused = await raw.post("/api/v2/users/delete", json={"user_ids": ["bob"], "user": "hard"})
        assert refused.status_code == 400 and "user" in error_of(refused)["exception_fields"]
        hard = await raw.post(
            "/api/v2/users/delete",
            json={
                "user_ids": ["bob", "ghost"],
                "user": "hard",
                "messages": "hard",
                "conversations": "hard",
            },
        )
        result = (await raw.get(f"/api/v2/tasks/{hard.json()['task_id']}")).json()["result"]
        assert result["bob"] == {"status": "ok"} and result["ghost"]["status"] == "error"
        assert "bob" not in emu.state.users
        assert emu.state.bans == [] and emu.state.mutes == {}
        banned = await raw.get(
            "/api/v2/chat/query_banned_users", params=payload(filter_conditions={})
        )
        assert banned.json()["bans"] == []
        assert (await raw.get("/api/v2/tasks/nope")).status_code == 404
        bad_mode = await raw.post(
            "/api/v2/users/delete", json={"user_ids": ["mod"], "messages": "everything"}
        )
        assert bad_mode.status_code == 400
    assert (await m.mute(target_ids=["bob"], user_id="mod")).data.non_existing_users == ["bob"]


async def test_block_unblock_and_list_blocks() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await upsert(raw, {"id": "ann"}, {"id": "bob"})
        blocked = await raw.post(
            "/api/v2/users/block", json={"blocked_user_id": "bob", "user_id": "ann"}
        )
        assert blocked.status_code == 201
        assert blocked.json()["blocked_by_user_id"] == "ann"
        listed = (await raw.get("/api/v2/users/block", params={"user_id": "ann"})).json()
        assert [b["blocked_user_id"] for b in listed["blocks"]] == ["bob"]
        user_response(listed["blocks"][0]["user"])
        assert listed["blocks"][0]["user"]["blocked_user_ids"] == ["bob"]
        unknown = await raw.post(
            "/api/v2/users/block", json={"blocked_user_id": "ghost", "user_id": "ann"}
        )
        assert unknown.status_code == 404
        await raw.post("/api/v2/users/unblock", json={"blocked_user_id": "bob", "user_id": "ann"})
        listed = (await raw.get("/api/v2/users/block", params={"user_id": "ann"})).json()
        assert listed["blocks"] == []
    # a user token blocks as its user
    async with raw_client(emu, token(user_id="bob")) as as_bob:
        mine = await as_bob.post("/api/v2/users/block", json={"blocked_user_id": "ann"})
        assert mine.json()["blocked_by_user_id"] == "bob"
        denied = await as_bob.post("/api/v2/users", json={"users": {"x": {"id": "x"}}})
        assert denied.status_code == 403


async def test_query_banned_users_lists_the_bans_with_their_users() -> None:
    emu = Emulator(KEY, SECRET)
    m = async_client(emu).moderation
    async with raw_client(emu) as raw:
        await upsert(raw, {"id": "mod"}, {"id": "bob"}, {"id": "eve"})
        await m.ban(target_user_id="bob", banned_by_id="mod", reason="spam", timeout=60)
        await m.ban(target_user_id="eve", banned_by_id="mod", channel_cid="messaging:general")
        bans = (
            await raw.get(
                "/api/v2/chat/query_banned_users",
                params=payload(filter_conditions={"user_id": "bob"}),
            )
        ).json()["bans"]
        assert len(bans) == 1
        assert bans[0]["user"]["id"] == "bob" and bans[0]["banned_by"]["id"] == "mod"
        assert bans[0]["reason"] == "spam" and "expires" in bans[0]
        user_response(bans[0]["user"])
        every = (
            await raw.get("/api/v2/chat/query_banned_users", params=payload(filter_conditions={}))
        ).json()["bans"]
        assert [b["user"]["id"] for b in every] == ["eve", "bob"]  # newest first


async def test_paths_not_served_are_refused_clearly() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        for method, path in [
            ("GET", "/api/v2/chat/channels"),
            ("POST", "/api/v2/users/deactivate"),
            ("POST", "/api/v2/video/call/default/x"),
        ]:
            answer = await raw.request(method, path)
            assert answer.status_code == 404, path
            assert answer.headers["x-stream-emulator"] == "not-served"
            assert "not emulated" in error_of(answer)["message"]
        wrong_method = await raw.put("/api/v2/users")
        assert wrong_method.status_code == 405
        assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "PATCH", "POST"}
