"""The served emulator's state stays consistent under concurrent requests (its handlers
run in worker threads): counters match the records, and where the API promises one
record (one review queue item per entity, one config per key, ...) there is one.

The last two tests are driven by the handler table and the spec: every operation that
writes, fired many times at once, and every upsert fired many times at once with the
same request, which must leave as many records as one such request.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from stream_moderation.testing import Emulator
from stream_moderation.testing._ops import load_handlers
from stream_moderation.testing._spec import operations
from stream_moderation.testing._state import State
from tests.support.emulator_support import (
    KEY,
    SCHEMAS,
    SECRET,
    headers,
    minimal_request,
    query_operations,
    raw_json,
    write_operations,
)

pytestmark = pytest.mark.anyio
MESSAGE = "stream:chat:v1:message"
POLICY = {"key": "policy", "ai_text_config": {"rules": [{"label": "SPAM", "action": "flag"}]}}


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Threads switch every microsecond (not 5 ms): an unguarded read-then-write in a
    handler is then interleaved with another's, as it would be on a busy server."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture
def served() -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator(KEY, SECRET, webhook_callback=lambda delivery: None)
    with emulator.serve() as url:
        yield emulator, url


def client(url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100)
    return httpx.AsyncClient(
        base_url=url, params={"api_key": KEY}, headers=headers(), limits=limits, timeout=60
    )


async def at_once(count: int, send: Any) -> list[httpx.Response]:
    """``send(i)`` for i in range(count), all in flight together."""
    responses: list[httpx.Response | None] = [None] * count

    async def one(i: int) -> None:
        responses[i] = await send(i)

    async with anyio.create_task_group() as group:
        for i in range(count):
            group.start_soon(one, i)
    return [r for r in responses if r is not None]


def assert_consistent(state: State) -> None:
    """What every record's counterpart must say, whatever ran concurrently."""
    entities = Counter((i.entity_type, i.entity_id) for i in state.items.values())
    assert all(n == 1 for n in entities.values()), "two review queue items for one entity"
    assert state.items_by_entity == {
        (i.entity_type, i.entity_id): i.id for i in state.items.values()
    }
    on_items = {f.id for i in state.items.values() for f in i.flags}
    assert on_items == {f.id for f in state.flags}
    assert len(on_items) == len(state.flags), "a flag stored twice"
    for item in state.items.values():
        assert all(f.review_queue_item_id == item.id for f in item.flags)
        logs = {log.id for log in state.logs if log.review_queue_item_id == item.id}
        assert logs == {log.id for log in item.actions}, "the log and the item disagree"
    flagged = Counter()
    for item in state.items.values():
        if item.entity_creator_id:
            flagged[item.entity_creator_id] += len(item.flags)
    assert {u: n for u, n in state.flag_counts.items() if n} == dict(flagged)
    seqs = [r.seq for r in [*state.items.values(), *state.flags, *state.logs]]
    assert len(seqs) == len(set(seqs)), "two records with one sequence number"


async def test_50_concurrent_actions_on_one_item_are_all_recorded(
    served: tuple[Emulator, str],
) -> None:
    emulator, url = served
    async with client(url) as http:
        assert (await http.post("/api/v2/moderation/config", json=POLICY)).status_code == 201
        checked = await http.post(
            "/api/v2/moderation/check",
            json={
                "entity_type": MESSAGE,
                "entity_id": "m1",
                "entity_creator_id": "u1",
                "moderation_payload": {"texts": ["buy now"]},
                "config_key": "policy",
            },
        )
        item_id = checked.json()["item"]["id"]
        kinds = ["escalate", "de_escalate", "flag", "mark_reviewed", "custom"]

        def action(i: int) -> dict[str, Any]:
            kind = kinds[i % len(kinds)]
            flag = {"entity_type": MESSAGE, "entity_id": "m1", "reason": f"r{i}"}
            payload = {"custom": {"id": "warn"}, "flag": flag}.get(kind, {})
            return {"action_type": kind, "item_id": item_id, "user_id": f"mod{i}", kind: payload}

        responses = await at_once(
            50, lambda i: http.post("/api/v2/moderation/submit_action", json=action(i))
        )
        final = (await http.get(f"/api/v2/moderation/review_queue/{item_id}")).json()["item"]
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
    item = emulator.state.items[item_id]
    assert len(item.actions) == 1 + 50  # the check's, then one per action
    assert len({log.id for log in item.actions}) == 51
    assert len(item.flags) == 1 + 10  # the check's, and 10 flag actions
    assert final["flags_count"] == len(final["flags"]) == 11
    moderators = [a for a in item.actions if a.type != "flag" and a.reporter_type == "moderator"]
    assert item.latest_moderator_action == max(moderators, key=lambda a: a.seq).type
    assert emulator.state.flag_counts == {"u1": 11}
    assert_consistent(emulator.state)


async def test_concurrent_checks_of_one_entity_make_one_item(
    served: tuple[Emulator, str],
) -> None:
    emulator, url = served
    async with client(url) as http:
        assert (await http.post("/api/v2/moderation/config", json=POLICY)).status_code == 201

        def check(i: int) -> Any:
            text = "buy now" if i % 2 else f"buy now, message {i}"
            body = {
                "entity_type": MESSAGE,
                "entity_id": "m1",
                "entity_creator_id": "u1",
                "moderation_payload": {"texts": [text]},
                "config_key": "policy",
            }
            return http.post("/api/v2/moderation/check", json=body)

        responses = await at_once(30, check)
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["item"]["id"] for r in responses}) == 1
    assert len(emulator.state.items) == 1
    assert emulator.state.check_counts == {"m1": 30}
    assert_consistent(emulator.state)


def _writes_with_a_handler() -> list[str]:
    return sorted(set(write_operations()) & set(load_handlers()))


async def test_every_write_operation_at_once_leaves_the_state_consistent(
    served: tuple[Emulator, str],
) -> None:
    """Each operation that writes, 8 times over, all in flight with queries."""
    emulator, url = served
    requests: list[tuple[str, str, dict[str, str], Any]] = []
    for name in _writes_with_a_handler():
        path, query, body = minimal_request(name)
        requests += [(name, path, query, body)] * 8
    for name in query_operations():
        path, query, _ = minimal_request(name)
        requests.append((name, path, query, {} if operations()[name].request_schema else None))

    async with client(url) as http:
        assert (await http.post("/api/v2/moderation/config", json=POLICY)).status_code == 201

        def send(i: int) -> Any:
            name, path, query, body = requests[i]
            return http.request(
                operations()[name].method,
                path,
                params={"api_key": KEY, **query},
                content=raw_json(body) if body is not None else None,
                headers={"Content-Type": "application/json"} if body is not None else None,
            )

        responses = await at_once(len(requests), send)
        for name in query_operations():  # and they all still answer
            op = operations()[name]
            answer = await http.request(op.method, op.path, json={} if op.request_schema else None)
            assert answer.status_code == op.success_status, (name, answer.text)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    assert_consistent(emulator.state)


def _sizes(state: State) -> dict[str, int]:
    return {
        name: len(value)
        for name, value in vars(state).items()
        if not name.startswith("_") and name != "check_counts" and hasattr(value, "__len__")
    }


IDENTITIES = ("key", "name", "id")
PLAUSIBLE = {"rule_type": "content"}  # values the handlers check beyond the spec


def _keyed_upserts() -> list[str]:
    """The upserts whose request names its record (a required key, name or id): the ones
    where the API promises one record. (An action config without ``id`` is created anew
    by every call, as the spec says.)"""
    found = []
    for name in _writes_with_a_handler():
        schema = operations()[name].request_schema
        required = set(SCHEMAS[schema].get("required", [])) if schema else set()
        if "upsert" in name and required & set(IDENTITIES):
            found.append(name)
    return found


@pytest.mark.parametrize("name", _keyed_upserts())
async def test_concurrent_identical_upserts_store_one_record(name: str) -> None:
    """The same upsert 20 times at once stores what it stores once."""
    path, query, body = minimal_request(name)
    body = {**body, **{k: v for k, v in PLAUSIBLE.items() if k in body}}

    async def sizes_after(times: int) -> dict[str, int] | None:
        emulator = Emulator(KEY, SECRET)
        with emulator.serve() as url:
            async with client(url) as http:
                await http.post("/api/v2/moderation/config", json={**POLICY, "key": "policy"})
                before = _sizes(emulator.state)
                responses = await at_once(
                    times,
                    lambda i: http.request(
                        operations()[name].method,
                        path,
                        params={"api_key": KEY, **query},
                        content=raw_json(body),
                        headers={"Content-Type": "application/json"},
                    ),
                )
        if {r.status_code for r in responses} != {operations()[name].success_status}:
            assert all(r.status_code < 500 for r in responses)
            return None  # the minimal request is refused: nothing to compare
        assert_consistent(emulator.state)
        after = _sizes(emulator.state)
        return {k: after[k] - before[k] for k in after}

    once = await sizes_after(1)
    if once is None:
        pytest.skip(f"{name}'s minimal request is refused")
    assert await sizes_after(20) == once
