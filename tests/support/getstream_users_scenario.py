"""A user-and-moderation scenario written the way Stream's docs write it, with Stream's
official ``getstream`` 7.0.0 SDK, against the served emulator. Run by
tests/emulator/test_getstream_sdk.py in ``.venv-getstream``: it imports getstream only.

    GETSTREAM_API_SECRET=... python tests/support/getstream_users_scenario.py BASE_URL API_KEY

Upsert users, set a chat policy, create a channel and send messages (moderated), check
content, flag a message, ban, mute, query banned users, block, query and update users,
delete a user (and wait for its task). Prints one line per step and exits 0; the first
error or unexpected answer exits 1 with the reason.
"""

from __future__ import annotations

import os
import sys
import traceback

from getstream import Stream
from getstream.models import (
    ChannelInput,
    ChannelMemberRequest,
    MessageRequest,
    ModerationPayload,
    QueryBannedUsersPayload,
    QueryUsersPayload,
    SortParamRequest,
    UpdateUserPartialRequest,
    UserRequest,
)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def main(base_url: str, api_key: str, api_secret: str) -> int:
    client = Stream(api_key=api_key, api_secret=api_secret, base_url=base_url)
    steps = 0

    def step(name: str) -> None:
        nonlocal steps
        steps += 1
        print(f"{name}: ok", flush=True)

    try:
        # users --------------------------------------------------------------------------
        upserted = client.upsert_users(
            UserRequest(id="john", name="John", role="user", custom={"country": "NL"}),
            UserRequest(id="jane", name="Jane"),
            UserRequest(id="moderator", name="Mo", role="admin"),
        )
        expect(set(upserted.data.users) == {"john", "jane", "moderator"}, "upsert_users")
        expect(upserted.data.users["john"].custom == {"country": "NL"}, "custom data")
        step("upsert_users")

        # a chat policy and a channel ----------------------------------------------------
        client.moderation.upsert_config(
            key="chat:messaging",
            ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
            block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
        )
        channel = client.chat.channel("messaging", "general")
        state = channel.get_or_create(
            data=ChannelInput(
                created_by_id="moderator",
                members=[
                    ChannelMemberRequest(user_id="john"),
                    ChannelMemberRequest(user_id="jane"),
                ],
            )
        )
        expect(state.data.channel.cid == "messaging:general", "get_or_create")
        step("get_or_create_channel")

        sent = channel.send_message(MessageRequest(text="hello all", user_id="john"))
        expect(sent.data.message.type == "regular", "a plain message")
        spam = channel.send_message(
            MessageRequest(text="buy now, limited time offer", user_id="john"),
            force_moderation=True,
        )
        expect(spam.data.message.moderation.action == "flag", "a flagged message")
        blocked = channel.send_message(
            MessageRequest(text="you bastard", user_id="john"), force_moderation=True
        )
        expect(blocked.data.message.type == "error", "a blocked message comes back as error")
        expect(blocked.data.message.moderation.action == "remove", "blocked: remove")
        step("send_message")
        got = client.chat.get_message(id=spam.data.message.id)
        expect(got.data.message.text == "buy now, limited time offer", "get_message")
        step("get_message")

        # check, flag, ban, mute --------------------------------------------------------
        checked = client.moderation.check(
            entity_type="stream:chat:v1:message",
            entity_id="external-message-1",
            entity_creator_id="jane",
            moderation_payload=ModerationPayload(texts=["click here for free money"]),
            config_key="chat:messaging",
        )
        expect(checked.data.recommended_action == "flag", "check flags spam")
        step("check")
        flagged = client.moderation.flag(
            entity_type="stream:chat:v1:message",
            entity_id=sent.data.message.id,
            entity_creator_id="john",
            reason="inappropriate",
            user_id="jane",
        )
        expect(bool(flagged.data.item_id), "flag answers the review queue item")
        step("flag")
        client.moderation.ban(
            target_user_id="john", banned_by_id="moderator", reason="spamming", timeout=60
        )
        step("ban")
        muted = client.moderation.mute(target_ids=["john", "nobody"], user_id="jane")
        expect([m.target.id for m in muted.data.mutes] == ["john"], "mute a known user")
        expect(muted.data.non_existing_users == ["nobody"], "mute an unknown user")
        step("mute")

        banned = client.chat.query_banned_users(
            payload=QueryBannedUsersPayload(filter_conditions={"user_id": "john"})
        )
        expect([b.user.id for b in banned.data.bans] == ["john"], "query_banned_users")
        expect(banned.data.bans[0].reason == "spamming", "the ban's reason")
        step("query_banned_users")

        # blocks, queries, updates -------------------------------------------------------
        client.block_users(blocked_user_id="john", user_id="jane")
        blocks = client.get_blocked_users(user_id="jane")
        expect([b.blocked_user_id for b in blocks.data.blocks] == ["john"], "get_blocked_users")
        client.unblock_users(blocked_user_id="john", user_id="jane")
        step("block_users")
        queried = client.query_users(
            QueryUsersPayload(
                filter_conditions={"id": {"$in": ["john", "jane"]}},
                sort=[SortParamRequest(field="id", direction=1)],
            )
        )
        expect([u.id for u in queried.data.users] == ["jane", "john"], "query_users")
        expect(queried.data.users[1].banned, "john is banned")
        step("query_users")
        updated = client.update_users_partial(
            [UpdateUserPartialRequest(id="jane", set={"name": "Janet", "color": "blue"})]
        )
        expect(updated.data.users["jane"].name == "Janet", "update_users_partial")
        step("update_users_partial")

        # delete the user, with their messages --------------------------------------------
        deleted = client.delete_users(
            user_ids=["john"], user="hard", messages="hard", conversations="hard"
        )
        task = client.wait_for_task(deleted.data.task_id, poll_interval=0.05, timeout=10)
        expect(task.data.status == "completed", "the delete task completes")
        step("delete_users")
        gone = client.query_users(QueryUsersPayload(filter_conditions={"id": "john"}))
        expect(gone.data.users == [], "a deleted user is gone")
        banned = client.chat.query_banned_users(
            payload=QueryBannedUsersPayload(filter_conditions={"user_id": "john"})
        )
        expect(banned.data.bans == [], "and their bans")
        step("after delete")
    except Exception:  # noqa: BLE001 - any failure is reported whole
        traceback.print_exc()
        return 1
    print(f"all {steps} steps completed", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], os.environ["GETSTREAM_API_SECRET"]))
