"""Property-based tests over every component schema of the merged spec.

Valid instances round-trip losslessly through from_dict and to_dict (both timestamp
encodings, unknown fields, unknown enum values), and whatever JSON is thrown at the
central response models either parses or raises ParseError, never anything else.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_moderation import models
from stream_moderation.models import ParseError, Timestamp
from tests.support.generated_versions import class_name
from tests.support.spec_strategies import SCHEMAS, json_values, schema_instances


def model_class(schema: str) -> Any:
    """The class generated from a component schema."""
    return getattr(models, class_name(schema))


# Schemas that are not classes: the webhook union (dispatch is in webhooks), none else.
MODEL_NAMES = sorted(
    name
    for name in SCHEMAS
    if class_name(name) in models.__all__ and hasattr(model_class(name), "from_dict")
)
CENTRAL = [
    "CheckResponse",
    "ReviewQueueItemResponse",
    "QueryReviewQueueResponse",
    "ModerationFlagResponse",
    "ActionLogResponse",
    "AppealItemResponse",
    "ConfigResponse",
    "ReviewQueueItemNewEvent",
]
SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_object_schema_has_a_model() -> None:
    objects = {n for n, s in SCHEMAS.items() if s.get("type") == "object"}
    assert objects <= set(MODEL_NAMES)


def touch_timestamps(value: Any) -> None:
    """Read every property of a parsed model tree: its timestamps and its fields of models
    (tolerant parsing reads both when first used)."""
    if isinstance(value, list):
        for item in value:
            touch_timestamps(item)
    elif isinstance(value, dict):
        for item in value.values():
            touch_timestamps(item)
    elif hasattr(value, "to_dict"):
        for name in dir(type(value)):
            attr = getattr(type(value), name)
            if isinstance(attr, property) and name not in (
                "additional_properties",
                "fields_set",
                "dropped_nulls",
            ):
                result = getattr(value, name)
                if result is None or isinstance(result, Timestamp):
                    continue
                assert isinstance(result, list | dict) or hasattr(result, "to_dict"), name
                touch_timestamps(result)
        for field in getattr(value, "__attrs_attrs__", ()):
            if not field.name.startswith("_"):  # the others are read through properties
                touch_timestamps(getattr(value, field.name))


def assert_parses_or_raises_parse_error(cls: Any, name: str, payload: Any) -> None:
    """Tolerant and strict parsing either give a model or raise ParseError located in it;
    a model's timestamps (read lazily) give a Timestamp or raise ParseError too."""
    for strict in (False, True):
        try:
            model = cls.from_dict(payload, strict=strict)
        except ParseError as exc:
            assert exc.location.startswith(name)
            continue
        with contextlib.suppress(ParseError):
            touch_timestamps(model)
        assert isinstance(model.to_dict(), dict)


@SETTINGS
@given(st.sampled_from(MODEL_NAMES).flatmap(lambda n: st.tuples(st.just(n), schema_instances(n))))
def test_valid_instances_round_trip(case: tuple[str, dict[str, Any]]) -> None:
    name, instance = case
    model = model_class(name).from_dict(instance)
    assert model.to_dict() == instance
    touch_timestamps(model)


@pytest.mark.parametrize("name", MODEL_NAMES)
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_schema_round_trips(name: str, data: st.DataObject) -> None:
    """The sampled test above may miss a schema in a run (and test_generated_models builds
    one payload per model): here each schema gets generated instances of its own (both
    timestamp encodings, unknown fields and enum values)."""
    instance = data.draw(schema_instances(name))
    model = model_class(name).from_dict(instance)
    assert model.to_dict() == instance
    touch_timestamps(model)


@SETTINGS
@given(
    st.sampled_from(MODEL_NAMES).flatmap(
        lambda n: st.tuples(st.just(n), schema_instances(n, 0, False))
    )
)
def test_valid_instances_pass_strict_parsing(case: tuple[str, dict[str, Any]]) -> None:
    name, instance = case
    model = model_class(name).from_dict(instance, strict=True)
    assert model.to_dict() == instance


@pytest.mark.parametrize("name", CENTRAL)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_json_parses_or_raises_parse_error(name: str, data: st.DataObject) -> None:
    cls = model_class(name)
    payload = data.draw(json_values | st.dictionaries(st.text(max_size=12), json_values))
    assert_parses_or_raises_parse_error(cls, name, payload)


def _mutations(instance: Any) -> st.SearchStrategy[Any]:
    """The instance with one value somewhere inside replaced by arbitrary JSON."""
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(instance, ())

    def replace(path: tuple[Any, ...], new: Any) -> Any:
        if not path:
            return new
        out = copy.deepcopy(instance)
        target = out
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = new
        return out

    return st.tuples(st.sampled_from(paths), json_values).map(lambda pair: replace(*pair))


@pytest.mark.parametrize("name", CENTRAL)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_payloads_parse_or_raise_parse_error(name: str, data: st.DataObject) -> None:
    cls = model_class(name)
    instance = data.draw(schema_instances(name))
    payload = data.draw(_mutations(instance))
    assert_parses_or_raises_parse_error(cls, name, payload)


# Fields whose arrays the spec marks as holding nullable items (x-nullable-items, from the
# mark_nullable_elements transform): (schema, field), read from the generated spec.
NULLABLE_ITEMS = sorted(
    (name, prop)
    for name, schema in SCHEMAS.items()
    if name in MODEL_NAMES
    for prop, sub in schema.get("properties", {}).items()
    if sub.get("x-nullable-items")
)


def test_the_spec_marks_arrays_of_nullable_items() -> None:
    assert NULLABLE_ITEMS  # Go pointer slices: every release so far has some


@pytest.mark.parametrize(
    ("name", "prop"), NULLABLE_ITEMS, ids=[f"{n}.{p}" for n, p in NULLABLE_ITEMS]
)
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_null_elements_in_arrays_of_nullable_items_parse(name: str, prop: str, data: Any) -> None:
    """A spec-valid body with nulls in such an array parses: the list holds the elements
    that are there, dropped_nulls counts the nulls, to_dict gives back what was received."""
    instance = copy.deepcopy(data.draw(schema_instances(name)))
    elements = instance.get(prop) or []
    positions = data.draw(st.lists(st.integers(0, len(elements)), min_size=1, max_size=3))
    for position in sorted(positions, reverse=True):
        elements.insert(position, None)
    instance[prop] = elements
    # tolerant parsing, as responses are read (the strategy also draws enum values the
    # spec does not list, which strict parsing refuses)
    for model in [model_class(name).from_dict(copy.deepcopy(instance))]:
        field = prop if hasattr(model, prop) else f"{prop}_"
        held = getattr(model, field, None)
        assert held is not None and None not in held
        assert model.dropped_nulls.get(prop, model.dropped_nulls.get(field)) == len(positions)
        assert model.to_dict() == instance
