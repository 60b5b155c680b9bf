"""Short examples for the docstrings of the key methods (the async form; the blocking
client's docstring shows the same without ``await``).

Each runs as written in ``tests/examples/test_docstring_examples.py``, against the emulator, with
``client`` and an ``item_id`` (a review queue item) defined, and user-456 banned (so that
there is a ban to appeal): keep them to what a reader
can copy, a call and how its answer is read.
"""

from __future__ import annotations

__all__ = ["EXAMPLES", "sync_form"]

EXAMPLES: dict[str, str] = {
    "check": """
response = await client.moderation.check(
    entity_type="stream:chat:v1:message",
    entity_id="message-123",
    entity_creator_id="user-456",
    moderation_payload={"texts": ["Hello, this is a test message"]},
    config_key="my_config",
)
if response.data.recommended_action != "keep" and response.data.item is not None:
    print("review queue item", response.data.item.id)
""",
    "upsert_config": """
await client.moderation.upsert_config(
    key="my_config",
    ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
    block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
)
""",
    "query_review_queue": """
page = await client.moderation.query_review_queue(
    filter={"reviewed": False},
    sort=[{"field": "created_at", "direction": -1}],
    limit=20,
)
for item in page.data.items:
    print(item.id, item.entity_id, item.recommended_action)
""",
    "submit_action": """
await client.moderation.submit_action(
    action_type="mark_reviewed", item_id=item_id, user_id="moderator-1"
)
""",
    "flag": """
response = await client.moderation.flag(
    entity_type="stream:user", entity_id="user-456", reason="spam", user_id="moderator-1"
)
print("review queue item", response.data.item_id)
""",
    "ban": """
await client.moderation.ban(
    target_user_id="user-456", banned_by_id="moderator-1", reason="spam", timeout=60
)  # timeout: minutes
""",
    "mute": """
response = await client.moderation.mute(target_ids=["user-456"], user_id="user-789")
print(response.data.non_existing_users)
""",
    "appeal": """
response = await client.moderation.appeal(
    entity_type="stream:user",
    entity_id="user-456",
    appeal_reason="I was not spamming",
    user_id="user-456",
)
print("appeal", response.data.appeal_id)
""",
    "query_moderation_logs": """
page = await client.moderation.query_moderation_logs(
    filter={"target_user_id": "user-456"}, limit=50
)
for log in page.data.logs:
    print(log.type, log.user_id, log.created_at)
""",
}


def sync_form(example: str) -> str:
    """The example for the blocking client: the same calls without ``await``."""
    return example.replace("await ", "").replace("async for ", "for ")
