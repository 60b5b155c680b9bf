"""Run by tests/codegen/test_releases.py inside a scratch copy regenerated from the constructed
release (codegen/releases.py): the new operation, fields, enum value and renamed schema, the
new required fields of the check response and the review queue item, the removed field,
operation and enum value, as a user of the SDK and of the emulator meets them. Prints what
it saw as JSON."""

from __future__ import annotations

import asyncio
import json
import typing
from typing import Any

from stream_moderation import ArgumentValueError, BadRequestError
from stream_moderation.models import (  # type: ignore[attr-defined]
    BanUserResponse,
    ModerationInsightsResponse,
    SubmitActionRequestActionType,
)
from stream_moderation.testing import Emulator


async def main() -> dict[str, Any]:
    emulator = Emulator()
    seen: dict[str, Any] = {"not_emulated": emulator.not_emulated}
    async with emulator.client(max_retries=0) as client:
        m = client.moderation
        insights = await m.get_moderation_insights(window="24h")
        assert isinstance(insights.data, ModerationInsightsResponse)
        seen["insights"] = {
            "status": insights.status_code,
            "header": insights.headers.get("x-stream-emulator"),
            "window": insights.data.window,
            "flagged_today": insights.data.flagged_today,
        }
        ban = await m.ban(target_user_id="u1", banned_by_id="mod")
        seen["ban_type"] = type(ban.data).__name__
        assert isinstance(ban.data, BanUserResponse)
        await m.upsert_config(
            key="chat", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
        )
        check = await m.check(
            entity_type="stream:chat:v1:message",
            entity_id="m1",
            entity_creator_id="u2",
            moderation_payload={"texts": ["buy now"]},
        )
        seen["check"] = check.data.recommended_action
        data, item = check.data, check.data.item
        assert item is not None
        seen["core_fields"] = {
            "decision_id": type(data.decision_id).__name__,
            "evaluated_at": type(data.evaluated_at).__name__,
            "risk_score": type(item.risk_score).__name__,
            "assignment": type(item.assignment).__name__,
            "assignment.assigned_at": type(item.assignment.assigned_at).__name__,
        }
        seen["removed_field_is_an_attribute"] = hasattr(item, "completed_at")
        seen["removed_operation_is_a_method"] = hasattr(m, "unmute")
        try:
            await m.submit_action(action_type="shadow_block", item_id=item.id)
        except ArgumentValueError as error:
            seen["removed_enum_value"] = str(error)
        reviewed = await m.submit_action(action_type="mark_reviewed", item_id=item.id)
        seen["removed_field_as_received"] = sorted(reviewed.data.item.additional_properties)
        rule = await m.upsert_moderation_rule(name="spammers", rule_type="user")
        seen["rule_priority"] = rule.data.rule.priority
        seen["quarantine_known"] = "quarantine" in typing.get_args(SubmitActionRequestActionType)
        try:
            await m.submit_action(action_type="quarantine", item_id=check.data.item.id)
        except BadRequestError as error:
            seen["quarantine"] = {"status": error.status_code, "fields": error.exception_fields}
    seen["filled_fields"] = emulator.filled_fields
    seen["not_emulated_calls"] = emulator.app.not_emulated_calls
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
