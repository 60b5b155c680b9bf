"""Answers built from the spec, so that a spec update never breaks the emulator.

- ``fallback_body``: the response of an operation the emulator has no handler for (one
  the release added since the emulator was written). Required fields get well-typed
  values, and the request's values (body, query and path parameters) are copied into the
  response fields of the same name, at the top level and inside its object fields (a
  ``create_x`` answering ``{"x": {...}}`` echoes what was sent).
- ``fill_required``: the required fields a handler left out (a release made them
  required), filled the same way, in place; it returns where, so they can be counted.

Both only read the spec shipped with the generated code; neither knows any operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from ._spec import load_spec
from ._wire import parse_time, ts

__all__ = [
    "FILLED_TIMESTAMP_NS",
    "SchemaFiller",
    "default_filler",
    "fallback_body",
    "fill_required",
]

FILLED_TIMESTAMP_NS = 1_715_679_472_000_000_000
"""The timestamp a filled-in required field holds (2024-05-14T09:37:52Z): the same in every
answer, so that a record the emulator keeps reads the same each time (and after a restart)."""

_REF = "#/components/schemas/"
_MAX_DEPTH = 8
"""Nested models below this depth are left empty (the spec's models refer to each other)."""
_COPY_DEPTH = 3
"""How deep a fallback answer looks for request values to copy into nested models."""
_NO = object()
"""A request value that does not fit the response field of the same name."""


class SchemaFiller:
    """Values built from the schemas of one spec (the shipped one by default: see
    ``default_filler``; tests use others, for the releases they regenerate)."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas
        self._shapes: dict[str, Mapping[str, Any]] = {}

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """A schema with its $ref (and single-member allOf/anyOf/oneOf) followed."""
        for _ in range(_MAX_DEPTH):
            ref = schema.get("$ref")
            if ref is None:
                for key in ("allOf", "anyOf", "oneOf"):
                    members = schema.get(key)
                    if isinstance(members, list) and len(members) == 1:
                        schema = members[0]
                        break
                else:
                    return schema
                continue
            schema = self.schemas[ref.removeprefix(_REF)]
        return schema

    def shape(self, name: str) -> Mapping[str, Any]:
        """The schema of a component, resolved."""
        shape = self._shapes.get(name)
        if shape is None:
            shape = self._shapes[name] = self.resolve({"$ref": _REF + name})
        return shape

    def value(self, schema: Mapping[str, Any], now: int, depth: int = 0) -> Any:
        """A well-typed value for a schema: the first enum value, zero, "", now, [], {},
        or a model with its required fields filled."""
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf", "allOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.value(schema[key][0], now, depth)
        if schema.get("enum"):
            return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
        kind = schema.get("type")
        if schema.get("format") == "date-time":
            return ts(now)
        if kind == "string":
            return "x" * int(schema.get("minLength", 0))
        if kind in ("integer", "number"):
            low = schema.get("minimum", 0)
            return max(0, int(low)) if kind == "integer" else max(0.0, float(low))
        if kind == "boolean":
            return False
        if kind == "array":
            count = int(schema.get("minItems", 0))
            return [self.value(schema.get("items", {}), now, depth + 1) for _ in range(count)]
        if _is_model(schema):
            out: dict[str, Any] = {}
            if depth < _MAX_DEPTH:
                self.fill_into(schema, out, now, depth + 1, "", [])
            return out
        return {}

    # -- filling the required fields a value lacks ----------------------------------------

    def fill_into(
        self,
        schema: Mapping[str, Any],
        value: dict[str, Any],
        now: int,
        depth: int,
        path: str,
        out: list[str],
    ) -> None:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in value and name in properties:
                value[name] = self.value(properties[name], now, depth)
                out.append(f"{path}.{name}" if path else name)
        for name, item in value.items():
            sub = properties.get(name)
            if sub is not None and isinstance(item, (dict, list)):
                self._fill(sub, item, now, depth, f"{path}.{name}" if path else name, out)

    def _fill(
        self,
        schema: Mapping[str, Any],
        value: Any,
        now: int,
        depth: int,
        path: str,
        out: list[str],
    ) -> None:
        if depth > _MAX_DEPTH:
            return
        schema = self.resolve(schema)
        if isinstance(value, dict):
            if _is_model(schema):
                self.fill_into(schema, value, now, depth + 1, path, out)
                return
            values = schema.get("additionalProperties")
            if isinstance(values, dict) and values:
                for key, item in value.items():
                    if isinstance(item, (dict, list)):
                        self._fill(values, item, now, depth + 1, f"{path}{{{key}}}", out)
        elif isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict) and items:
                for item in value:
                    if isinstance(item, (dict, list)):
                        self._fill(items, item, now, depth + 1, f"{path}[]", out)

    def fill_required(self, schema_name: str, value: dict[str, Any], now: int) -> list[str]:
        """Fill in place the required fields missing from ``value`` (a ``schema_name``
        object, at any depth); return their paths
        (``UpsertConfigResponse.config.ai_audio_config.enabled``)."""
        filled: list[str] = []
        self.fill_into(self.shape(schema_name), value, now, 1, schema_name, filled)
        return filled

    # -- the answer of an operation with no handler ----------------------------------------

    def _fit(self, schema: Mapping[str, Any], value: Any, now: int, depth: int) -> Any:
        """``value`` as a value of ``schema`` (a request value going into a response
        field), or ``_NO`` when it does not fit."""
        schema = self.resolve(schema)
        if "enum" in schema:
            return value if value in schema["enum"] else _NO
        kind = schema.get("type")
        if schema.get("format") == "date-time":
            try:
                return ts(parse_time(value))
            except (TypeError, ValueError, OverflowError):
                return _NO
        if kind == "string":
            return value if isinstance(value, str) else _NO
        if kind == "integer":
            return value if isinstance(value, int) and not isinstance(value, bool) else _NO
        if kind == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return value if ok else _NO
        if kind == "boolean":
            return value if isinstance(value, bool) else _NO
        if kind == "array":
            if not isinstance(value, list):
                return _NO
            items = [self._fit(schema.get("items", {}), item, now, depth) for item in value]
            return _NO if any(item is _NO for item in items) else items
        if _is_model(schema):
            if not isinstance(value, dict) or depth >= _MAX_DEPTH:
                return _NO
            return self._build(schema, value, now, depth + 1)[0]
        if kind == "object":
            if not isinstance(value, dict):
                return _NO
            values = schema.get("additionalProperties")
            if not isinstance(values, dict) or not values:
                return value
            fitted = {k: self._fit(values, v, now, depth) for k, v in value.items()}
            return _NO if any(v is _NO for v in fitted.values()) else fitted
        return value  # free JSON

    def _build(
        self, schema: Mapping[str, Any], source: Mapping[str, Any], now: int, depth: int
    ) -> tuple[dict[str, Any], int]:
        """A model built from ``source``: its same-named values, nested models built the
        same way, required fields filled; and how many values were copied from ``source``."""
        out: dict[str, Any] = {}
        copied = 0
        required = set(schema.get("required") or ())
        for name, prop in (schema.get("properties") or {}).items():
            if name in source:
                fitted = self._fit(prop, source[name], now, depth)
                if fitted is not _NO:
                    out[name] = fitted
                    copied += 1
                    continue
            target = self.resolve(prop)
            if _is_model(target) and depth < _COPY_DEPTH:
                nested, count = self._build(target, source, now, depth + 1)
                if count or name in required:
                    out[name] = nested
                    copied += count
                    continue
            if name in required:
                out[name] = self.value(prop, now, depth)
        return out, copied

    def fallback_body(
        self, schema_name: str | None, request: Mapping[str, Any], now: int
    ) -> dict[str, Any]:
        """The response of an operation without semantics, from its response schema."""
        if schema_name is None:
            return {}
        body, _ = self._build(self.shape(schema_name), request, now, 1)
        body.pop("duration", None)  # the app times the call
        return body


def _is_model(schema: Mapping[str, Any]) -> bool:
    return bool(schema.get("properties"))


@cache
def default_filler() -> SchemaFiller:
    """The filler of the spec shipped with the generated code."""
    return SchemaFiller(load_spec()["components"]["schemas"])


def fallback_body(schema_name: str | None, request: Mapping[str, Any], now: int) -> dict[str, Any]:
    """The response of an operation without semantics, from its response schema."""
    return default_filler().fallback_body(schema_name, request, now)


def fill_required(schema_name: str, value: dict[str, Any]) -> list[str]:
    """Fill in place the required fields a ``schema_name`` object lacks (at any depth); a
    timestamp among them is ``FILLED_TIMESTAMP_NS``."""
    return default_filler().fill_required(schema_name, value, FILLED_TIMESTAMP_NS)
