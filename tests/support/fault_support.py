"""Helpers for the fault tests: a served emulator with a fault injector, the three
operations of the matrix, and what is left in a client's connection pool."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx

from stream_moderation import AsyncStream, Stream
from stream_moderation._retry import RetryPolicy
from stream_moderation.models import ReviewQueueItemResponse
from stream_moderation.testing import Emulator, FaultInjector

KEY = "fault-key"
SECRET = "fault-secret-that-is-long-enough-for-hs256"
MESSAGE = "stream:chat:v1:message"
POLICY: dict[str, Any] = {
    "key": "policy",
    "ai_text_config": {
        "rules": [{"label": "SPAM", "action": "flag"}, {"label": "HARASSMENT", "action": "remove"}]
    },
}
FAST_BACKOFF = RetryPolicy(initial_delay=0.01, max_delay=0.02)


@attrs.frozen
class Served:
    emulator: Emulator
    faults: FaultInjector
    url: str


@contextmanager
def served_emulator() -> Iterator[Served]:
    emulator = Emulator(KEY, SECRET)
    faults = FaultInjector()
    emulator.add_middleware(faults)
    with emulator.serve() as url:
        yield Served(emulator, faults, url)


def fast_backoff(client: AsyncStream | Stream) -> None:
    """Backoff of ~10 ms where real waits are not the point (server-given waits stay real)."""
    client._core.retry_policy = FAST_BACKOFF


def entity_id() -> str:
    return f"message-{uuid.uuid4().hex[:12]}"


Call = Callable[[], Awaitable[Any]]


async def prepare(client: AsyncStream, operation: str) -> tuple[Call, str]:
    """The call of ``operation`` (set up with fault-free requests first) and the entity id
    it is about; a call returns the parsed response after checking its shape."""
    m = client.moderation
    await m.upsert_config(**POLICY)
    entity = entity_id()
    if operation == "upsert_config":

        async def upsert() -> Any:
            response = await m.upsert_config(**POLICY)
            assert response.data.config is not None and response.data.config.key == "policy"
            return response

        return upsert, entity
    if operation == "check":

        async def call() -> Any:
            response = await m.check(
                entity_type=MESSAGE,
                entity_id=entity,
                entity_creator_id="author",
                moderation_payload={"texts": ["hello there"]},
                config_key="policy",
            )
            assert response.data.recommended_action == "keep"
            return response

        return call, entity
    flagged = await m.check(
        entity_type=MESSAGE,
        entity_id=entity,
        entity_creator_id="author",
        moderation_payload={"texts": ["buy now, limited offer, click here"]},
        config_key="policy",
    )
    item = flagged.data.item
    assert isinstance(item, ReviewQueueItemResponse)
    if operation == "query_review_queue":

        async def query() -> Any:
            response = await m.query_review_queue(filter={"entity_id": entity}, limit=5)
            assert [i.id for i in response.data.items] == [item.id]
            return response

        return query, entity

    async def act() -> Any:
        response = await m.submit_action(
            action_type="mark_reviewed", item_id=item.id, user_id="moderator"
        )
        acted = response.data.item
        assert isinstance(acted, ReviewQueueItemResponse) and acted.id == item.id
        return response

    return act, entity


def pool_of(client: AsyncStream | Stream) -> Any:
    transport = client._http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport | httpx.HTTPTransport)
    return transport._pool


def checked_out(client: AsyncStream | Stream) -> list[Any]:
    """The pool's connections that are neither idle nor closed, and its waiting requests."""
    pool = pool_of(client)
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    return busy + list(pool._requests)


def idle_connections(client: AsyncStream | Stream) -> int:
    return sum(1 for c in pool_of(client).connections if c.is_idle())


def established_to(port: int) -> int:
    """TCP connections on this host in state ESTABLISHED whose remote port is ``port``
    (the client ends of the connections to a server listening there)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count
