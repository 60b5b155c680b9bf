"""Errors, results and models cross process boundaries; clients survive a fork.

Every StreamError class (found by walking the tree, so that a new one is covered) pickles
and unpickles with its fields and without a secret; a CheckResult and parsed models
round-trip; a client used after ``os.fork()`` re-creates its pool in the child (never
sharing a socket with the parent) or, when the pool was given to it, raises ForkError."""

from __future__ import annotations

import inspect
import os
import pickle
import sys
from typing import Any

import httpx
import pytest

import stream_moderation
from stream_moderation import (
    APIStatusError,
    CheckResult,
    ForkError,
    RateLimitError,
    Stream,
    StreamError,
    StreamResponse,
    webhooks,
)
from stream_moderation.models import CheckResponse
from tests.conftest import load_fixture
from tests.support.hostile_server import hostile_server, respond

KEY = "boundary-key"
SECRET = "boundary-secret-that-is-long-enough-for-hs256"


def every_error_class() -> list[type[StreamError]]:
    found: set[type[StreamError]] = set()
    todo: list[type[StreamError]] = [StreamError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(c for c in cls.__subclasses__() if c.__module__.startswith("stream_"))
    return sorted(found, key=lambda c: c.__name__)


def an_instance(cls: type[StreamError]) -> StreamError:
    """An instance of ``cls`` with every field set, made the way the SDK makes them."""
    where: dict[str, Any] = {
        "method": "POST",
        "path": "/api/v2/moderation/check",
        "host": "chat.stream-io-api.com",
        "operation": "check",
        "attempts": 3,
    }
    params = inspect.signature(cls.__init__).parameters
    if issubclass(cls, APIStatusError):
        return cls(
            "too many",
            status_code=429,
            headers=httpx.Headers({"retry-after": "2", "x-request-id": "r-1"}),
            body='{"code": 9}',
            error={"code": 9, "message": "too many", "unrecoverable": False},
            rate_limit=None,
            retry_after=2.0,
            **where,
        )
    if "method" in params or issubclass(cls, stream_moderation.APIError):
        kwargs: dict[str, Any] = dict(where)
        if issubclass(cls, stream_moderation.APIResponseValidationError):
            kwargs.update(status_code=200, body="<html>")
        if cls is stream_moderation.ResponseTooLargeError:
            kwargs["limit"] = 1024
        if "timeout" in params:
            kwargs["timeout"] = 0.5
        return cls("went wrong", **kwargs)
    if "age" in params:
        return cls("the event is 400 s old", age=400.0)  # type: ignore[call-arg]
    if "location" in params and "field" in params:
        return cls("moderation_payload", "text", "texts")  # type: ignore[call-arg]
    if "location" in params:
        return cls("CheckResponse.item", "expected an object")  # type: ignore[call-arg]
    return cls("went wrong")


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_every_error_pickles_with_its_fields(cls: type[StreamError]) -> None:
    error = an_instance(cls)
    data = pickle.dumps(error)
    clone = pickle.loads(data)
    assert type(clone) is cls
    assert str(clone) == str(error)
    assert vars(clone).keys() == vars(error).keys()
    for name, value in vars(error).items():
        assert getattr(clone, name) == value, name
    assert SECRET.encode() not in data


def test_the_tree_covers_the_errors_the_package_exports() -> None:
    exported = {
        getattr(stream_moderation, name)
        for name in stream_moderation.__all__
        if isinstance(getattr(stream_moderation, name), type)
        and issubclass(getattr(stream_moderation, name), Exception)
    }
    assert exported <= set(every_error_class())
    assert webhooks.InvalidSignatureError in every_error_class()
    assert len(every_error_class()) >= 20


def test_status_fields_survive_a_round_trip() -> None:
    error = an_instance(RateLimitError)
    assert isinstance(error, RateLimitError)
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.status_code, clone.code, clone.retry_after, clone.request_id) == (
        429,
        9,
        2.0,
        "r-1",
    )
    assert clone.body == '{"code": 9}' and clone.attempts == 3


def test_a_check_result_and_its_models_pickle() -> None:
    data = CheckResponse.from_dict(load_fixture("check_response_heavy_ns.json"))
    response = StreamResponse(
        data=data, status_code=201, headers=httpx.Headers({"a": "b"}), rate_limit=None, duration=1
    )
    result = CheckResult(index=0, item={"entity_id": "m"}, response=response)
    clone = pickle.loads(pickle.dumps(result))
    assert clone.recommended_action == result.recommended_action
    assert clone.data is not None and clone.data.to_dict() == data.to_dict()
    failed = CheckResult(index=1, item="x", error=an_instance(RateLimitError))
    assert isinstance(pickle.loads(pickle.dumps(failed)).error, RateLimitError)


# -- fork --------------------------------------------------------------------------------------


def _in_child(work: Any) -> tuple[int, str]:
    """Run ``work()`` in a forked child; its exit status and what it printed."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read)
        try:
            text = str(work())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            text, code = f"{type(exc).__name__}: {exc}", 1
        os.write(write, text.encode())
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_client_used_after_fork_makes_its_own_connections() -> None:
    with hostile_server(respond()) as server, Stream(KEY, SECRET, base_url=server.url) as client:

        def check() -> str:
            client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
            return "ok"

        check()
        parent_port = server.seen[-1].peer_port
        code, text = _in_child(check)
        assert (code, text) == (0, "ok")
        child_port = server.seen[-1].peer_port
        check()  # the parent's pooled connection still works, untouched by the child
        assert server.seen[-1].peer_port == parent_port
    assert child_port != parent_port  # the child did not use the parent's socket


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_given_pool_used_after_fork_raises_clearly() -> None:
    with hostile_server(respond()) as server:
        http = httpx.Client()
        with Stream(KEY, SECRET, base_url=server.url, http_client=http) as client:
            client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
            sent = len(server.seen)

            def check() -> str:
                client.moderation.check(entity_type="t", entity_id="2", entity_creator_id="u")
                return "ok"

            code, text = _in_child(check)
        http.close()
    assert code == 1 and text.startswith("ForkError: this client's connection pool")
    assert len(server.seen) == sent  # nothing was sent from the child
    assert issubclass(ForkError, StreamError)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
@pytest.mark.parametrize("transport", ["default", "aiohttp"])
def test_an_async_client_used_after_fork_makes_its_own_connections(transport: str) -> None:
    import anyio

    from stream_moderation import AsyncStream
    from stream_moderation.aiohttp import AiohttpTransport

    with hostile_server(respond()) as server:
        given = AiohttpTransport() if transport == "aiohttp" else None
        client = AsyncStream(KEY, SECRET, base_url=server.url, transport=given)

        async def check() -> str:
            await client.moderation.check(entity_type="t", entity_id="1", entity_creator_id="u")
            return "ok"

        anyio.run(check)
        parent_port = server.seen[-1].peer_port
        code, text = _in_child(lambda: anyio.run(check))
        assert (code, text) == (0, "ok")
        child_port = server.seen[-1].peer_port
        # (the parent's pool belongs to the event loop that ran its call, now closed: as
        # with any async client, it is not reused from another loop)
    assert child_port != parent_port
