"""Run by tests/codegen/test_releases.py inside a scratch copy regenerated from the constructed
release (codegen/releases.py): the new operation, field, enum value and renamed schema, as
a user of the SDK and of the emulator meets them. Prints what it saw as JSON."""

from __future__ import annotations

import asyncio
import json
import typing
from typing import Any

from stream_moderation import BadRequestError
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
