"""Every operation of the spec, driven through the SDK against the emulator (async on asyncio
and trio, and the sync client), each response checked against its schema by the transport.

The operations are those of the generated release: a section runs when its operations are
in it. What the emulator answers with its spec-driven fallback, or fills from the schema,
is a gap: a failure for the default release, a warning for another (``report_gaps``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stream_moderation import AsyncStream, BadRequestError, NotFoundError, Timestamp
from stream_moderation._generated.api import OPERATIONS
from stream_moderation.models import ModerationPayload
from stream_moderation.testing import Emulator
from stream_moderation.testing._ops import load_handlers
from tests.support.emulator_support import KEY, SECRET, async_client, report_gaps, sync_client

pytestmark = pytest.mark.anyio

MESSAGE = "stream:chat:v1:message"
POLICY: dict[str, Any] = {
    "ai_text_config": {
        "rules": [
            {"label": "SPAM", "action": "flag"},
            {"label": "HARASSMENT", "action": "remove"},
        ]
    },
    "block_list_config": {"rules": [{"name": "profanity_en", "action": "remove"}]},
}


def has(*names: str) -> bool:
    """Whether the generated release has these operations."""
    return set(names) <= set(OPERATIONS)


def test_every_operation_has_a_handler() -> None:
    report_gaps("operations without a handler", set(OPERATIONS) - set(load_handlers()))


async def check(client: AsyncStream, entity_id: str, text: str, **extra: Any) -> Any:
    response = await client.moderation.check(
        entity_type=MESSAGE,
        entity_id=entity_id,
        entity_creator_id=extra.pop("creator", "author"),
        moderation_payload=ModerationPayload(texts=[text]),
        config_key=extra.pop("config_key", "policy"),
        **extra,
    )
    assert response.status_code == 201
    return response.data


Drive = Callable[[Emulator, AsyncStream], Awaitable[None]]
AREAS: dict[str, tuple[frozenset[str], Drive]] = {}


def area(*operations: str) -> Callable[[Drive], Drive]:
    """An area of the API and the operations its test drives (each runs on a new emulator
    holding the config "policy")."""

    def register(drive: Drive) -> Drive:
        AREAS[drive.__name__] = (frozenset(operations), drive)
        return drive

    return register


@area("upsert_config", "get_config", "query_moderation_configs", "delete_config")
async def configs(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    upserted = await m.upsert_config(key="policy", **POLICY)
    assert upserted.data.config.key == "policy"
    assert isinstance(upserted.data.config.created_at, Timestamp)
    await m.upsert_config(key="policy", team="team-a", **POLICY)
    assert (await m.get_config("policy", team="team-a")).data.config.team == "team-a"
    configs = await m.query_moderation_configs(filter={"key": "policy"})
    assert [c.team for c in configs.data.configs] == ["", "team-a"]
    await m.delete_config("policy", team="team-a")
    with pytest.raises(NotFoundError):
        await m.get_config("policy", team="team-a")


@area("check", "query_review_queue", "get_review_queue_item", "submit_action", "custom_check")
async def check_review_queue_and_actions(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    assert (await check(client, "m1", "Hello there")).recommended_action == "keep"
    spam = await check(client, "m2", "Buy now, limited time offer")
    assert spam.recommended_action == "flag"
    abuse = await check(client, "m3", "You are an idiot")
    assert abuse.recommended_action == "remove"
    queue = await m.query_review_queue(filter={"reviewed": False}, limit=1)
    assert len(queue.data.items) == 1 and queue.data.next
    second = await m.query_review_queue(filter={"reviewed": False}, limit=1, next=queue.data.next)
    assert second.data.items[0].id != queue.data.items[0].id
    item = (await m.get_review_queue_item(abuse.item.id)).data.item
    assert item.entity_id == "m3"
    acted = await m.submit_action(action_type="delete_message", item_id=item.id, user_id="mod")
    assert acted.data.item.latest_moderator_action == "delete_message"
    custom = await m.custom_check(
        entity_type=MESSAGE,
        entity_id="m4",
        entity_creator_id="author",
        moderation_payload={"texts": ["custom"]},
        flags=[{"type": "custom_check_text", "labels": ["MY_LABEL"], "reason": "model says so"}],
    )
    assert custom.data.item.flags[0].labels == ["MY_LABEL"]


@area("flag", "query_moderation_flags", "get_flag_count", "flag_feedback", "update_flags")
async def flags(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    await check(client, "m2", "Buy now, limited time offer")  # flagged by the policy
    await check(client, "m3", "You are an idiot")  # removed by it
    flagged = await m.flag(
        entity_type=MESSAGE, entity_id="m1", entity_creator_id="author", user_id="reporter"
    )
    assert flagged.data.item_id
    flags = await m.query_moderation_flags(filter={"user_id": "reporter"})
    assert [f.entity_id for f in flags.data.flags] == ["m1"]
    count = await m.get_flag_count(entity_creator_id="author", entity_type=MESSAGE)
    assert count.data.count == 3
    assert (await m.flag_feedback()).status_code == 200
    assert (await m.update_flags(extra_body={"flags": []})).status_code == 200


@area("ban", "appeal", "get_appeal", "query_appeals", "unban", "mute", "unmute", "bypass")
async def users(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    await m.ban(target_user_id="author", banned_by_id="mod", reason="abuse", timeout=60)
    assert emu.state.active_bans("author", emu.backend.now())
    appeal = await m.appeal(
        entity_type="stream:user", entity_id="author", appeal_reason="sorry", user_id="author"
    )
    got = await m.get_appeal(appeal.data.appeal_id)
    assert got.data.item.status == "submitted"
    appeals = await m.query_appeals(filter={"status": "submitted"})
    assert [a.id for a in appeals.data.items] == [appeal.data.appeal_id]
    await m.unban(target_user_id="author", unbanned_by_id="mod")
    assert not emu.state.active_bans("author", emu.backend.now())
    muted = await m.mute(target_ids=["author", "ghost"], user_id="reporter", timeout=10)
    assert [x.target.id for x in muted.data.mutes] == ["author"]
    assert muted.data.non_existing_users == ["ghost"]
    unmuted = await m.unmute(target_ids=["author"], user_id="reporter")
    assert unmuted.data.non_existing_users == []
    await m.bypass(target_user_id="author", enabled=True)
    assert (await check(client, "m5", "You are an idiot")).recommended_action == "keep"


@area("insert_action_log", "query_moderation_logs", "list_moderation_logs")
async def logs(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    await m.insert_action_log(
        action_type="external_ban",
        entity_type=MESSAGE,
        entity_id="m2",
        entity_creator_id="author",
        reason="outside system",
    )
    logs = await m.query_moderation_logs(filter={"type": "external_ban"})
    assert logs.data.logs[0].reporter_type == "api_integration"
    assert (await m.list_moderation_logs()).data["logs"]


@area(
    "upsert_moderation_rule",
    "get_moderation_rule",
    "query_moderation_rules",
    "delete_moderation_rule",
)
async def moderation_rules(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    rule = await m.upsert_moderation_rule(
        name="ban spammers",
        rule_type="user",
        config_keys=["policy"],
        conditions=[{"type": "text_rule", "text_rule_params": {"harm_labels": ["SPAM"]}}],
        action={"type": "ban_user", "ban_options": {"duration": 60}},
    )
    rule_id = rule.data.rule.id
    assert (await m.get_moderation_rule(rule_id)).data.rule.name == "ban spammers"
    rules = await m.query_moderation_rules(filter={"rule_type": "user"})
    assert [r.id for r in rules.data.rules] == [rule_id]
    assert "SPAM" in rules.data.default_llm_labels
    await m.delete_moderation_rule(rule_id)
    with pytest.raises(NotFoundError):
        await m.get_moderation_rule(rule_id)


@area(
    "upsert_action_config",
    "get_action_config",
    "bulk_upsert_action_config",
    "delete_action_config",
    "bulk_delete_action_config",
)
async def action_configs(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    up = await m.upsert_action_config(
        action="custom", entity_type=MESSAGE, order=5, description="Escalate to legal"
    )
    config_id = up.data.action_config.id
    got_configs = await m.get_action_config(entity_type=MESSAGE)
    assert "custom" in [c.action for c in got_configs.data.action_config[MESSAGE]]
    bulk = await m.bulk_upsert_action_config(
        action_configs=[
            {"action": "ban", "entity_type": "stream:user", "order": 1},
            {"id": config_id, "action": "custom", "entity_type": MESSAGE, "order": 7},
        ]
    )
    assert [c.order for c in bulk.data.action_configs] == [1, 7]
    assert (await m.delete_action_config(config_id)).data.deleted == 1
    assert (await m.delete_action_config(config_id)).data.deleted == 0
    remaining = bulk.data.action_configs[0].id
    assert (await m.bulk_delete_action_config(ids=[remaining, "nope"])).data.deleted == 1


@area(
    "labels",
    "query_label_results",
    "submit_moderation_feedback",
    "bulk_image_moderation",
    "check_s3_access",
)
async def labels_feedback_images_and_s3(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    labels = await m.labels(content="send me your password", content_id="c1")
    assert labels.data.labels == ["SCAM"] and labels.data.recommended_action == "remove"
    results = await m.query_label_results(filter={"content_id": "c1"})
    assert results.data.label_results[0].harm_type == "SCAM"
    await m.submit_moderation_feedback(
        message="not spam",
        reference="m2",
        published_at=datetime.now(UTC).isoformat(),
        expected_recommended_action="keep",
    )
    bulk_images = await m.bulk_image_moderation(csv_file="https://example.com/images.csv")
    assert bulk_images.data.task_id
    s3 = await m.check_s3_access(s3_url="stream+s3://bucket/key.png")
    assert s3.data.success is True


@area("v2_upsert_template", "v2_query_templates", "v2_delete_template")
async def feeds_templates(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    template = await m.v2_upsert_template(
        name="default", config={"data_types": {"text": "ai_text"}, "config_key": "policy"}
    )
    assert template.data.name == "default"
    assert [t.name for t in (await m.v2_query_templates()).data.templates] == ["default"]
    await m.v2_delete_template()
    assert (await m.v2_query_templates()).data.templates == []


@area(
    "submit_task",
    "get_task",
    "update_task",
    "submit_chat_message_task",
    "list_tasks",
    "list_blocked_messages",
)
async def automod_tasks(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    task = await m.submit_task(content_type="text", payload={"text": "buy now cheap followers"})
    assert task.data.task.status == "completed"
    assert task.data.task.evaluations[0].score > 0.5
    task_id = task.data.task.id
    assert (await m.get_task(task_id)).data.task.id == task_id
    reviewed_at = datetime.now(UTC) - timedelta(minutes=1)
    updated = await m.update_task(task_id, reviewed_by="mod", reviewed_at=reviewed_at)
    assert updated.data.task.reviewed_by == "mod"
    assert updated.data.task.reviewed_at == reviewed_at
    chat = await m.submit_chat_message_task(
        text="add me on telegram", user_id="u", message_id="msg", channel_id="general"
    )
    assert chat.data.task.channel_name == "general"
    assert len((await m.list_tasks()).data.tasks) == 2
    blocked = await m.list_blocked_messages()
    assert blocked.data["blocked_messages"][0]["message_id"] == "msg"


@area("create_queue", "list_queues", "get_queue", "update_queue", "delete_queue")
async def saved_queues(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    await check(client, "m2", "Buy now, limited time offer")
    await check(client, "m3", "You are an idiot")
    unreviewed = len([i for i in emu.state.items.values() if i.reviewed_at is None])
    made = await m.create_queue(
        name="inbox", type="operational_queue", filters={"reviewed": False}, user_id="mod"
    )
    queue_id = made.data.queue.id
    assert made.data.queue.item_count == unreviewed == 2 and made.data.queue.created_by == "mod"
    await check(client, "m6", "Buy now, limited time offer", creator="c")  # one more
    assert (await m.get_queue(queue_id)).data.queue.item_count == unreviewed + 1
    narrowed = await m.update_queue(queue_id, filters={"entity_id": "m6"})
    assert narrowed.data.queue.item_count == 1
    assert [q.id for q in (await m.list_queues()).data.queues] == [queue_id]
    assert (await m.delete_queue(queue_id)).data.queue.id == queue_id
    with pytest.raises(NotFoundError):
        await m.get_queue(queue_id)


@area(
    "create_policy_test_set",
    "start_policy_test_run",
    "get_policy_test_run",
    "get_policy_test_set",
    "list_policy_test_sets",
    "delete_policy_test_set",
)
async def policy_tests(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    created = await m.create_policy_test_set(
        name="spam set",
        config_key="policy",
        mode="check",
        rows=[
            {"text": "Buy now, limited time offer", "recommended_action": "flag"},
            {"text": "Hello there", "recommended_action": "flag"},
            {"text": "no expectation"},
        ],
    )
    set_id = created.data.set.id
    assert created.data.set.row_count == 3
    run = (await m.start_policy_test_run(set_id)).data
    assert [r.passed for r in run.results] == [True, False, False]
    totals = run.run.metrics.totals
    assert (totals.rows, totals.scored, totals.passed, totals.failed) == (3, 2, 1, 1)
    assert (await m.get_policy_test_run(run.run.id)).data.results == run.results
    assert (await m.get_policy_test_set(set_id)).data.baseline_run_id == run.run.id
    assert [s.id for s in (await m.list_policy_test_sets()).data.sets] == [set_id]
    await m.delete_policy_test_set(set_id)
    with pytest.raises(NotFoundError):
        await m.get_policy_test_set(set_id)


@area("analyze")
async def analyze(emu: Emulator, client: AsyncStream) -> None:
    analyzed = await client.moderation.analyze(
        config_key="policy", texts={"title": "You are an idiot", "body": "Hello"}
    )
    assert analyzed.data.status == "complete"
    assert {k: v.action for k, v in analyzed.data.texts.items()} == {
        "title": "remove",
        "body": "keep",
    }
    assert not emu.state.item_for(MESSAGE, "title")


@area("bulk_action_appeals")
async def bulk_action_appeals(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    content = await check(client, "m7", "You are an idiot", creator="writer")
    appealed = await m.appeal(
        entity_type=MESSAGE, entity_id="m7", appeal_reason="it was a joke", user_id="writer"
    )
    bulk = await m.bulk_action_appeals(
        appeal_ids=[appealed.data.appeal_id, "no-such-appeal"],
        action_type="reject_appeal",
        reject_appeal={"decision_reason": "policy"},
        user_id="mod",
    )
    assert [r.appeal_item.status for r in bulk.data.results] == ["rejected"]
    assert [e.appeal_id for e in bulk.data.errors] == ["no-such-appeal"]
    assert content.item.id


@area("upsert_setup_session", "get_setup_session")
async def setup_sessions(emu: Emulator, client: AsyncStream) -> None:
    m = client.moderation
    assert not (await m.get_setup_session()).data.setup_session
    await m.upsert_setup_session(
        current_step="configure", status="in_progress", setup_data={"welcome": {"ok": 1}}
    )
    session = (await m.get_setup_session()).data.setup_session
    assert (session.current_step, session.setup_data) == ("configure", {"welcome": {"ok": 1}})


@pytest.mark.parametrize("name", sorted(AREAS))
async def test_each_area_through_the_sdk(name: str) -> None:
    operations, drive = AREAS[name]
    if not has(*operations):
        pytest.skip(f"{name}: not in this release")
    emu = Emulator(KEY, SECRET)
    client = async_client(emu)
    try:
        await client.moderation.upsert_config(key="policy", **POLICY)
        await drive(emu, client)
    finally:
        await client.aclose()
    assert operations <= set(emu.calls), operations - set(emu.calls)
    report_gaps("operations not emulated", emu.not_emulated)
    report_gaps("required response fields the emulator does not set", emu.filled_fields)


def test_every_operation_with_semantics_is_driven_by_an_area() -> None:
    driven = frozenset().union(*(operations for operations, _ in AREAS.values()))
    assert set(OPERATIONS) & set(load_handlers()) <= driven, (
        set(OPERATIONS) & set(load_handlers()) - driven
    )


def test_the_sync_client_works_the_same() -> None:
    emu = Emulator(KEY, SECRET)
    with sync_client(emu) as client:
        client.moderation.upsert_config(key="policy", **POLICY)
        response = client.moderation().check(
            entity_type=MESSAGE,
            entity_id="m1",
            entity_creator_id="u",
            moderation_payload=ModerationPayload(texts=["You are an idiot"]),
            config_key="policy",
        )
        assert response.data.recommended_action == "remove"
        items = client.moderation.query_review_queue().data.items
        assert [i.id for i in items] == [response.data.item.id]
        with pytest.raises(BadRequestError) as caught:
            client.moderation.submit_action(action_type="escalate")
        assert caught.value.exception_fields == {"item_id": "required"}


def test_sync_transport_survives_many_calls_and_closes() -> None:
    emu = Emulator(KEY, SECRET)
    transport = emu.sync_transport()
    with sync_client(emu) as client:
        for index in range(20):
            client.moderation.flag(entity_type="stream:user", entity_id=f"u{index}", user_id="r")
    assert len(emu.state.items) == 20
    transport.close()  # closing an unused transport is fine


async def test_the_emulator_client_helpers() -> None:
    emu = Emulator()
    async with emu.client() as client:
        await client.moderation.upsert_config(key="k")
        assert (await client.moderation.get_config("k")).data.config.key == "k"
    with emu.sync_client() as sync:
        assert sync.moderation.get_config("k").data.config.key == "k"
    assert "***" in repr(emu) and emu.backend is not None
