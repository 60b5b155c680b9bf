"""The generated models on real-shaped payloads, for the committed release and a regenerated one.

Payloads: the shared fixtures (CheckResponse, ReviewQueueItemResponse) and payloads
built from each release's spec for the central models and every webhook event, with
timestamps as unix-nanosecond integers, RFC 3339 strings (with offsets) and numeric
strings, unknown fields, unknown enum values and nulls.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from stream_moderation.testing._fallback import SchemaFiller
from tests import fixtures
from tests.support.generated_versions import (
    PINNED,
    UNKNOWN_ENUM,
    UNKNOWN_FIELD,
    UNKNOWN_FIELD_VALUE,
    VERSIONS,
    Generated,
    PayloadBuilder,
    generated,
    schema_name,
    walk,
)

FIXTURE_MODELS = fixtures.MODELS
CENTRAL = [
    "CheckResponse",
    "ReviewQueueItemResponse",
    "ModerationFlagResponse",
    "ActionLogResponse",
    "AppealItemResponse",
    "ConfigResponse",
    "QueryReviewQueueResponse",
]
TIMESTAMPS = ["ns", "rfc3339", "numeric", "mixed"]


@pytest.fixture(scope="module", params=VERSIONS)
def gen(request: pytest.FixtureRequest) -> Generated:
    return generated(request.param)


@pytest.fixture(scope="module")
def pinned() -> Generated:
    return generated(PINNED)


def fixture(name: str, gen: Generated | None = None) -> Any:
    """A fixture completed from the spec of ``gen`` (default: the pinned release)."""
    return fixtures.load(name, None if gen is None else gen.spec)


def declared(gen: Generated, schema: dict[str, Any], value: Any) -> Any:
    """``value`` without the fields its schema (in ``gen``'s spec) does not declare."""
    schema = SchemaFiller(gen.spec["components"]["schemas"]).resolve(schema)
    if isinstance(value, list):
        return [declared(gen, schema.get("items", {}), v) for v in value]
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties")
    if properties:
        return {k: declared(gen, properties[k], v) for k, v in value.items() if k in properties}
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        return {k: declared(gen, values, v) for k, v in value.items()}
    return value


def central_and_events(gen: Generated) -> list[str]:
    events = sorted(set(gen.module("events").EVENT_MODELS.values()))
    return CENTRAL + events


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def iter_values(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from iter_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from iter_values(v)
    else:
        yield value


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def expected_ns(text: str) -> int:
    """Unix nanoseconds of an RFC 3339 string, computed independently of the SDK."""
    import datetime as dt

    base, fraction, zone = _RFC3339.fullmatch(text).groups()  # type: ignore[union-attr]
    stamp = dt.datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return int(stamp.timestamp()) * 10**9 + int((fraction or "").ljust(9, "0"))


# --- the shared fixtures ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXTURE_MODELS))
@pytest.mark.parametrize("strict", [False, True], ids=["tolerant", "strict"])
def test_fixture_round_trip(gen: Generated, name: str, strict: bool) -> None:
    payload = fixture(name, gen)
    model = gen.model(FIXTURE_MODELS[name]).from_dict(payload, strict=strict)
    assert model.to_dict() == payload
    assert canonical(model.to_dict()) == canonical(payload)
    found = walk(model, gen)
    assert found.problems == []
    assert found.models > 10
    # the timestamps of the fields the release declares (one it dropped is kept as received)
    typed = declared(gen, {"$ref": f"#/components/schemas/{FIXTURE_MODELS[name]}"}, payload)
    if name.endswith("_ns.json"):
        expected = [v for v in iter_values(typed) if type(v) is int and v > 10**18]
    else:
        expected = [
            expected_ns(v)
            for v in iter_values(typed)
            if isinstance(v, str) and _RFC3339.fullmatch(v)
        ]
    assert len(expected) > 20
    assert sorted(found.stamps) == sorted(expected)  # exact nanoseconds, every one


def test_fixture_typed_access(pinned: Generated) -> None:
    response = pinned.model("CheckResponse").from_dict(fixture("check_response_heavy_ns.json"))
    item = response.item
    assert type(item).__name__ == "ReviewQueueItemResponse"
    flag = item.flags[0]
    assert type(flag).__name__ == "ModerationFlagResponse"
    assert (
        flag.created_at.unix_ns
        == fixture("check_response_heavy_ns.json")["item"]["flags"][0]["created_at"]
    )
    assert flag.created_at.tzinfo is not None
    # the docs list complete/partial; the fixture's "completed" is kept as it came
    assert str(response.status) == "completed"
    assert isinstance(response.status, pinned.types.UnknownValue)


# --- payloads built from the spec: central models and every event -------------------------


@pytest.mark.parametrize("timestamps", TIMESTAMPS)
def test_central_models_and_events_round_trip(gen: Generated, timestamps: str) -> None:
    for name in central_and_events(gen):
        builder = PayloadBuilder(gen.spec, timestamps=timestamps)
        payload = builder.build(name)
        for strict in (False, True):
            model = gen.model(name).from_dict(copy.deepcopy(payload), strict=strict)
            assert model.to_dict() == payload, name
            assert canonical(model.to_dict()) == canonical(payload), name
            found = walk(model, gen)
            assert found.problems == [], name
            assert sorted(found.stamps) == sorted(builder.stamps), name
        assert builder.stamps, f"{name}: no timestamp in the payload"


def test_every_model_round_trips(gen: Generated) -> None:
    models = gen.module("models")
    for name in models.__all__:
        cls = getattr(models, name)
        if not hasattr(cls, "from_dict"):
            continue
        builder = PayloadBuilder(gen.spec, timestamps="mixed", unknown_fields=True, full_depth=1)
        payload = builder.build(schema_name(name))
        model = cls.from_dict(payload)
        assert canonical(model.to_dict()) == canonical(payload), name
        assert walk(model, gen).problems == [], name
        assert cls.from_dict(model.to_dict(), strict=True).to_dict() == payload, name


def test_unknown_fields_are_kept_at_every_level(gen: Generated) -> None:
    for name in central_and_events(gen):
        payload = PayloadBuilder(gen.spec, unknown_fields=True).build(name)
        model = gen.model(name).from_dict(payload, strict=True)
        assert model.additional_properties == {UNKNOWN_FIELD: UNKNOWN_FIELD_VALUE}
        assert model.to_dict() == payload, name
    item = PayloadBuilder(gen.spec, unknown_fields=True).build("ReviewQueueItemResponse")
    parsed = gen.model("ReviewQueueItemResponse").from_dict(item)
    assert parsed.flags[0].additional_properties == {UNKNOWN_FIELD: UNKNOWN_FIELD_VALUE}


def test_unknown_enum_values_parse_and_round_trip(gen: Generated) -> None:
    seen = 0
    models = gen.module("models")
    for name in models.__all__:
        if not hasattr(getattr(models, name), "from_dict"):
            continue
        builder = PayloadBuilder(gen.spec, enum=UNKNOWN_ENUM)
        payload = builder.build(schema_name(name))
        model = getattr(models, name).from_dict(payload)
        found = walk(model, gen)
        assert found.problems == []
        assert len(found.unknown_enums) == builder.enum_fields, name
        assert model.to_dict() == payload
        assert canonical(model.to_dict()) == canonical(payload)
        if builder.spec_enum_fields:  # documented enums stay open, also when strict
            seen += 1
            with pytest.raises(gen.errors.ParseError, match="is not one of") as info:
                getattr(models, name).from_dict(payload, strict=True)
            assert info.value.location.startswith(f"{name}.")
            assert f"'{UNKNOWN_ENUM}'" in info.value.reason
    assert seen >= 20  # models with an enum somewhere in their payload


def test_null_optional_objects_and_arrays_parse_as_none(gen: Generated) -> None:
    for name in central_and_events(gen):
        payload = PayloadBuilder(gen.spec, nulls=True).build(name)
        nulls = [k for k, v in payload.items() if v is None]
        for strict in (False, True):
            model = gen.model(name).from_dict(payload, strict=strict)
            for key in nulls:
                assert model.to_dict()[key] is None
            assert model.to_dict() == payload, name
            assert walk(model, gen).problems == []
    item = PayloadBuilder(gen.spec, nulls=True).build("CheckResponse")
    assert item["item"] is None
    assert gen.model("CheckResponse").from_dict(item).item is None


def test_numeric_string_and_offset_timestamps_keep_their_wire_form(pinned: Generated) -> None:
    payload = fixture("check_response_lean_rfc3339.json")
    flag = payload["item"]["flags"][0] if payload["item"].get("flags") else None
    payload["item"]["created_at"] = "1715679472123456789"
    payload["item"]["updated_at"] = "2024-05-14T15:07:52.123456789+05:30"
    model = pinned.model("CheckResponse").from_dict(payload, strict=True)
    assert model.item.created_at.unix_ns == 1_715_679_472_123_456_789
    assert model.item.updated_at.unix_ns == 1_715_679_472_123_456_789
    assert model.item.created_at == model.item.updated_at
    assert model.item.updated_at.utcoffset().total_seconds() == 5.5 * 3600
    assert model.to_dict() == payload
    assert flag is None or model.item.flags[0].to_dict() == flag


# --- errors name the model and the field path ------------------------------------------------


def heavy() -> dict[str, Any]:
    return fixture("check_response_heavy_rfc3339.json")  # type: ignore[no-any-return]


STRICT = {"strict": True}
TOLERANT: dict[str, bool] = {}
COMPLETE = {"complete": True}  # what strict_response_validation=True reads with


@pytest.mark.parametrize(
    ("change", "mode", "location", "reason"),
    [
        (
            lambda d: d["item"]["flags"][0].update(created_at="yesterday"),
            STRICT,
            "CheckResponse.item.flags[].created_at",
            "not an RFC 3339 timestamp: 'yesterday'",
        ),
        (
            lambda d: d["item"]["flags"][0].update(created_at={"at": 1}),
            TOLERANT,
            "CheckResponse.item.flags[].created_at",
            "expected a timestamp (datetime, RFC 3339 string or unix nanoseconds), got an object",
        ),
        (
            lambda d: d["item"]["flags"][0].update(entity_id=5),
            TOLERANT,
            "CheckResponse.item.flags[].entity_id",
            "expected a string, got number 5",
        ),
        (
            lambda d: d["item"]["flags"][0].update(labels=["ok", 1]),
            STRICT,
            "CheckResponse.item.flags[].labels[]",
            "expected a string, got number 1",
        ),
        (
            lambda d: d["item"].update(flags={}),
            TOLERANT,
            "CheckResponse.item.flags[]",
            "expected an array, got an object",
        ),
        (
            lambda d: d["item"].update(entity_creator="user-1"),
            TOLERANT,
            "CheckResponse.item.entity_creator",
            "expected an object, got string 'user-1'",
        ),
        (
            lambda d: d["item"]["flags"][0].pop("entity_type"),
            COMPLETE,
            "CheckResponse.item.flags[].entity_type",
            "required field is missing",
        ),
        (
            lambda d: d.update(status=None),
            COMPLETE,
            "CheckResponse.status",
            "required field is null",
        ),
        (
            lambda d: d["item"].update(escalated="yes"),
            TOLERANT,
            "CheckResponse.item.escalated",
            "expected a boolean, got string 'yes'",
        ),
    ],
)
def test_parse_errors_name_model_and_field_path(
    pinned: Generated, change: Any, mode: dict[str, bool], location: str, reason: str
) -> None:
    payload = heavy()
    change(payload)
    with pytest.raises(pinned.errors.ParseError) as info:
        model = pinned.model("CheckResponse").from_dict(payload, **mode)
        walk(model, pinned)  # tolerant: nested models (and timestamps) are read when first used
    assert info.value.location == location
    assert info.value.reason == reason
    assert str(info.value) == f"{location}: {reason}"
    assert isinstance(info.value, ValueError)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_tolerant_parsing_reads_nested_models_when_first_used(pinned: Generated) -> None:
    cls = pinned.model("CheckResponse")
    payload = heavy()
    model = cls.from_dict(copy.deepcopy(payload))
    assert model == cls.from_dict(copy.deepcopy(payload), strict=True)  # read or not
    assert model.item is model.item  # read once, then kept
    assert model.item.flags[0].user is model.item.flags[0].user
    assert model.to_dict() == payload
    assert pickle.loads(pickle.dumps(model)) == model
    assert attrs.evolve(model, status="ignored").item == model.item

    payload["item"]["flags"][0]["user"]["banned"] = "yes"
    bad = cls.from_dict(copy.deepcopy(payload))  # the flag's user is not read yet
    assert bad.to_dict() == payload  # not read: given back as received
    assert bad.item.flags[0].entity_id == payload["item"]["flags"][0]["entity_id"]
    with pytest.raises(pinned.errors.ParseError) as info:
        _ = bad.item.flags[0].user
    assert str(info.value) == (
        "CheckResponse.item.flags[].user.banned: expected a boolean, got string 'yes'"
    )
    with pytest.raises(pinned.errors.ParseError) as strict:  # strict reading is eager
        cls.from_dict(copy.deepcopy(payload), strict=True)
    assert strict.value.location == info.value.location


def test_a_bad_timestamp_string_fails_when_read_in_tolerant_mode(pinned: Generated) -> None:
    payload = heavy()
    payload["item"]["flags"][0]["created_at"] = "yesterday"
    model = pinned.model("CheckResponse").from_dict(payload)  # tolerant: parsing is lazy
    assert model.to_dict() == payload
    with pytest.raises(pinned.errors.ParseError) as info:
        _ = model.item.flags[0].created_at
    assert str(info.value) == (
        "ModerationFlagResponse.created_at: not an RFC 3339 timestamp: 'yesterday'"
    )


def test_map_of_models_error_path(pinned: Generated) -> None:
    payload = PayloadBuilder(pinned.spec).build("MessageResponse")
    payload["reaction_groups"] = {"like": {"count": "many"}}
    with pytest.raises(pinned.errors.ParseError) as info:
        pinned.model("MessageResponse").from_dict(payload)
    assert info.value.location == "MessageResponse.reaction_groups{}.count"


def test_not_an_object(pinned: Generated) -> None:
    with pytest.raises(pinned.errors.ParseError) as info:
        pinned.model("CheckResponse").from_dict([1, 2])  # type: ignore[arg-type]
    assert str(info.value) == "CheckResponse: expected an object, got an array"


# --- no dict poses as a model -------------------------------------------------------------


def test_constructors_turn_mappings_into_models(pinned: Generated) -> None:
    m = pinned.model
    config = m("UpsertConfigRequest")(
        key="my_config",
        ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
        block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
    )
    assert isinstance(config.ai_text_config, m("AITextConfig"))
    rule = config.ai_text_config.rules[0]
    assert isinstance(rule, m("BodyguardRule"))
    assert rule.label == "SPAM"
    assert rule.action == "flag"
    assert config.to_dict() == {
        "key": "my_config",
        "ai_text_config": {"rules": [{"label": "SPAM", "action": "flag"}]},
        "block_list_config": {"rules": [{"name": "profanity_en", "action": "remove"}]},
    }
    payload = m("ModerationPayload")(texts=["hi"])
    check = m("CheckRequest")(
        entity_type="stream:chat:v1:message",
        entity_id="m1",
        entity_creator_id="u1",
        moderation_payload=payload,
    )
    assert check.moderation_payload is payload  # a model is taken as is
    message = m("MessageResponse").from_dict(PayloadBuilder(pinned.spec).build("MessageResponse"))
    group = PayloadBuilder(pinned.spec, full_depth=0).build("ReactionGroupResponse")
    evolved = attrs.evolve(message, reaction_groups={"like": group})
    assert isinstance(evolved.reaction_groups["like"], m("ReactionGroupResponse"))
    assert evolved.to_dict()["reaction_groups"] == {"like": group}


def test_constructors_refuse_what_is_not_a_model(pinned: Generated) -> None:
    m = pinned.model
    with pytest.raises(TypeError, match="expected ModerationPayload or a mapping, got string"):
        m("CheckRequest")(
            entity_type="t", entity_id="e", entity_creator_id="c", moderation_payload="hi"
        )
    with pytest.raises(TypeError, match="expected an array, got an object"):
        m("AITextConfig")(rules={"label": "SPAM"})
    with pytest.raises(pinned.errors.ParseError, match=r"ai_text_config\.rules\[\]\.label"):
        m("UpsertConfigRequest")(key="k", ai_text_config={"rules": [{"label": 5, "action": "x"}]})


# --- pickling (models cross process boundaries in workers) ------------------------------------


def test_parsed_models_pickle(pinned: Generated) -> None:
    model = pinned.model("CheckResponse").from_dict(fixture("check_response_heavy_ns.json"))
    clone = pickle.loads(pickle.dumps(model))
    assert clone == model
    assert clone.to_dict() == model.to_dict()
    assert clone.item.flags[0].created_at.unix_ns == model.item.flags[0].created_at.unix_ns
