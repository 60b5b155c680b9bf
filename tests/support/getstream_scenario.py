"""Every method of Stream's official ``getstream`` SDK's ``client.moderation``, against the
served emulator. Run by tests/emulator/test_getstream_sdk.py in a virtualenv of its own
(``.venv-getstream``, built by the Makefile): it imports getstream only, never this project.

    GETSTREAM_API_SECRET=... python tests/support/getstream_scenario.py BASE_URL API_KEY OPERATIONS

Exits 0 after calling each method once, in an order that gives each something to act on,
and prints one line per call; any error (an exception of getstream, or a method of its
client this scenario does not call) exits 1 with the reason. OPERATIONS (comma-separated)
are those of the emulator's release: when getstream has methods beyond them (an older
release than getstream's), it exits 3 naming them, before calling anything.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from getstream import Stream
from getstream.models import (
    CustomCheckFlag,
    DeleteUserMessagesRequestPayload,
    EscalatePayload,
    FeedsModerationTemplateConfigPayload,
    MarkReviewedRequestPayload,
    ModerationPayload,
    PolicyTestRow,
    RejectAppealRequestPayload,
    RestoreActionRequestPayload,
)

MESSAGE = "stream:chat:v1:message"


def main(base_url: str, api_key: str, api_secret: str, operations: str) -> int:
    client = Stream(api_key, api_secret, base_url=base_url)
    m = client.moderation
    methods = {  # the API methods: those the moderation client classes define
        name
        for cls in type(m).__mro__
        if cls.__module__.startswith("getstream.moderation")
        for name, member in vars(cls).items()
        if not name.startswith("_") and callable(member)
    }
    beyond = sorted(methods - set(operations.split(",")))
    if beyond:
        print(f"the emulator's release lacks: {', '.join(beyond)}", file=sys.stderr)
        return 3
    called: list[str] = []

    def call(method: str, /, *args: Any, **kwargs: Any) -> Any:
        response = getattr(m, method)(*args, **kwargs)
        called.append(method)
        print(f"{method}: {response.status_code()}", flush=True)
        return response.data

    try:
        # policies ---------------------------------------------------------------------
        call(
            "upsert_config",
            key="chat",
            ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
            block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
        )
        call("get_config", "chat")
        call("query_moderation_configs", filter={"key": "chat"})
        call("upsert_config", key="scratch")
        call("delete_config", "scratch")

        # check, as Stream's own test suite does: without config_key -----------------------
        checked = call(
            "check",
            entity_type=MESSAGE,
            entity_id="msg-1",
            entity_creator_id="user-1",
            moderation_payload=ModerationPayload(texts=["buy now, limited time offer"]),
        )
        item_id = checked.item.id
        call(
            "check",
            entity_type=MESSAGE,
            entity_id="msg-2",
            entity_creator_id="user-2",
            moderation_payload=ModerationPayload(texts=["fuck this"]),
        )
        call(
            "custom_check",
            entity_type=MESSAGE,
            entity_id="msg-3",
            entity_creator_id="user-1",
            flags=[CustomCheckFlag(type="custom_check_text", labels=["MY_LABEL"])],
            moderation_payload={"texts": ["flagged by my model"]},
        )
        call("labels", content="send me your password")
        call("query_label_results")
        call("analyze", config_key="chat", texts={"title": "buy now", "body": "hello"})
        call("bulk_image_moderation", csv_file="https://example.com/images.csv")
        call("check_s3_access", s3_url="stream+s3://bucket/key.png")

        # review queue, saved queues, actions ------------------------------------------
        call("query_review_queue", filter={"reviewed": False}, limit=10)
        call("get_review_queue_item", item_id)
        queue = call("create_queue", name="inbox", type="operational_queue", filters={})
        call("list_queues")
        call("get_queue", queue.queue.id)
        call("update_queue", queue.queue.id, filters={"entity_id": "msg-1"})
        call("delete_queue", queue.queue.id)
        call(
            "submit_action",
            action_type="escalate",
            item_id=item_id,
            user_id="mod",
            escalate=EscalatePayload(priority="high", reason="legal"),
        )
        call(
            "submit_action",
            action_type="delete_user_messages",
            user_id="mod",
            delete_user_messages=DeleteUserMessagesRequestPayload(
                delete_messages="soft", entity_id="user-2"
            ),
        )

        # flags, users ---------------------------------------------------------------------
        call("flag", entity_type="stream:user", entity_id="user-2", user_id="reporter")
        call("query_moderation_flags", filter={"user_id": "reporter"})
        call("get_flag_count", entity_creator_id="user-1")
        call("ban", target_user_id="user-3", banned_by_id="mod", reason="spam", timeout=60)
        call("unban", target_user_id="user-3", unbanned_by_id="mod")
        call("mute", target_ids=["user-1"], user_id="user-2", timeout=10)
        call("unmute", target_ids=["user-1"], user_id="user-2")
        call("bypass", target_user_id="user-4", enabled=True)

        # appeals --------------------------------------------------------------------------
        call(
            "submit_action",
            action_type="mark_reviewed",
            item_id=item_id,
            user_id="mod",
            mark_reviewed=MarkReviewedRequestPayload(),
        )
        appeal = call(
            "appeal",
            entity_type=MESSAGE,
            entity_id="msg-1",
            appeal_reason="sorry",
            user_id="user-1",
        )
        call("get_appeal", appeal.appeal_id)
        call("query_appeals", filter={"status": "submitted"})
        call(
            "bulk_action_appeals",
            appeal_ids=[appeal.appeal_id],
            action_type="restore",
            restore=RestoreActionRequestPayload(decision_reason="fine"),
            user_id="mod",
        )
        second = call(
            "appeal",
            entity_type=MESSAGE,
            entity_id="msg-1",
            appeal_reason="again",
            user_id="user-1",
        )
        call(
            "submit_action",
            action_type="reject_appeal",
            appeal_id=second.appeal_id,
            reject_appeal=RejectAppealRequestPayload(decision_reason="no"),
        )

        # logs, rules, action configs, templates, feedback ---------------------------------
        call(
            "insert_action_log",
            action_type="external_ban",
            entity_type=MESSAGE,
            entity_id="msg-1",
            entity_creator_id="user-1",
        )
        call("query_moderation_logs", filter={"type": "external_ban"})
        rule = call(
            "upsert_moderation_rule",
            name="spammers",
            rule_type="user",
            config_keys=["chat"],
        )
        call("get_moderation_rule", rule.rule.id)
        call("query_moderation_rules")
        call("delete_moderation_rule", rule.rule.id)
        action = call("upsert_action_config", action="custom", entity_type=MESSAGE, order=3)
        call("get_action_config", entity_type=MESSAGE)
        bulk = call(
            "bulk_upsert_action_config",
            action_configs=[{"action": "ban", "entity_type": "stream:user", "order": 1}],
        )
        call("delete_action_config", action.action_config.id)
        call("bulk_delete_action_config", ids=[c.id for c in bulk.action_configs])
        call(
            "v2_upsert_template",
            name="default",
            config=FeedsModerationTemplateConfigPayload(data_types={"text": "ai_text"}),
        )
        call("v2_query_templates")
        call("v2_delete_template")
        call(
            "submit_moderation_feedback",
            message="not spam",
            reference="msg-1",
            published_at=datetime.now(UTC).isoformat(),
        )

        # policy tests, setup --------------------------------------------------------------
        made = call(
            "create_policy_test_set",
            name="regression",
            config_key="chat",
            rows=[PolicyTestRow(text="buy now", recommended_action="flag")],
        )
        run = call("start_policy_test_run", made.set.id)
        assert run.run.metrics.totals.passed == 1, run
        call("get_policy_test_run", run.run.id)
        call("list_policy_test_sets")
        call("get_policy_test_set", made.set.id)
        call("delete_policy_test_set", made.set.id)
        call("upsert_setup_session", current_step="configure", status="in_progress")
        call("get_setup_session")
    except Exception:  # noqa: BLE001 - the point is to report any failure of getstream
        traceback.print_exc()
        print(f"FAILED after: {', '.join(called)}", file=sys.stderr)
        return 1
    finally:
        client.close()
    missing = sorted(methods - set(called))
    if missing:
        print(f"methods of client.moderation not called: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"all {len(methods)} methods of getstream's client.moderation completed", flush=True)
    return 0


if __name__ == "__main__":
    base_url, api_key, operations = sys.argv[1:4]  # the secret is not on the command line
    sys.exit(main(base_url, api_key, os.environ["GETSTREAM_API_SECRET"], operations))
