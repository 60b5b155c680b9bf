"""Arbitrary requests built from the spec's request schemas (valid, nearly valid and wrong)
never make the emulator answer 500; what it accepts, it answers with spec-valid JSON, and
every query still answers after it; what it refuses changes nothing. Strings include
lone surrogates and NUL characters (JSON escapes), which no API stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_moderation.testing import DEFAULT_TRIGGERS, Emulator
from stream_moderation.testing._spec import load_spec, operations
from tests.support.emulator_support import (
    KEY,
    SECRET,
    check_response,
    headers,
    query_operations,
    raw_json,
    state_snapshot,
)

SCHEMAS = load_spec()["components"]["schemas"]
# Not text: a lone surrogate (stored, it made every later answer that held it a 500) and NUL.
NOT_TEXT = st.sampled_from(["x\udfff", "\ud800", "a\x00b"])
IDS = st.sampled_from(["m1", "m2", "u1", "u2", "policy", "stream:user", "", "x" * 300])
TEXT = st.text(max_size=10) | NOT_TEXT
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | NOT_TEXT


# Plausible values for fields the handlers interpret, so that most requests get past
# validation and reach the handlers' logic.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "config_key": st.sampled_from(["policy", "missing"]),
    "entity_type": st.sampled_from(["stream:chat:v1:message", "stream:user", "custom"]),
    "rule_type": st.sampled_from(["user", "content", "call", "other"]),
    "logic": st.sampled_from(["AND", "OR"]),
    "published_at": st.sampled_from(["2024-01-02T03:04:05Z", "yesterday"]),
    "csv_file": st.sampled_from(["https://example.com/a.csv", "a.csv"]),
    "s3_url": st.sampled_from(["stream+s3://bucket/key", "s3://bucket/key"]),
    "priority": st.sampled_from(["low", "high", "urgent"]),
    "user_id": st.sampled_from(["u1", "u2", "mod"]),
    "target_user_id": st.sampled_from(["u1", "u2"]),
    "entity_creator_id": st.sampled_from(["u1", "u2"]),
    "field": st.sampled_from(["created_at", "entity_id", "key", "colour"]),
    "direction": st.sampled_from([1, -1, 0, 2]),
    "name": st.sampled_from(["profanity_en", "rule", "nope"]),
    "label": st.sampled_from(["SPAM", "HARASSMENT", "Explicit Nudity"]),
}


def wrong() -> st.SearchStrategy[Any]:
    return (
        JSON_LEAF
        | st.lists(JSON_LEAF, max_size=2)
        | st.dictionaries(st.text(max_size=3), JSON_LEAF, max_size=2)
    )


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    kind = schema.get("type")
    if depth > 4 and kind in ("object", "array", None):
        return st.just([] if kind == "array" else {})
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "date-time":
        return st.sampled_from(
            [1_700_000_000_000_000_000, "2024-01-02T03:04:05Z", "2024-01-02", "nope"]
        )
    if kind == "string":
        return IDS | TEXT
    if kind == "integer":
        low, high = schema.get("minimum", -5), schema.get("maximum", 200)
        return st.integers(min_value=int(low) - 1, max_value=int(high) + 1)
    if kind == "number":
        return st.floats(min_value=-1, max_value=120, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = schema.get("items", {})
        return st.lists(from_schema(items, depth + 1), max_size=schema.get("maxItems", 3) + 1)
    properties = schema.get("properties")
    if properties:
        required = set(schema.get("required", []))

        def field(name: str, sub: dict[str, Any]) -> st.SearchStrategy[Any]:
            return FIELD_VALUES.get(name, from_schema(sub, depth + 1))

        return st.fixed_dictionaries(
            {name: field(name, sub) for name, sub in properties.items() if name in required},
            optional={
                name: field(name, sub) | st.none()
                for name, sub in properties.items()
                if name not in required
            },
        )
    return st.dictionaries(st.sampled_from(["a", "b", "field", "k\udc00"]), JSON_LEAF, max_size=2)


def body_strategy(name: str) -> st.SearchStrategy[Any]:
    op = operations()[name]
    if op.request_schema is None:
        return st.just(None)
    valid = from_schema(SCHEMAS[op.request_schema])
    # one_of would flatten wrong()'s many branches and outweigh the valid ones
    return st.integers(0, 9).flatmap(lambda n: wrong() if n == 0 else valid)


@pytest.fixture(scope="module")
def http() -> Iterator[tuple[Emulator, httpx.Client]]:
    emulator = Emulator(KEY, SECRET, webhook_callback=lambda delivery: None)
    with httpx.Client(
        transport=emulator.sync_transport(), base_url="http://e", params={"api_key": KEY}
    ) as client:
        client.post("/api/v2/moderation/config", json={"key": "policy"}, headers=headers())
        yield emulator, client


@pytest.mark.parametrize("name", sorted(operations()))
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_500(http: tuple[Emulator, httpx.Client], name: str, data: st.DataObject) -> None:
    emulator, client = http
    op = operations()[name]
    state = emulator.state
    known = [*state.items, *state.appeals, *state.tasks, *state.queues, *state.policy_sets]
    known += list(state.policy_runs)
    path = op.path

    def existing_id() -> str:
        # an index, not sampled_from(known): the number of draws must not depend on the state
        index = data.draw(st.integers(0, 10**6))
        return known[index % len(known)] if known else "x"

    for param in op.params:
        if param.location == "path":
            kind = data.draw(st.integers(0, 2))
            value = existing_id() if kind == 0 else data.draw(IDS) if kind == 1 else "policy"
            path = path.replace("{" + param.name + "}", value or "x")
    query = {
        p.name: data.draw(from_schema({"type": p.type}).map(str))
        for p in op.params
        if p.location == "query" and data.draw(st.booleans())
    }
    body = data.draw(body_strategy(name))
    if isinstance(body, dict) and "item_id" in body:
        body["item_id"] = existing_id()
    before = state_snapshot(emulator)
    sent = op.method in ("POST", "PATCH", "PUT") and body is not None
    # what a raw client can put in a URL: UTF-8 bytes, surrogates too (percent-encoded)
    encoded = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
    response = client.request(
        op.method,
        f"{path}?{encoded}" if encoded else path,
        params={"api_key": KEY},
        content=raw_json(body) if sent else None,
        headers=headers(**({"Content-Type": "application/json"} if sent else {})),
    )
    assert response.status_code < 500, response.text
    check_response(op.method, path, response.status_code, response.content, response.headers)
    if response.status_code >= 400:
        assert state_snapshot(emulator) == before, f"refused, yet changed: {response.text}"
    elif op.method != "GET":
        for query_name in query_operations():
            query_op = operations()[query_name]
            answer = client.request(
                query_op.method,
                query_op.path,
                json={} if query_op.request_schema else None,
                headers=headers(),
            )
            assert answer.status_code == query_op.success_status, (query_name, answer.text)


PHRASES = [t.text for triggers in DEFAULT_TRIGGERS.values() for t in triggers if not t.regex]
TEXTS = st.lists(
    st.sampled_from(PHRASES)
    | st.text(st.characters(exclude_characters="\x00"), max_size=15)  # text the API stores
    | st.just("shit happens"),
    max_size=3,
).map(" ".join)


def enum(schema: str, field: str = "action") -> st.SearchStrategy[str]:
    return st.sampled_from(SCHEMAS[schema]["properties"][field]["enum"])


LABELS = st.sampled_from([*DEFAULT_TRIGGERS, "toxic", "hate speech", "Explicit Nudity", "OTHER"])
SEVERITY_RULES = st.lists(
    st.fixed_dictionaries(
        {
            "severity": enum("BodyguardSeverityRule", "severity"),
            "action": enum("BodyguardSeverityRule"),
        }
    ),
    max_size=3,
)
LABEL_RULES = st.lists(
    st.fixed_dictionaries(
        {"label": LABELS},
        optional={"action": enum("BodyguardRule"), "severity_rules": SEVERITY_RULES},
    ),
    max_size=4,
)
THRESHOLD_RULES = st.lists(
    st.fixed_dictionaries(
        {"label": LABELS, "threshold": st.floats(0, 1), "action": enum("AutomodRule")}
    ),
    max_size=3,
)
TARGETED_POLICY = st.fixed_dictionaries(
    {},
    optional={
        "ai_text_config": st.fixed_dictionaries(
            {"rules": LABEL_RULES}, optional={"severity_rules": SEVERITY_RULES}
        ),
        "llm_config": st.fixed_dictionaries(
            {"rules": LABEL_RULES.map(lambda rules: [{**r, "description": "d"} for r in rules])}
        ),
        "block_list_config": st.fixed_dictionaries(
            {
                "rules": st.lists(
                    st.fixed_dictionaries(
                        {"name": st.just("profanity_en"), "action": enum("BlockListRule")}
                    ),
                    max_size=2,
                )
            },
            optional={"match_substring": st.booleans()},
        ),
        "automod_toxicity_config": st.fixed_dictionaries({"rules": THRESHOLD_RULES}),
        "automod_platform_circumvention_config": st.fixed_dictionaries({"rules": THRESHOLD_RULES}),
        "ai_image_config": st.fixed_dictionaries(
            {
                "rules": st.lists(
                    st.fixed_dictionaries(
                        {
                            "label": LABELS,
                            "min_confidence": st.floats(0, 100),
                            "action": enum("AWSRekognitionRule"),
                        }
                    ),
                    max_size=2,
                )
            }
        ),
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    policy=TARGETED_POLICY | from_schema(SCHEMAS["UpsertConfigRequest"]),
    texts=st.lists(TEXTS, max_size=3),
    images=st.lists(
        st.sampled_from(["https://x/explicit-nudity.jpg", "https://x/cat.png"]), max_size=2
    ),
    creator=st.sampled_from(["u1", "u2"]),
    test_mode=st.booleans(),
)
def test_any_accepted_policy_checks_without_error(
    http: tuple[Emulator, httpx.Client],
    policy: dict[str, Any],
    texts: list[str],
    images: list[str],
    creator: str,
    test_mode: bool,
) -> None:
    _, client = http
    policy = {**policy, "key": "fuzz", "team": None}
    upserted = client.post(
        "/api/v2/moderation/config",
        content=raw_json(policy),
        headers=headers(**{"Content-Type": "application/json"}),
    )
    assert upserted.status_code in (201, 400), upserted.text
    if upserted.status_code != 201:
        return
    body = {
        "entity_type": "stream:chat:v1:message",
        "entity_id": f"fuzz-{len(texts)}",
        "entity_creator_id": creator,
        "moderation_payload": {"texts": texts, "images": images},
        "config_key": "fuzz",
        "test_mode": test_mode,
    }
    response = client.post("/api/v2/moderation/check", json=body, headers=headers())
    assert response.status_code == 201, response.text
    check_response("POST", "/api/v2/moderation/check", 201, response.content)
    assert response.json()["recommended_action"] in ("keep", "flag", "remove")
