"""Hypothesis strategies for valid instances of the merged spec's schemas.

Derived from ``_generated/spec.json``, the spec the SDK was generated from, so that they
follow every regeneration: objects with their required fields and any optional ones,
arrays, free-form maps, enums (known values, or unknown ones when asked), and date-time
fields in both wire encodings (unix nanoseconds and RFC 3339 strings, also as digits).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from hypothesis import strategies as st

__all__ = ["SCHEMAS", "json_values", "schema_instances", "wire_timestamps"]

SPEC: dict[str, Any] = json.loads(
    resources.files("stream_moderation._generated").joinpath("spec.json").read_text()
)
SCHEMAS: dict[str, dict[str, Any]] = SPEC["components"]["schemas"]
MAX_DEPTH = 3

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)

_MIN_NS = -62_135_596_800 * 10**9  # 0001-01-01
_MAX_NS = 253_402_300_799 * 10**9  # 9999-12-31


@st.composite
def _rfc3339(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    digits = draw(st.integers(0, 9))
    fraction = f".{draw(st.integers(0, 10**digits - 1)):0{digits}d}" if digits else ""
    minutes = draw(st.sampled_from([0, 60, -300, 330, 765]))
    if minutes == 0:
        zone = draw(st.sampled_from(["Z", "z", "+00:00"]))
    else:
        sign = "-" if minutes < 0 else "+"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{date}T{moment:%H:%M:%S}{fraction}{zone}"


wire_timestamps = st.one_of(
    st.integers(_MIN_NS, _MAX_NS),
    _rfc3339(),
    st.integers(0, _MAX_NS).map(str),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
)


def _strategy(schema: dict[str, Any], depth: int, unknown_enums: bool) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return schema_instances(name, depth + 1, unknown_enums)
    if "enum" in schema:
        known = st.sampled_from(schema["enum"])
        if not unknown_enums:
            return known
        unknown = st.text(min_size=1, max_size=10).filter(lambda v: v not in schema["enum"])
        return known | unknown
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return wire_timestamps
        value = st.text(max_size=12)
        return value | st.none() if schema.get("nullable") else value
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31 - 1))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-1000, 1000)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        size = 0 if depth >= MAX_DEPTH else 2
        return st.lists(_strategy(schema.get("items", {}), depth, unknown_enums), max_size=size)
    if kind == "object" and schema.get("properties"):
        return _object(schema, depth, unknown_enums)
    if kind == "object":
        values = schema.get("additionalProperties") or {}
        inner = json_values if not values else _strategy(values, depth, unknown_enums)
        return st.dictionaries(st.text(max_size=6), inner, max_size=0 if depth >= MAX_DEPTH else 2)
    return json_values


def _object(
    schema: dict[str, Any], depth: int, unknown_enums: bool
) -> st.SearchStrategy[dict[str, Any]]:
    props = schema["properties"]
    required = set(schema.get("required", []))
    fixed = {
        name: _strategy(p, depth, unknown_enums) for name, p in props.items() if name in required
    }
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if depth < MAX_DEPTH:
        for name, prop in props.items():
            if name in required:
                continue
            value = _strategy(prop, depth, unknown_enums)
            # An optional object or array may come as null; it reads as None.
            nullable = prop.get("type") in ("array", "object") or "$ref" in prop
            optional[name] = value | st.none() if nullable else value
    known = st.fixed_dictionaries(fixed, optional=optional)
    extra_keys = st.text(min_size=1, max_size=8).map(lambda k: f"x_unknown_{k}")
    extras = st.dictionaries(extra_keys, json_values, max_size=2)
    return st.tuples(known, extras).map(lambda pair: {**pair[1], **pair[0]})


@cache
def schema_instances(
    name: str, depth: int = 0, unknown_enums: bool = True
) -> st.SearchStrategy[Any]:
    """Valid JSON instances of component schema ``name`` (lazily, so cycles terminate)."""
    return st.deferred(lambda: _strategy(SCHEMAS[name], depth, unknown_enums))
