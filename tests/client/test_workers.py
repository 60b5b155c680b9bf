"""check_many and auto-pagination, against an in-test fake of the API (tests/support/fake_api.py).

The async tests run on asyncio and trio. Latencies are a few milliseconds: the point is
overlap and ordering, not wall time.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import attrs
import httpx
import pytest

from stream_moderation import (
    AsyncStream,
    BadRequestError,
    CheckItem,
    CheckResult,
    InternalServerError,
    RateLimitError,
    Stream,
)
from stream_moderation._generated.api import moderation as endpoints
from tests.support.fake_api import FakeAPI, action_for

KEY = "test-key"
SECRET = "s3cr3t-value-that-must-never-leak-0123456789"
pytestmark = pytest.mark.anyio


def async_client(api: FakeAPI, **options: Any) -> AsyncStream:
    return AsyncStream(KEY, SECRET, transport=api.async_transport(), **options)


def sync_client(api: FakeAPI, **options: Any) -> Stream:
    return Stream(KEY, SECRET, transport=api.sync_transport(), **options)


TEXTS = ["hello there", "buy cheap spam now", "you are abuse", "see you tomorrow"]


def make_items(n: int) -> list[CheckItem]:
    return [
        CheckItem(
            "stream:chat:v1:message",
            f"msg-{i}",
            f"user-{i % 7}",
            {"texts": [TEXTS[i % len(TEXTS)]]},
        )
        for i in range(n)
    ]


def jitter(entity_id: str) -> float:
    """A latency between 0 and 4 ms, fixed per entity, so completions come out of order."""
    return (zlib.crc32(entity_id.encode()) % 5) / 1000


def assert_matches_inputs(results: list[CheckResult[CheckItem]], items: list[CheckItem]) -> None:
    assert sorted(r.index for r in results) == list(range(len(items)))
    for result in results:
        assert result.item is items[result.index]
        assert result.ok, result.error
        data = result.unwrap().data
        assert data.task_id == f"task-{result.item.entity_id}"
        payload = result.item.moderation_payload
        assert isinstance(payload, dict)
        assert result.recommended_action == action_for(payload["texts"][0])


# -- check_many, async -----------------------------------------------------------------


async def test_a_thousand_items_at_concurrency_20_are_each_checked_once() -> None:
    api = FakeAPI(latency=jitter)
    items = make_items(1000)
    async with async_client(api) as client:
        results = [r async for r in client.moderation.check_many(items, concurrency=20)]
    assert len(results) == 1000
    assert api.calls == Counter({item.entity_id: 1 for item in items})
    assert_matches_inputs(results, items)
    assert api.max_in_flight == 20  # bounded, and actually concurrent
    assert api.in_flight == 0


async def test_the_block_form_checks_everything_with_bounded_concurrency() -> None:
    api = FakeAPI(latency=jitter)
    items = make_items(1000)
    async with async_client(api) as client:
        async with client.moderation.check_many(items, concurrency=20) as results:
            collected = [r async for r in results]
        assert results.done == 1000 and results.failed == 0 and results.total == 1000
    assert api.calls == Counter({item.entity_id: 1 for item in items})
    assert_matches_inputs(collected, items)
    assert api.max_in_flight == 20
    assert api.in_flight == 0


@pytest.mark.parametrize("block", [False, True])
async def test_ordered_results_come_in_input_order(block: bool) -> None:
    api = FakeAPI(latency=jitter)
    items = make_items(300)
    async with async_client(api) as client:
        batch = client.moderation.check_many(items, concurrency=16, ordered=True)
        if block:
            async with batch as results:
                indices = [r.index async for r in results]
        else:
            indices = [r.index async for r in batch]
    assert indices == list(range(300))
    assert api.max_in_flight <= 16


async def test_unordered_results_come_as_they_complete() -> None:
    # The first item answers only after all the others: without ordered=True, they do not
    # wait for it.
    api = FakeAPI()
    api.hold = {"msg-0": 49}
    items = make_items(50)
    async with (
        async_client(api) as client,
        client.moderation.check_many(items, concurrency=5) as results,
    ):
        indices = [r.index async for r in results]
    assert indices[-1] == 0
    assert sorted(indices) == list(range(50))


async def test_a_failing_item_is_reported_and_the_rest_complete() -> None:
    api = FakeAPI(latency=0.001)
    api.fail = {"msg-13": 400, "msg-77": 500}
    items: list[CheckItem | dict[str, Any]] = [*make_items(200)]
    items.append({"entity_type": "stream:chat:v1:message", "entity_creator_id": "u"})  # no id
    items.append({"entity_type": "x", "entity_id": "x", "entity_creator_id": "u", "bogus": 1})
    async with async_client(api) as client:
        batch = client.moderation.check_many(items, concurrency=10, max_retries=0)
        results = {r.index: r async for r in batch}
        assert batch.failed == 4
    assert len(results) == 202
    assert isinstance(results[13].error, BadRequestError)
    assert results[13].error.status_code == 400 and results[13].recommended_action is None
    with pytest.raises(BadRequestError):
        results[13].unwrap()
    assert isinstance(results[77].error, InternalServerError)
    assert isinstance(results[200].error, TypeError)  # not even sent
    assert isinstance(results[201].error, TypeError)
    failed = {13, 77, 200, 201}
    assert all(r.ok for i, r in results.items() if i not in failed)
    assert sum(api.succeeded.values()) == 198


async def test_429s_pause_the_whole_batch_until_retry_after() -> None:
    def run(throttle: bool) -> FakeAPI:
        api = FakeAPI(latency=0.002)
        api.window_at, api.window, api.throttle = 100, 0.25, throttle
        return api

    async def check_all(api: FakeAPI) -> tuple[list[CheckResult[CheckItem]], int]:
        async with async_client(api) as client:
            batch = client.moderation.check_many(make_items(600), concurrency=20)
            results = [r async for r in batch]
            return results, batch.pauses

    baseline = run(throttle=False)
    await check_all(baseline)
    throttled = run(throttle=True)
    started = time.monotonic()
    results, pauses = await check_all(throttled)
    elapsed = time.monotonic() - started

    # With the shared pause, each worker sends at most one request into the window (its
    # own 429 pauses it, if another's did not already); without it, they keep going: more
    # than one request per worker in the same window, however slow the machine (a loaded
    # 2-core CI box managed 38 here, a quiet one hundreds).
    assert throttled.arrivals_in_window() <= 20
    assert baseline.arrivals_in_window() > 20
    assert pauses >= 1
    assert elapsed >= 0.25  # the batch held back for the Retry-After
    # And the items that got a 429 were sent again: all succeeded, each exactly once.
    assert all(r.ok for r in results)
    assert throttled.succeeded == Counter({f"msg-{i}": 1 for i in range(600)})
    assert sum(r.rate_limited for r in results) == throttled.arrivals_in_window()


async def test_an_item_rate_limited_too_often_fails_with_the_429() -> None:
    api = FakeAPI()
    api.window_at, api.window = 1, 0.05
    async with async_client(api) as client:
        batch = client.moderation.check_many(make_items(3), concurrency=3, rate_limit_retries=0)
        results = [r async for r in batch]
    failed = [r for r in results if not r.ok]
    assert failed and all(isinstance(r.error, RateLimitError) for r in failed)
    assert all(r.rate_limited == 1 for r in failed)
    assert len(failed) == api.arrivals_in_window()


async def test_a_429_that_ends_an_item_still_pauses_the_batch() -> None:
    api = FakeAPI()
    api.window_at, api.window = 1, 0.2
    async with async_client(api) as client:
        batch = client.moderation.check_many(
            make_items(3), concurrency=1, ordered=True, rate_limit_retries=0
        )
        results = [r async for r in batch]
    # The first item got the 429 and ends with it; the next ones waited for the window to
    # close instead of walking into it.
    assert isinstance(results[0].error, RateLimitError)
    assert [r.ok for r in results[1:]] == [True, True]
    assert api.arrivals_in_window() == 1


async def test_a_plain_check_still_retries_its_own_429() -> None:
    api = FakeAPI()
    api.window_at, api.window = 1, 0.05
    async with async_client(api) as client:
        response = await client.moderation.check(
            entity_type="t", entity_id="e", entity_creator_id="u"
        )
    assert response.data.recommended_action == "keep"
    assert api.calls["e"] == 2


async def test_cancelling_the_consumer_leaves_no_request_in_flight() -> None:
    api = FakeAPI(latency=0.05)
    async with async_client(api) as client:
        seen = 0
        with anyio.move_on_after(0.12) as scope:
            async for _ in client.moderation.check_many(make_items(1000), concurrency=20):
                seen += 1
        assert scope.cancelled_caught
        assert api.in_flight == 0
        sent = sum(api.calls.values())
        await anyio.sleep(0.1)
        assert sum(api.calls.values()) == sent  # and nothing starts afterwards
    assert 0 < sent < 1000


async def test_cancelling_the_block_form_leaves_no_request_in_flight() -> None:
    api = FakeAPI(latency=0.05)
    async with async_client(api) as client:
        with anyio.move_on_after(0.12) as scope:
            async with client.moderation.check_many(make_items(1000), concurrency=20) as results:
                async for _ in results:
                    pass
        assert scope.cancelled_caught
        assert api.in_flight == 0
        sent = sum(api.calls.values())
        await anyio.sleep(0.1)
        assert sum(api.calls.values()) == sent
    assert 0 < sent < 1000


@pytest.mark.parametrize("block", [False, True])
async def test_breaking_out_of_the_loop_leaves_no_request_in_flight(block: bool) -> None:
    api = FakeAPI(latency=0.005)
    async with async_client(api) as client:
        batch = client.moderation.check_many(make_items(1000), concurrency=20)
        if block:
            async with batch as results:
                async for result in results:
                    if result.index >= 0:
                        break
        else:
            async for result in batch:
                if result.index >= 0:
                    break
        assert api.in_flight == 0
        sent = sum(api.calls.values())
        await anyio.sleep(0.05)
        assert sum(api.calls.values()) == sent
        assert sent < 1000
        if block:
            with pytest.raises(RuntimeError, match="closed or cancelled"):
                await batch.__anext__()
        else:  # nothing was lost: the loop can pick up where it stopped
            rest = [r async for r in batch]
            assert len(rest) == 999 and api.calls == Counter(f"msg-{i}" for i in range(1000))


async def test_an_error_in_the_loop_body_propagates_as_it_is() -> None:
    api = FakeAPI(latency=0.005)
    async with async_client(api) as client:
        with pytest.raises(KeyError):
            async with client.moderation.check_many(make_items(100)) as results:
                async for _ in results:
                    raise KeyError("mine")
        assert api.in_flight == 0


async def test_the_block_form_keeps_requests_going_while_the_body_awaits() -> None:
    for block in (False, True):
        api = FakeAPI(latency=0.001)
        async with async_client(api) as client:
            batch = client.moderation.check_many(make_items(400), concurrency=4)
            if block:
                async with batch as results:
                    await results.__anext__()
                    before = sum(api.calls.values())
                    await anyio.sleep(0.1)
                    during = sum(api.calls.values()) - before
            else:
                await batch.__anext__()
                before = sum(api.calls.values())
                await anyio.sleep(0.1)
                during = sum(api.calls.values()) - before
        if block:
            assert during > 0
        else:
            assert during == 0  # rounds: nothing runs between iterations


async def test_progress_is_called_for_every_item() -> None:
    api = FakeAPI()
    calls: list[tuple[int, int | None, int]] = []
    async with async_client(api) as client:
        batch = client.moderation.check_many(
            make_items(120),
            concurrency=8,
            progress=lambda done, total, result: calls.append((done, total, result.index)),
        )
        results = [r async for r in batch]
    assert [c[0] for c in calls] == list(range(1, 121))
    assert {c[1] for c in calls} == {120}
    assert sorted(c[2] for c in calls) == sorted(r.index for r in results)


async def test_async_iterable_input_and_an_unknown_total() -> None:
    api = FakeAPI(latency=jitter)
    pulled = 0

    async def generate() -> AsyncIterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(250):
            pulled += 1
            await anyio.sleep(0)
            yield {
                "entity_type": "stream:chat:v1:message",
                "entity_id": f"msg-{i}",
                "entity_creator_id": "u",
                "moderation_payload": {"texts": ["spam"]},
            }

    totals = set()
    async with async_client(api) as client:
        batch = client.moderation.check_many(
            generate(),
            concurrency=10,
            config_key="cfg",
            progress=lambda done, total, result: totals.add(total),
        )
        first = await batch.__anext__()
        assert pulled <= 10 * 8  # read as the batch goes, within the window
        results = [first, *[r async for r in batch]]
    assert totals == {None}
    assert api.calls == Counter({f"msg-{i}": 1 for i in range(250)})
    assert {r.recommended_action for r in results} == {"flag"}
    assert {r.item["entity_id"] for r in results} == {f"msg-{i}" for i in range(250)}


async def test_the_input_is_read_lazily_and_its_error_is_raised_after_what_completed() -> None:
    api = FakeAPI()

    def broken() -> Iterator[CheckItem]:
        yield from make_items(5)
        raise OSError("the file went away")

    async with async_client(api) as client:
        got: list[int] = []
        with pytest.raises(OSError, match="went away"):
            async for result in client.moderation.check_many(broken(), concurrency=2):
                got.append(result.index)
    assert sorted(got) == [0, 1, 2, 3, 4]


async def test_a_failing_progress_callback_stops_the_batch_and_is_raised() -> None:
    api = FakeAPI()

    def progress(done: int, total: int | None, result: CheckResult[CheckItem]) -> None:
        if done == 10:
            raise ZeroDivisionError("in the callback")

    async with async_client(api) as client:
        batch = client.moderation.check_many(make_items(500), concurrency=4, progress=progress)
        got = 0
        with pytest.raises(ZeroDivisionError, match="callback"):
            async for _ in batch:
                got += 1
    assert 10 <= got == sum(api.calls.values()) < 500  # every completed one was handed out


async def test_batch_defaults_and_per_item_values() -> None:
    api = FakeAPI()
    bodies: list[dict[str, Any]] = []
    original = api._begin

    def spy(request: Any) -> Any:
        bodies.append(json.loads(request.content))
        return original(request)

    api._begin = spy  # type: ignore[method-assign]
    items = [
        CheckItem("t", "a", "u", {"texts": ["x"]}),
        CheckItem("t", "b", "u", config_key="own", extra={"test_mode": False}),
    ]
    async with async_client(api) as client:
        batch = client.moderation.check_many(
            items, config_key="batch", defaults={"test_mode": True}, ordered=True
        )
        assert [r.ok async for r in batch] == [True, True]
    by_id = {b["entity_id"]: b for b in bodies}
    assert by_id["a"]["config_key"] == "batch" and by_id["a"]["test_mode"] is True
    assert by_id["b"]["config_key"] == "own" and by_id["b"]["test_mode"] is False
    assert "moderation_payload" not in by_id["b"]


async def test_bad_arguments_fail_at_the_call() -> None:
    async with async_client(FakeAPI()) as client:
        with pytest.raises(ValueError, match="concurrency"):
            client.moderation.check_many([], concurrency=0)
        with pytest.raises(TypeError, match="iterable"):
            client.moderation.check_many(42)  # type: ignore[arg-type]
        nothing: list[CheckItem] = []
        assert [r async for r in client.moderation.check_many(nothing)] == []


async def test_the_call_form_and_with_options_keep_check_many() -> None:
    async with async_client(FakeAPI()) as client:
        assert client.moderation() is client.moderation
        other = client.with_options(max_retries=0)
        results = [r async for r in other.moderation().check_many(make_items(3))]
        assert len(results) == 3


# -- check_many, sync -------------------------------------------------------------------


def test_sync_check_many_checks_each_item_once_with_bounded_concurrency() -> None:
    api = FakeAPI(latency=jitter)
    api.gather = 10  # the bound is reached, however slowly the threads start
    items = make_items(400)
    threads = set()
    with sync_client(api) as client:
        results = list(
            client.moderation.check_many(
                items,
                concurrency=10,
                progress=lambda done, total, result: threads.add(threading.get_ident()),
            )
        )
    assert api.calls == Counter({item.entity_id: 1 for item in items})
    assert_matches_inputs(results, items)
    assert api.max_in_flight == 10
    assert threads == {threading.get_ident()}  # progress runs in the caller's thread


def test_sync_check_many_ordered_and_failures() -> None:
    api = FakeAPI(latency=jitter)
    api.fail = {"msg-5": 404}
    with (
        sync_client(api) as client,
        client.moderation.check_many(
            make_items(120), concurrency=8, ordered=True, max_retries=0
        ) as results,
    ):
        collected = list(results)
    assert [r.index for r in collected] == list(range(120))
    assert [r.index for r in collected if not r.ok] == [5]


def test_sync_check_many_shares_the_429_pause() -> None:
    api = FakeAPI(latency=0.002)
    api.window_at, api.window = 50, 0.2
    with sync_client(api) as client:
        batch = client.moderation.check_many(make_items(300), concurrency=10)
        results = list(batch)
    assert all(r.ok for r in results)
    assert api.arrivals_in_window() <= 10
    assert batch.pauses >= 1 and batch.paused_seconds >= 0.15
    assert api.succeeded == Counter({f"msg-{i}": 1 for i in range(300)})


def test_sync_check_many_refuses_an_async_iterable() -> None:
    async def items() -> AsyncIterator[CheckItem]:
        yield CheckItem("t", "e", "u")

    with sync_client(FakeAPI()) as client, pytest.raises(TypeError, match="AsyncStream"):
        client.moderation.check_many(items())  # type: ignore[arg-type]


def test_sync_break_leaves_no_request_in_flight() -> None:
    api = FakeAPI(latency=0.005)
    with sync_client(api) as client:
        for _ in client.moderation.check_many(make_items(1000), concurrency=10):
            break
        assert api.in_flight == 0
        sent = sum(api.calls.values())
        time.sleep(0.05)
        assert sum(api.calls.values()) == sent < 1000


async def test_sync_check_many_works_from_a_thread_running_an_event_loop() -> None:
    # e.g. a notebook: the rounds then run in a helper thread.
    api = FakeAPI()
    with sync_client(api) as client:
        results = list(client.moderation.check_many(make_items(30), concurrency=3))
    assert len(results) == 30


# -- pagination -------------------------------------------------------------------------


async def test_iter_follows_next_and_yields_each_item_once_in_order() -> None:
    api = FakeAPI(queue_size=250)
    async with async_client(api) as client:
        ids = [
            item.id
            async for item in client.moderation.query_review_queue.iter(
                filter={"status": "pending"}, limit=25
            )
        ]
    assert ids == [f"rq-{n:04d}" for n in range(250)]
    assert len(api.queue_bodies) == 10
    assert [b.get("next") for b in api.queue_bodies] == [None, *[str(25 * n) for n in range(1, 10)]]
    assert all(b["filter"] == {"status": "pending"} and b["limit"] == 25 for b in api.queue_bodies)


async def test_iter_stops_at_max_items_without_fetching_more_pages() -> None:
    api = FakeAPI(queue_size=250)
    async with async_client(api) as client:
        items = [i async for i in client.moderation.query_review_queue.iter(limit=25, max_items=60)]
        assert [i.id for i in items] == [f"rq-{n:04d}" for n in range(60)]
        assert len(api.queue_bodies) == 3
        assert [i async for i in client.moderation.query_review_queue.iter(max_items=0)] == []
        assert len(api.queue_bodies) == 3
        with pytest.raises(ValueError, match="max_items"):
            client.moderation.query_review_queue.iter(max_items=-1)


async def test_iter_checks_its_arguments_at_the_call_and_pages_lazily() -> None:
    api = FakeAPI(queue_size=100)
    async with async_client(api) as client:
        with pytest.raises(ValueError, match="field"):
            client.moderation.query_review_queue.iter(sort=[{"field": 3}])
        pages = client.moderation.query_review_queue.iter(limit=10)
        assert api.queue_bodies == []  # nothing sent until iterated
        first = await pages.__anext__()
        assert first.id == "rq-0000" and len(api.queue_bodies) == 1


async def test_the_paginated_call_form_still_returns_one_page() -> None:
    api = FakeAPI(queue_size=40)
    async with async_client(api) as client:
        page = await client.moderation.query_review_queue(limit=25)
    assert len(page.data.items) == 25 and page.data.next == "25"


def test_sync_iter_follows_next() -> None:
    api = FakeAPI(queue_size=250)
    with sync_client(api) as client:
        ids = [item.id for item in client.moderation.query_review_queue.iter(limit=25)]
        assert ids == [f"rq-{n:04d}" for n in range(250)]
        assert len(api.queue_bodies) == 10
        few = list(client.moderation.query_review_queue.iter(limit=25, max_items=30))
        assert len(few) == 30
        page = client.moderation.query_review_queue(limit=5)
        assert [i.id for i in page.data.items] == [f"rq-{n:04d}" for n in range(5)]


def paginated_operations() -> list[tuple[str, str]]:
    found = []
    for module in pkgutil.iter_modules(endpoints.__path__):
        operation = importlib.import_module(f"{endpoints.__name__}.{module.name}").OPERATION
        if operation.items_field is not None:
            found.append((operation.name, operation.items_field))
    return sorted(found)


def test_every_paginated_operation_of_the_spec_has_iter() -> None:
    operations = paginated_operations()
    assert ("query_review_queue", "items") in operations and len(operations) >= 6
    with Stream(KEY, SECRET) as client:
        async_client_ = AsyncStream(KEY, SECRET)
        for name, _ in operations:
            assert callable(getattr(client.moderation, name).iter)
            assert callable(getattr(async_client_.moderation, name).iter)


@pytest.mark.parametrize("name_and_field", paginated_operations())
def test_iter_of_each_paginated_operation_pages_through_next(
    name_and_field: tuple[str, str],
) -> None:
    name, field = name_and_field
    module = importlib.import_module(f"{endpoints.__name__}.{name}")
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        payload = _required_empty(module.OPERATION.response_type, field)
        if not body.get("next"):
            payload["next"] = "page-2"  # an empty page with a cursor: keep going
        return httpx.Response(201, json=payload)

    with Stream(KEY, SECRET, transport=httpx.MockTransport(handler)) as client:
        assert list(getattr(client.moderation, name).iter(limit=5)) == []
    assert [b.get("next") for b in seen] == [None, "page-2"]
    assert all(b["limit"] == 5 for b in seen)


def _required_empty(schema: Any, field: str) -> dict[str, Any]:
    """Empty values for the required fields of a response model (the page field an empty list)."""
    values: dict[str, Any] = {}
    for attribute in attrs.fields(schema):
        if attribute.default is not attrs.NOTHING or attribute.name == "additional_properties":
            continue
        name = attribute.alias or attribute.name
        text = str(attribute.type)
        if name == field or text.startswith("list"):
            values[name] = []
        elif text.startswith("dict"):
            values[name] = {}
        elif text.startswith("str"):
            values[name] = ""
        elif text.startswith("int"):
            values[name] = 0
        elif text.startswith("bool"):
            values[name] = False
        else:
            values[name] = {}
    return values
