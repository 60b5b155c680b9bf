"""Queues (saved views of the review queue) and setup sessions, through the SDK: filters
and sort run on the review queue's engine, item_count is live, errors name the field."""

from __future__ import annotations

from typing import Any

import pytest

from stream_moderation import AsyncStream, BadRequestError, NotFoundError
from stream_moderation._generated.api import OPERATIONS
from stream_moderation.testing import Emulator
from stream_moderation.testing._spec import operations
from tests.support.emulator_support import KEY, SECRET, async_client

QUEUE_OPS = {"create_queue", "list_queues", "get_queue", "update_queue", "delete_queue"}
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not set(OPERATIONS) >= QUEUE_OPS, reason="a release without queues"),
]
MESSAGE = "stream:chat:v1:message"


@pytest.fixture
async def client() -> AsyncStream:
    client = async_client(Emulator(KEY, SECRET))
    await client.moderation.upsert_config(
        key="policy",
        ai_text_config={
            "rules": [
                {"label": "SPAM", "action": "flag"},
                {"label": "HARASSMENT", "action": "remove"},
            ]
        },
    )
    return client


async def post(client: AsyncStream, entity_id: str, text: str, author: str = "ann") -> Any:
    response = await client.moderation.check(
        entity_type=MESSAGE,
        entity_id=entity_id,
        entity_creator_id=author,
        moderation_payload={"texts": [text]},
        config_key="policy",
    )
    return response.data.item


async def test_item_count_follows_new_checks_and_actions(client: AsyncStream) -> None:
    m = client.moderation
    removals = (
        await m.create_queue(
            name="removals",
            type="operational_queue",
            filters={"recommended_action": "remove", "reviewed": False},
            sort=[{"field": "created_at", "direction": -1}],
            description="blocked content to review",
        )
    ).data.queue
    assert removals.item_count == 0
    assert removals.sort == [{"field": "created_at", "direction": -1}]
    first = await post(client, "m1", "you idiot")
    await post(client, "m2", "buy now")  # flagged, not removed: not in this queue
    await post(client, "m3", "you moron")
    assert (await m.get_queue(removals.id)).data.queue.item_count == 2
    # the same filter on the review queue finds the same items
    same = await m.query_review_queue(filter=removals.filters)
    assert len(same.data.items) == 2
    await m.submit_action(action_type="mark_reviewed", item_id=first.id, user_id="mod")
    assert (await m.get_queue(removals.id)).data.queue.item_count == 1
    listed = {q.id: q.item_count for q in (await m.list_queues()).data.queues}
    assert listed == {removals.id: 1}


async def test_update_changes_what_the_view_counts(client: AsyncStream) -> None:
    m = client.moderation
    for index, text in enumerate(["buy now", "you idiot", "click here"]):
        await post(client, f"m{index}", text, author="bob" if index else "ann")
    queue = (await m.create_queue(name="bob", type="personal_view", user_id="mod")).data.queue
    assert queue.item_count == 3  # no filter: the whole queue
    updated = (
        await m.update_queue(queue.id, filters={"entity_creator_id": "bob"}, name="bob's")
    ).data.queue
    assert (updated.name, updated.item_count, updated.type) == ("bob's", 2, "personal_view")
    assert updated.created_at == queue.created_at
    assert updated.updated_at >= queue.updated_at


@pytest.mark.skipif(
    "user_id" not in {p.name for p in getattr(operations().get("list_queues"), "params", ())},
    reason="list_queues takes no user_id in this release",
)
async def test_personal_views_are_listed_for_their_creator(client: AsyncStream) -> None:
    m = client.moderation
    mine = (await m.create_queue(name="mine", type="personal_view", user_id="mod-a")).data.queue
    shared = (await m.create_queue(name="team", type="operational_queue", user_id="mod-b")).data
    ids = lambda response: [q.id for q in response.data.queues]  # noqa: E731
    assert ids(await m.list_queues(user_id="mod-b")) == [shared.queue.id]
    assert ids(await m.list_queues(user_id="mod-a")) == [mine.id, shared.queue.id]
    assert ids(await m.list_queues()) == [mine.id, shared.queue.id]  # server-side: all


async def test_bad_filters_names_and_ids_are_refused(client: AsyncStream) -> None:
    m = client.moderation
    with pytest.raises(BadRequestError) as caught:
        await m.create_queue(name="x", type="personal_view", filters={"colour": "red"})
    assert caught.value.exception_fields == {"filters.colour": "unknown filter field"}
    with pytest.raises(BadRequestError) as caught:
        await m.create_queue(name="x", type="personal_view", sort=[{"field": "labels"}])
    assert "sort[].field" in caught.value.exception_fields
    await m.create_queue(name="x", type="personal_view")
    with pytest.raises(BadRequestError) as caught:
        await m.create_queue(name="x", type="operational_queue")
    assert caught.value.exception_fields == {"name": "already taken"}
    with pytest.raises(NotFoundError):
        await m.update_queue("nope", name="y")
    with pytest.raises(NotFoundError):
        await m.delete_queue("nope")


async def test_delete_returns_the_queue_and_forgets_it(client: AsyncStream) -> None:
    m = client.moderation
    queue = (await m.create_queue(name="gone", type="operational_queue")).data.queue
    deleted = (await m.delete_queue(queue.id, user_id="mod")).data.queue
    assert (deleted.id, deleted.name) == (queue.id, "gone")
    assert (await m.list_queues()).data.queues == []
    with pytest.raises(NotFoundError):
        await m.get_queue(queue.id)
    # the name is free again
    await m.create_queue(name="gone", type="operational_queue")


@pytest.mark.skipif(
    not {"get_setup_session", "upsert_setup_session"} <= set(OPERATIONS),
    reason="a release without setup sessions",
)
async def test_setup_session_is_stored_and_returned(client: AsyncStream) -> None:
    m = client.moderation
    assert not (await m.get_setup_session()).data.setup_session
    first = (
        await m.upsert_setup_session(
            current_step="input", status="in_progress", setup_data={"welcome": {"use": "chat"}}
        )
    ).data.setup_session
    assert not first.completed_at
    done = (
        await m.upsert_setup_session(
            current_step="live", status="completed", setup_data={"configure": {"key": "chat"}}
        )
    ).data.setup_session
    assert done.setup_data == {"welcome": {"use": "chat"}, "configure": {"key": "chat"}}
    assert done.created_at == first.created_at and done.completed_at
    got = (await m.get_setup_session()).data.setup_session
    assert (got.current_step, got.status, got.setup_data) == (
        "live",
        "completed",
        done.setup_data,
    )
