"""The chat surface message moderation uses: get-or-create a channel, send a message
(moderated by the channel's policy as Stream does), get and delete it, flag it through the
moderation API. Parts are checked against the moderation spec's models (strict)."""

from __future__ import annotations

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

CHANNEL = "/api/v2/chat/channels/messaging/general"


def message_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    message: dict[str, Any] = answer.json()["message"]
    models.MessageResponse.from_dict(message, strict=True)
    return message


async def setup(raw: httpx.AsyncClient, emu: Emulator) -> None:
    await async_client(emu).moderation.upsert_config(
        key="chat:messaging",
        ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
        block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
    )
    await raw.post("/api/v2/users", json={"users": {"ann": {"id": "ann"}, "bob": {"id": "bob"}}})
    created = await raw.post(
        f"{CHANNEL}/query",
        json={"data": {"created_by_id": "ann", "members": [{"user_id": "bob"}]}},
    )
    assert created.status_code == 201
    models.ChannelResponse.from_dict(created.json()["channel"], strict=True)


async def send(raw: httpx.AsyncClient, text: str, **extra: Any) -> dict[str, Any]:
    return message_of(
        await raw.post(f"{CHANNEL}/message", json={"message": {"text": text, **extra}, **{}})
    )


async def test_get_or_create_returns_the_same_channel() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await setup(raw, emu)
        again = (await raw.post(f"{CHANNEL}/query", json={})).json()
        assert again["channel"]["cid"] == "messaging:general"
        assert again["channel"]["created_by"]["id"] == "ann"
        assert [m["user_id"] for m in again["members"]] == ["ann", "bob"]
        for member in again["members"]:
            models.ChannelMemberResponse.from_dict(member, strict=True)
        assert again["messages"] == [] and again["pinned_messages"] == []
        nobody = await raw.post("/api/v2/chat/channels/messaging/other/query", json={})
        assert nobody.status_code == 400 and "data.created_by_id" in error_of(nobody)["message"]
        bad = await raw.post(
            "/api/v2/chat/channels/messaging/bad%20id/query", json={"data": {"created_by_id": "a"}}
        )
        assert bad.status_code == 400


async def test_a_message_is_moderated_by_the_channels_policy() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await setup(raw, emu)
        forced = {"force_moderation": True}
        fine = message_of(
            await raw.post(
                f"{CHANNEL}/message", json={"message": {"text": "hi", "user_id": "bob"}, **forced}
            )
        )
        assert fine["type"] == "regular" and "moderation" not in fine
        flagged = message_of(
            await raw.post(
                f"{CHANNEL}/message",
                json={"message": {"text": "buy now", "user_id": "bob"}, **forced},
            )
        )
        assert flagged["type"] == "regular" and flagged["text"] == "buy now"
        assert flagged["moderation"]["action"] == "flag"
        blocked = message_of(
            await raw.post(
                f"{CHANNEL}/message",
                json={"message": {"text": "you bastard", "user_id": "bob"}, **forced},
            )
        )
        assert blocked["type"] == "error"
        assert blocked["moderation"] == {"action": "remove", "original_text": "you bastard"}
        assert blocked["text"] != "you bastard"
        # both land in the review queue, as the message entities
        items = {i.entity_id: i for i in emu.state.items.values()}
        assert set(items) == {flagged["id"], blocked["id"]}
        assert items[flagged["id"]].entity_creator_id == "bob"
        assert items[flagged["id"]].channel_cid == "messaging:general"
        # server-side without force_moderation: not moderated (Stream's documented default)
        unchecked = message_of(
            await raw.post(
                f"{CHANNEL}/message", json={"message": {"text": "buy now", "user_id": "ann"}}
            )
        )
        assert "moderation" not in unchecked
        got = message_of(await raw.get(f"/api/v2/chat/messages/{blocked['id']}"))
        assert got["type"] == "error" and got["channel"]["cid"] == "messaging:general"
    # a user token's messages are moderated always
    async with raw_client(emu, token(user_id="bob")) as as_bob:
        own = message_of(
            await as_bob.post(f"{CHANNEL}/message", json={"message": {"text": "buy now"}})
        )
        assert own["user"]["id"] == "bob" and own["moderation"]["action"] == "flag"


async def test_flag_a_message_and_act_on_it() -> None:
    emu = Emulator(KEY, SECRET)
    m = async_client(emu).moderation
    async with raw_client(emu) as raw:
        await setup(raw, emu)
        sent = await send(raw, "meet me later", user_id="bob")
        flagged = await m.flag(
            entity_type="stream:chat:v1:message", entity_id=sent["id"], user_id="ann", reason="odd"
        )
        item = emu.state.items[flagged.data.item_id]
        assert item.entity_creator_id == "bob"
        assert item.moderation_payload == {"texts": ["meet me later"]}
        await m.submit_action(item_id=item.id, action_type="delete_message")
        deleted = message_of(await raw.get(f"/api/v2/chat/messages/{sent['id']}"))
        assert deleted["type"] == "deleted" and "deleted_at" in deleted


async def test_get_and_delete_a_message() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await setup(raw, emu)
        sent = await send(raw, "hello", user_id="bob", id="m-1")
        assert sent["id"] == "m-1" and sent["cid"] == "messaging:general"
        duplicate = await raw.post(
            f"{CHANNEL}/message", json={"message": {"text": "x", "user_id": "bob", "id": "m-1"}}
        )
        assert duplicate.status_code == 400
        soft = message_of(await raw.delete("/api/v2/chat/messages/m-1"))
        assert soft["type"] == "deleted"
        assert emu.state.entities[("stream:chat:v1:message", "m-1")].deleted == "soft"
        await send(raw, "again", user_id="bob", id="m-2")
        message_of(await raw.delete("/api/v2/chat/messages/m-2", params={"hard": "true"}))
        gone = await raw.get("/api/v2/chat/messages/m-2")
        assert gone.status_code == 404 and error_of(gone)["code"] == 16
        no_channel = await raw.post(
            "/api/v2/chat/channels/messaging/nope/message",
            json={"message": {"text": "x", "user_id": "bob"}},
        )
        assert no_channel.status_code == 404
        no_user = await raw.post(f"{CHANNEL}/message", json={"message": {"text": "x"}})
        assert no_user.status_code == 400 and "message.user_id" in error_of(no_user)["message"]


async def test_a_banned_user_cannot_send() -> None:
    emu = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        await setup(raw, emu)
        await async_client(emu).moderation.ban(target_user_id="bob", banned_by_id="ann")
        refused = await raw.post(
            f"{CHANNEL}/message", json={"message": {"text": "hi", "user_id": "bob"}}
        )
        assert refused.status_code == 400 and "banned" in error_of(refused)["message"]
