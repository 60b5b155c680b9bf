"""The getting-started flow of Stream's moderation docs, with stream-moderation.

    make demo            # or: python examples/getting_started.py

Creates a policy, checks a clean, a spammy and an abusive message, lists the review queue
and acts on an item. Runs against the in-process emulator (no network, no account) unless
STREAM_API_KEY and STREAM_API_SECRET are set, in which case it uses Stream's API.
"""

from __future__ import annotations

import asyncio
import os
import uuid

from stream_moderation import AsyncStream
from stream_moderation.models import ModerationPayload

MESSAGES = [
    ("clean", "Hello, this is a test message"),
    ("spammy", "Buy now! Click here for free money"),
    ("abusive", "You are an idiot and a fucking loser"),
]


def connect() -> tuple[AsyncStream, str]:
    key, secret = os.environ.get("STREAM_API_KEY"), os.environ.get("STREAM_API_SECRET")
    if key and secret:
        return AsyncStream(api_key=key, api_secret=secret), "Stream's API (STREAM_API_KEY is set)"
    from stream_moderation.testing import Emulator

    where = "the in-process emulator (set STREAM_API_KEY and STREAM_API_SECRET for the real API)"
    return Emulator().client(), where


async def main() -> None:
    client, where = connect()
    print(f"Getting started, against {where}\n")
    run = uuid.uuid4().hex[:8]
    creator = f"user-{run}"
    async with client:
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
        print("Policy 'my_config': SPAM -> flag, HARASSMENT -> remove, profanity_en -> remove\n")

        for label, text in MESSAGES:
            response = await client.moderation.check(
                entity_type="stream:chat:v1:message",
                entity_id=f"message-{run}-{label}",
                entity_creator_id=creator,
                moderation_payload=ModerationPayload(texts=[text]),
                config_key="my_config",
            )
            print(f"  {label:8} {text!r:40} -> {response.data.recommended_action}")

        queue = await client.moderation.query_review_queue(
            filter={"entity_creator_id": creator, "reviewed": False},
            sort=[{"field": "created_at", "direction": -1}],
            limit=10,
        )
        print(f"\nReview queue ({len(queue.data.items)} unreviewed items):")
        for item in queue.data.items:
            labels = sorted({label for flag in item.flags for label in flag.labels or []})
            print(
                f"  {item.id}  {item.entity_id:28} {item.recommended_action:7} "
                f"labels={','.join(labels)}"
            )
        if not queue.data.items:
            return

        target = queue.data.items[0]
        result = await client.moderation.submit_action(
            action_type="mark_reviewed", item_id=target.id, user_id="moderator-1"
        )
        item = result.data.item
        print(
            f"\nmark_reviewed on {target.entity_id}: latest_moderator_action="
            f"{item.latest_moderator_action}, reviewed_by={item.reviewed_by}, "
            f"reviewed_at={item.reviewed_at}"
        )


if __name__ == "__main__":
    asyncio.run(main())
