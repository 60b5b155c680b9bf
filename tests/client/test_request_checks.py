"""Strict out: what a call sends is checked against the spec before it leaves. Every typo
raises a StreamError naming the key and the closest valid one, and nothing reaches the
server (the served emulator counts every request that arrives)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stream_moderation import (
    ArgumentTypeError,
    ArgumentValueError,
    AsyncStream,
    ParseError,
    StreamError,
    UnknownFieldError,
)
from stream_moderation.models import AITextConfig, BodyguardRule, ModerationPayload
from tests.support.fault_support import KEY, MESSAGE, SECRET, Served, served_emulator

pytestmark = pytest.mark.anyio
CHECK: dict[str, Any] = {"entity_type": MESSAGE, "entity_id": "m-1", "entity_creator_id": "u"}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_emulator() as served:
        yield served


TYPOS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    (
        "check",
        {**CHECK, "moderation_payload": {"text": ["buy now cheap pills"]}},
        UnknownFieldError,
        "moderation_payload: unknown field 'text' (did you mean 'texts'?)",
    ),
    (
        "upsert_config",
        {"key": "cfg", "ai_text_config": {"rulez": [{"label": "SPAM", "action": "flag"}]}},
        UnknownFieldError,
        "ai_text_config: unknown field 'rulez' (did you mean 'rules'?)",
    ),
    (
        "upsert_config",
        {"key": "cfg", "ai_text_config": {"rules": [{"lable": "SPAM", "action": "flag"}]}},
        UnknownFieldError,
        "ai_text_config.rules[0]: unknown field 'lable' (did you mean 'label'?)",
    ),
    (
        "upsert_config",
        {"key": "cfg", "ai_text_config": {"rules": [{"label": "SPAM", "action": "flagg"}]}},
        ParseError,
        "ai_text_config.rules[].action: string 'flagg' is not one of",
    ),
    (
        "submit_action",
        {"action_type": "mark_reviewd", "item_id": "x"},
        ArgumentValueError,
        "action_type: string 'mark_reviewd' is not one of",
    ),
    (
        "check",
        {**CHECK, "moderation_payload": ["buy now"]},
        ArgumentTypeError,
        "moderation_payload: expected ModerationPayload or a dict, got an array",
    ),
    ("check", {**CHECK, "entity_id": 42}, ArgumentTypeError, "entity_id: expected a string"),
    (
        "check",
        {**CHECK, "moderation_payload": {"texts": ["half a pair \ud83d"]}},
        ArgumentValueError,
        "check: a text argument is not valid Unicode",
    ),
    (
        "check",
        {**CHECK, "extra_headers": {"X-Note": "café"}},
        ArgumentValueError,
        "extra_headers: header names and values must be ASCII",
    ),
]


@pytest.mark.parametrize(
    ("operation", "kwargs", "error", "message"), TYPOS, ids=lambda v: str(v)[:30]
)
async def test_a_typo_raises_before_anything_is_sent(
    served: Served, operation: str, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    served.faults.reset_counts()
    async with AsyncStream(KEY, SECRET, base_url=served.url) as client:
        with pytest.raises(error) as caught:
            await getattr(client.moderation, operation)(**kwargs)
    assert isinstance(caught.value, StreamError)
    assert str(caught.value).startswith(message), str(caught.value)
    assert sum(served.faults.attempts.values()) == 0  # nothing reached the server


async def test_did_you_mean_names_the_closest_key(served: Served) -> None:
    served.faults.reset_counts()
    async with AsyncStream(KEY, SECRET, base_url=served.url) as client:
        with pytest.raises(UnknownFieldError) as caught:
            await client.moderation.check(**CHECK, moderation_payload={"imgs": ["u"]})
    assert (caught.value.field, caught.value.suggestion) == ("imgs", "images")
    assert isinstance(caught.value, (ValueError, TypeError))  # a ParseError and a TypeError
    assert sum(served.faults.attempts.values()) == 0


async def test_extra_body_still_sends_what_the_spec_does_not_list(served: Served) -> None:
    served.faults.reset_counts()
    async with AsyncStream(KEY, SECRET, base_url=served.url) as client:
        await client.moderation.upsert_config(key="cfg-extra", extra_body={"new_section": {}})
    assert served.faults.attempts["upsert_config"] == 1


def test_model_constructors_refuse_unknown_names_at_any_depth() -> None:
    with pytest.raises(UnknownFieldError, match=r"^ModerationPayload: unknown field 'text' "):
        ModerationPayload(text=["a"])  # type: ignore[call-arg]
    with pytest.raises(UnknownFieldError, match=r"AITextConfig\.rules\[0\]: unknown field"):
        AITextConfig(rules=[{"label": "SPAM", "acton": "flag"}])  # type: ignore[list-item]
    with pytest.raises(ArgumentTypeError, match="keyword arguments only"):
        BodyguardRule("SPAM")  # type: ignore[misc]
    rule = BodyguardRule(label="SPAM", action="flag")
    assert AITextConfig(rules=[{"label": "SPAM", "action": "flag"}]).rules == [rule]


def test_additional_properties_is_the_explicit_way_and_its_repr_is_well_formed() -> None:
    payload = ModerationPayload(additional_properties={"text": ["a"]})
    assert repr(payload) == "ModerationPayload(additional_properties={'text': ['a']})"
    assert repr(ModerationPayload()) == "ModerationPayload()"
    both = ModerationPayload(texts=["b"], additional_properties={"x": 1})
    assert repr(both) == "ModerationPayload(texts=['b'], additional_properties={'x': 1})"
