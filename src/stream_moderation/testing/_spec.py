"""What the emulator knows from the shipped spec: its operations, their parameters, request
and response models, the numeric/length constraints the generated models do not check,
and the copy of the spec it serves at ``/openapi.json``.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .._generated import models as _models
from .._generated.api import OPERATIONS

__all__ = [
    "OperationSpec",
    "ParamSpec",
    "constraint_violation",
    "declares",
    "drop_nulls",
    "load_spec",
    "operations",
    "served_spec",
]

_REF = "#/components/schemas/"


@cache
def load_spec() -> dict[str, Any]:
    """The merged, normalised spec shipped with the generated code."""
    text = resources.files("stream_moderation._generated").joinpath("spec.json").read_text()
    spec: dict[str, Any] = json.loads(text)
    return spec


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    location: str  # "query" or "path"
    required: bool
    type: str  # "string", "boolean", "integer" or "number"


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation: where it is served and how its requests and responses look."""

    name: str
    """The SDK method name (``check``, ``query_review_queue``, ...)."""
    title: str
    """The name used in error messages (``Check``, ``QueryReviewQueue``)."""
    method: str
    path: str
    aliases: tuple[str, ...]
    success_status: int
    params: tuple[ParamSpec, ...]
    request_schema: str | None
    body_required: bool
    request_model: Any
    """The generated model of the JSON body (None when the operation takes no body)."""
    response_model: Any
    """The generated model of a successful response (None for a free-form object)."""
    response_schema: str | None
    """Its schema's name in the spec."""

    @property
    def automod(self) -> bool:
        """An automod (v1) operation: timestamps are always RFC 3339 there."""
        return self.path.startswith("/api/v1/")


def declares(schema_name: str, field: str) -> bool:
    """Whether the release's schema has that field (for answers that differ by release)."""
    schema = load_spec()["components"]["schemas"].get(schema_name, {})
    return field in schema.get("properties", {})


def _title(operation_id: str) -> str:
    if "_" not in operation_id and operation_id[:1].isupper():
        return operation_id
    return "".join(part[:1].upper() + part[1:] for part in operation_id.split("_"))


@cache
def operations() -> dict[str, OperationSpec]:
    """Every operation of the spec by SDK method name."""
    spec = load_spec()
    result: dict[str, OperationSpec] = {}
    for name, (method, path, module) in OPERATIONS.items():
        op = spec["paths"][path][method.lower()]
        descriptor = importlib.import_module(
            f"stream_moderation._generated.api.moderation.{module}"
        )
        operation = descriptor.OPERATION
        params = tuple(
            ParamSpec(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required", False)),
                type=p.get("schema", {}).get("type", "string"),
            )
            for p in op.get("parameters", [])
        )
        request_schema = None
        body = op.get("requestBody")
        body_required = bool(body and body.get("required"))
        if body is not None:
            schema = body["content"]["application/json"]["schema"]
            request_schema = schema["$ref"].removeprefix(_REF)
        result[name] = OperationSpec(
            name=name,
            title=_title(op.get("operationId", name)),
            method=method,
            path=path,
            aliases=tuple(op.get("x-aliases", ())),
            success_status=operation.success_status,
            params=params,
            request_schema=request_schema,
            body_required=body_required,
            request_model=getattr(_models, request_schema) if request_schema else None,
            response_model=operation.response_type,
            response_schema=getattr(operation.response_type, "__name__", None),
        )
    return result


# ---------------------------------------------------------------------------------------
# Constraints the generated models leave out: lengths, sizes and numeric bounds
# ---------------------------------------------------------------------------------------


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: Mapping[str, Any] = load_spec()["components"]["schemas"][ref.removeprefix(_REF)]
    return resolved


def _violations(schema: Mapping[str, Any], value: Any, where: str) -> Iterator[tuple[str, str]]:
    schema = _resolve(schema)
    if value is None:
        return
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                yield from _violations(sub, item, f"{where}.{key}" if where else key)
        return
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            yield where, f"must have at most {schema['maxItems']} items, got {len(value)}"
        if "minItems" in schema and len(value) < schema["minItems"]:
            yield where, f"must have at least {schema['minItems']} items, got {len(value)}"
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                yield from _violations(items, item, f"{where}[]")
        return
    if _is_int(value) and schema.get("format") == "date-time":
        # unix nanoseconds: an int64 in the served spec
        if not -(2**63) <= value < 2**63:
            yield where, "does not fit in an int64"
        return
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            yield where, f"must be at most {schema['maxLength']} characters long"
        if "minLength" in schema and len(value) < schema["minLength"]:
            yield where, f"must be at least {schema['minLength']} characters long"
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if schema.get("type") == "integer":
            fmt = "int32" if schema.get("format") == "int32" else "int64"
            bits = 31 if fmt == "int32" else 63
            if not -(2**bits) <= value < 2**bits:
                yield where, f"does not fit in an {fmt}"
        if "maximum" in schema and value > schema["maximum"]:
            yield where, f"must be less than or equal to {schema['maximum']}"
        if "minimum" in schema and value < schema["minimum"]:
            yield where, f"must be greater than or equal to {schema['minimum']}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _without_nulls(schema: Mapping[str, Any], value: Any) -> Any:
    schema = _resolve(schema)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if not properties:
            return value  # a free-form map: null is data there
        return {
            key: _without_nulls(properties[key], item) if key in properties else item
            for key, item in value.items()
            if not (item is None and key in properties)
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_without_nulls(schema["items"], item) for item in value]
    return value


def drop_nulls(schema_name: str, value: dict[str, Any]) -> dict[str, Any]:
    """``value`` without the declared fields that are null: null reads as "not sent"."""
    result: dict[str, Any] = _without_nulls(
        load_spec()["components"]["schemas"][schema_name], value
    )
    return result


def constraint_violation(schema_name: str, value: Any) -> tuple[str, str] | None:
    """The first (field path, problem) of ``value`` against the schema's constraints."""
    schema = load_spec()["components"]["schemas"][schema_name]
    return next(_violations(schema, value, ""), None)


# ---------------------------------------------------------------------------------------
# The spec the emulator serves
# ---------------------------------------------------------------------------------------

_ERROR_STATUSES = {
    "400": "Bad request: the body or a parameter does not fit the spec (code 4)",
    "401": "Authentication failed: wrong api_key (code 2) or JWT (codes 5, 40-43)",
    "403": "Not allowed (code 17)",
    "404": "Does not exist (code 16)",
    "413": "Payload too big (code 22)",
    "415": "The body is not JSON (code 4)",
    "429": "Too many requests (code 9)",
}


def _widen_timestamps(node: Any) -> Any:
    """Every date-time field as the emulator sends and accepts it: RFC 3339 or unix ns."""
    if isinstance(node, dict):
        if node.get("format") == "date-time" and node.get("type") == "string":
            extra = {k: v for k, v in node.items() if k not in ("type", "format")}
            return {
                **extra,
                "anyOf": [
                    {"type": "string", "format": "date-time"},
                    {"type": "integer", "format": "int64"},
                ],
            }
        return {key: _widen_timestamps(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_widen_timestamps(item) for item in node]
    return node


def _nullable_optionals(schemas: dict[str, Any]) -> None:
    """Optional fields accept null (read as "not sent"), as the emulator does."""
    for schema in schemas.values():
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        for name, prop in list(properties.items()):
            if name in required:
                continue
            if "$ref" in prop:
                rest = {k: v for k, v in prop.items() if k != "$ref"}
                properties[name] = {**rest, "allOf": [{"$ref": prop["$ref"]}], "nullable": True}
            else:
                prop["nullable"] = True
                if "enum" in prop and None not in prop["enum"]:
                    # OpenAPI 3.0.3: nullable does not widen an enum; null must be listed
                    prop["enum"] = [*prop["enum"], None]


@cache
def _served_base() -> dict[str, Any]:
    spec = copy.deepcopy(load_spec())
    spec["components"]["schemas"] = _widen_timestamps(spec["components"]["schemas"])
    _nullable_optionals(spec["components"]["schemas"])
    error = {"application/json": {"schema": {"$ref": _REF + "APIError"}}}
    for item in spec["paths"].values():
        for method, op in item.items():
            if not isinstance(op, dict) or method.startswith("x-"):
                continue
            responses = op.setdefault("responses", {})
            for status, description in _ERROR_STATUSES.items():
                responses.setdefault(status, {"description": description, "content": error})
    spec["info"] = {
        **spec.get("info", {}),
        "description": (
            "Served by the stream-moderation emulator: the merged moderation spec, with "
            "every date-time field accepting RFC 3339 strings or unix-nanosecond integers, "
            "optional fields accepting null (read as not sent), and the error answers the "
            "emulator gives."
        ),
    }
    return spec


def served_spec(server_url: str | None) -> dict[str, Any]:
    """The spec served at ``/openapi.json``, pointing at ``server_url`` when given."""
    spec = dict(_served_base())
    if server_url:
        spec["servers"] = [{"url": server_url, "description": "stream-moderation emulator"}]
    return spec
