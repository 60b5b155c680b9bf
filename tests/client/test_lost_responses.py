"""Lost responses: the request was processed, then its answer never arrived (the
connection closed, or the read timed out). Over real sockets to the served emulator with
the lost-response fault (injected after the handler ran), one case per class of
operation: exactly one side effect on the emulator, or a "may have been processed" error.

The class each case expects is read from the operation's generated metadata
(``Operation.resendable``), so that a spec update that reclassifies an operation fails
here instead of passing by a list kept in the test."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from stream_moderation import AsyncStream, ResponseLostError
from stream_moderation.testing import LostResponse
from tests.support.fault_support import (
    KEY,
    MESSAGE,
    POLICY,
    SECRET,
    Served,
    entity_id,
    fast_backoff,
    served_emulator,
)

pytestmark = pytest.mark.anyio
SPAM = {"texts": ["buy now, limited offer, click here"]}


def resendable(operation: str) -> bool:
    module = importlib.import_module(f"stream_moderation._generated.api.moderation.{operation}")
    return bool(module.OPERATION.resendable)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_emulator() as served:
        yield served


@pytest.fixture(params=[0.0, 0.5], ids=["connection-closed", "read-timed-out"])
def lost(request: pytest.FixtureRequest) -> LostResponse:
    return LostResponse(seconds=request.param)


def client(served: Served, **options: Any) -> AsyncStream:
    sdk = AsyncStream(KEY, SECRET, base_url=served.url, **options)
    fast_backoff(sdk)
    return sdk


async def lose_next(served: Served, operation: str, lost: LostResponse) -> None:
    served.faults.clear()
    served.faults.reset_counts()
    served.faults.inject(lost, times=1, operations=[operation])


async def test_the_classes_the_cases_rely_on() -> None:
    """Reads and idempotent writes may be resent; the moderation actions may not."""
    assert resendable("query_review_queue") and resendable("get_review_queue_item")
    assert resendable("upsert_config") and resendable("delete_config")
    for operation in ("check", "flag", "submit_action", "ban", "appeal", "custom_check"):
        assert not resendable(operation), operation


async def test_a_lost_read_is_resent(served: Served, lost: LostResponse) -> None:
    async with client(served, timeout=0.25) as sdk:
        await sdk.moderation.upsert_config(**POLICY)
        entity = entity_id()
        await sdk.moderation.check(
            entity_type=MESSAGE, entity_id=entity, entity_creator_id="a",
            moderation_payload=SPAM, config_key="policy",
        )  # fmt: skip
        await lose_next(served, "query_review_queue", lost)
        response = await sdk.moderation.query_review_queue(filter={"entity_id": entity})
    assert len(response.data.items) == 1
    assert served.faults.attempts["query_review_queue"] == 2


async def test_a_lost_idempotent_write_is_resent_and_leaves_one_state(
    served: Served, lost: LostResponse
) -> None:
    key = f"policy-{entity_id()}"
    async with client(served, timeout=0.25) as sdk:
        await lose_next(served, "upsert_config", lost)
        response = await sdk.moderation.upsert_config(**{**POLICY, "key": key})
        configs = await sdk.moderation.query_moderation_configs(filter={"key": key})
    assert response.data.config is not None and response.data.config.key == key
    assert served.faults.attempts["upsert_config"] == 2  # processed twice, one config
    assert [c.key for c in configs.data.configs] == [key]


async def test_a_lost_flag_is_not_resent(served: Served, lost: LostResponse) -> None:
    state = served.emulator.state
    entity = entity_id()
    async with client(served, timeout=0.25) as sdk:
        await lose_next(served, "flag", lost)
        with pytest.raises(ResponseLostError) as caught:
            await sdk.moderation.flag(
                entity_type=MESSAGE, entity_id=entity, entity_creator_id="a",
                reason="spam", user_id="reporter",
            )  # fmt: skip
    assert caught.value.may_have_been_processed and caught.value.attempts == 1
    assert "flag may have been processed" in str(caught.value)
    assert len([f for f in state.flags if f.entity_id == entity]) == 1  # was: 2


async def test_a_lost_ban_action_is_not_resent(served: Served, lost: LostResponse) -> None:
    state = served.emulator.state
    target = f"user-{entity_id()}"
    async with client(served, timeout=0.25) as sdk:
        await lose_next(served, "submit_action", lost)
        with pytest.raises(ResponseLostError):
            await sdk.moderation.submit_action(
                action_type="ban", ban={"target_user_id": target, "reason": "spam"},
                user_id="moderator",
            )  # fmt: skip
    assert len([b for b in state.bans if b.target_user_id == target]) == 1
    logs = [log for log in state.logs if log.type == "ban" and log.target_user_id == target]
    assert len(logs) == 1  # was: 2 ban logs


async def test_a_lost_appeal_is_not_resent(served: Served, lost: LostResponse) -> None:
    entity = entity_id()
    async with client(served, timeout=0.25) as sdk:
        await sdk.moderation.upsert_config(**POLICY)
        await sdk.moderation.check(
            entity_type=MESSAGE, entity_id=entity, entity_creator_id="author",
            moderation_payload=SPAM, config_key="policy",
        )  # fmt: skip
        await lose_next(served, "appeal", lost)
        with pytest.raises(ResponseLostError):  # was: BadRequestError "already pending"
            await sdk.moderation.appeal(
                entity_type=MESSAGE, entity_id=entity, appeal_reason="not spam",
                user_id="author",
            )  # fmt: skip
        appeals = await sdk.moderation.query_appeals(filter={"entity_id": entity})
    assert len(appeals.data.items) == 1


async def test_a_lost_check_is_not_resent(served: Served, lost: LostResponse) -> None:
    state = served.emulator.state
    entity = entity_id()
    async with client(served, timeout=0.25) as sdk:
        await sdk.moderation.upsert_config(**POLICY)
        await lose_next(served, "check", lost)
        with pytest.raises(ResponseLostError):
            await sdk.moderation.check(
                entity_type=MESSAGE, entity_id=entity, entity_creator_id="a",
                moderation_payload=SPAM, config_key="policy",
            )  # fmt: skip
    assert state.check_counts[entity] == 1
    assert len([f for f in state.flags if f.entity_id == entity]) == 1


BOUNCE_POLICY: dict[str, Any] = {
    "key": "bounce",
    "ai_text_config": {"rules": [{"label": "SPAM", "action": "bounce_flag"}]},
}


async def test_a_resent_check_does_not_double_what_a_moderator_sees(
    served: Served, lost: LostResponse
) -> None:
    """With ``retry_unsafe=True`` a lost check is sent again; the emulator answers an
    identical re-check of the same entity as the first: the same answer (a bounce rule
    does not turn into its second-send action), one review item, one flag."""
    state = served.emulator.state
    entity = entity_id()
    check: dict[str, Any] = {
        "entity_type": MESSAGE, "entity_id": entity, "entity_creator_id": f"bouncer-{entity}",
        "moderation_payload": SPAM, "config_key": "bounce",
    }  # fmt: skip
    async with client(served, timeout=0.25, retry_unsafe=True) as sdk:
        await sdk.moderation.upsert_config(**BOUNCE_POLICY)
        await lose_next(served, "check", lost)
        resent = await sdk.moderation.check(**check)
        assert served.faults.attempts["check"] == 2 and state.check_counts[entity] == 2
        again = await sdk.moderation.check(**check)  # the caller sends it once more
        other = await sdk.moderation.check(**{**check, "entity_id": entity_id()})
    first = state.last_checks[(MESSAGE, entity)][1]
    assert first["recommended_action"] == "remove"  # bounced: not posted
    assert resent.data.recommended_action == "remove"  # was: "flag"
    assert again.data.recommended_action == "remove"
    assert resent.data.item is not None and again.data.item is not None
    assert resent.data.item.id == again.data.item.id == first["item_id"]
    assert len([f for f in state.flags if f.entity_id == entity]) == 1
    assert len([i for i in state.items.values() if i.entity_id == entity]) == 1
    # the same content in another message is a resend by the user: the bounce rule's
    # second action applies (the first send bounced)
    assert other.data.recommended_action == "flag"
