"""A spec update never breaks the emulator: an operation without a handler is answered
from its response schema (declared status, well-typed required fields, request values
echoed, an X-Stream-Emulator header, never a 500); a required response field a handler
leaves out is filled from the schema; a handler of an operation the release lacks is left
unused with one log line. The handlers are taken away here to stand in for a release newer
than the emulator (tests/codegen/test_releases.py regenerates such a release for real)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stream_moderation._generated import SPEC_VERSION
from stream_moderation._generated.api import OPERATIONS
from stream_moderation.testing import Emulator
from stream_moderation.testing._ops import HANDLERS, Call, load_handlers
from stream_moderation.testing._spec import load_spec, operations
from tests.support.emulator_support import KEY, SECRET, async_client, check_response, headers
from tests.support.generated_versions import PayloadBuilder

pytestmark = pytest.mark.anyio


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The handler table, to take handlers away from (restored afterwards)."""
    load_handlers()
    saved = dict(HANDLERS)
    yield HANDLERS
    HANDLERS.clear()
    HANDLERS.update(saved)


def test_every_operation_is_answered_from_its_schema_without_a_handler(
    handlers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    handlers.clear()
    with caplog.at_level(logging.WARNING, "stream_moderation.testing"):
        emu = Emulator(KEY, SECRET)
    assert emu.not_emulated == sorted(OPERATIONS)
    starts = [r.message for r in caplog.records if "not emulated" in r.message]
    assert len(starts) == 1 and f"{len(OPERATIONS)} operation(s)" in starts[0]
    spec = load_spec()
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as client:
        for name, op in sorted(operations().items()):
            body = None
            if op.request_schema is not None:
                body = PayloadBuilder(spec, full_depth=0).build(op.request_schema)
            path = re.sub(r"\{([^}]+)\}", r"\1-1", op.path)
            query = {
                p.name: {"boolean": "true", "integer": "7", "number": "7"}.get(p.type, "q")
                for p in op.params
                if p.location == "query" and p.required
            }
            response = client.request(
                op.method,
                path,
                params={"api_key": KEY, **query},
                json=body,
                headers=headers(),
            )
            assert response.status_code == op.success_status, (name, response.text)
            assert response.headers["X-Stream-Emulator"] == "not-emulated"
            check_response(
                op.method,
                path,
                response.status_code,
                response.content,
                response.headers,
                allow_not_emulated=True,
            )
    assert emu.app.not_emulated_calls == dict.fromkeys(sorted(OPERATIONS), 1)


async def test_the_fallback_echoes_the_request_into_same_named_fields(
    handlers: dict[str, Any],
) -> None:
    name = "create_queue" if "create_queue" in OPERATIONS else "upsert_moderation_rule"
    del handlers[name]
    emu = Emulator(KEY, SECRET)
    client = async_client(emu, allow_not_emulated=True)
    if name == "create_queue":
        made = await client.moderation.create_queue(
            name="triage", type="operational_queue", filters={"reviewed": False}
        )
        queue = made.data.queue
        assert (queue.name, queue.type, queue.filters) == (
            "triage",
            "operational_queue",
            {"reviewed": False},
        )
        assert queue.item_count == 0 and queue.created_at  # well-typed, not echoed
    else:
        made = await client.moderation.upsert_moderation_rule(name="r", rule_type="user")
        assert (made.data.rule.name, made.data.rule.rule_type) == ("r", "user")
    assert made.status_code == operations()[name].success_status
    assert made.headers["x-stream-emulator"] == "not-emulated"
    # the other operations keep their semantics
    assert "x-stream-emulator" not in (await client.moderation.upsert_config(key="k")).headers


async def test_required_fields_a_handler_leaves_out_are_filled(
    handlers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    original = handlers["query_moderation_rules"]

    def forgetful(call: Call) -> dict[str, Any]:
        out = original(call)
        del out["default_llm_labels"], out["rules"]
        return out

    handlers["query_moderation_rules"] = forgetful
    emu = Emulator(KEY, SECRET)
    client = async_client(emu)
    with caplog.at_level(logging.INFO, "stream_moderation.testing"):
        for _ in range(2):
            response = await client.moderation.query_moderation_rules()
    assert response.data.default_llm_labels == {} and response.data.rules == []
    assert "x-stream-emulator" not in response.headers  # the operation is emulated
    assert emu.filled_fields == {
        "QueryModerationRulesResponse.default_llm_labels": 2,
        "QueryModerationRulesResponse.rules": 2,
    }
    logged = [r.message for r in caplog.records if r.message.startswith("filled ")]
    assert len(logged) == 2  # once per field, not per call


def test_a_handler_for_an_operation_the_release_lacks_is_left_unused(
    handlers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    handlers["list_things_from_the_future"] = lambda call: {}
    with caplog.at_level(logging.INFO, "stream_moderation.testing"):
        emu = Emulator(KEY, SECRET)
    unused = emu.app.unused_handlers  # with the handlers of later releases, for an older one
    assert "list_things_from_the_future" in unused
    assert set(unused) == set(handlers) - set(OPERATIONS)
    lines = [r.message for r in caplog.records if "left unused" in r.message]
    assert lines == [
        f"{SPEC_VERSION} has no {', '.join(unused)}: {len(unused)} handler(s) left unused"
    ]
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as client:
        assert client.get("/_emulator/health").status_code == 200


def test_a_filled_timestamp_is_the_same_whenever_it_is_filled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A required field the emulator does not set is filled at each answer: a timestamp among
    # them once read the clock, so a stored record answered differently each time it was
    # read (and after a restart with the same state).
    import time

    from stream_moderation.testing._fallback import FILLED_TIMESTAMP_NS, fill_required
    from stream_moderation.testing._wire import ts

    schemas = load_spec()["components"]["schemas"]
    name, field = next(
        (name, field)
        for name, schema in sorted(schemas.items())
        for field in schema.get("required", [])
        if schema.get("properties", {}).get(field, {}).get("format") == "date-time"
    )
    first: dict[str, Any] = {}
    fill_required(name, first)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "time_ns", lambda: int(later * 1e9))
    second: dict[str, Any] = {}
    fill_required(name, second)
    assert first[field] == second[field] == ts(FILLED_TIMESTAMP_NS)
