"""Spec normalisation: small named transforms that make Stream's specs generate cleanly.

Each transform fixes one problem the generator has with the upstream files (see
DESIGN.md, "What the generator does with these specs"). Each takes the parsed document,
changes it in place and returns a list of notes saying what it changed, so that a
regeneration shows its effect and tests can check each transform on its own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "ALIAS_PATH_PREFIX",
    "DOCUMENTED_ENUMS",
    "TRANSFORMS",
    "NormalisationError",
    "add_missing_success_responses",
    "declare_path_parameters",
    "documented_enums",
    "drop_alias_operations",
    "drop_schema_level_nullable",
    "drop_titles",
    "go_time_as_timestamp",
    "iter_schemas",
    "mark_inline_maps",
    "mark_nullable_elements",
    "normalise",
    "number_date_time_as_timestamp",
    "single_resource_tag",
]

Spec = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# The automod task API is served twice; /api/v1/moderation/... is the canonical path.
ALIAS_PATH_PREFIX = "/automod/v1/"
RESOURCE_TAG = "moderation"


class NormalisationError(Exception):
    """The spec has a shape the transforms do not know how to fix."""


def iter_operations(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _iter_subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(schema, dict):
        return
    yield schema
    for prop in schema.get("properties", {}).values():
        yield from _iter_subschemas(prop)
    for key in ("items", "additionalProperties", "not"):
        yield from _iter_subschemas(schema.get(key))
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _iter_subschemas(sub)


def iter_schemas(spec: Spec) -> Iterator[dict[str, Any]]:
    """Every schema object in the document: components, parameters, bodies, responses."""
    for schema in spec.get("components", {}).get("schemas", {}).values():
        yield from _iter_subschemas(schema)
    for _, _, op in iter_operations(spec):
        for param in op.get("parameters", []):
            yield from _iter_subschemas(param.get("schema"))
        bodies = [op.get("requestBody", {}), *op.get("responses", {}).values()]
        for body in bodies:
            for media in body.get("content", {}).values():
                yield from _iter_subschemas(media.get("schema"))


def mark_nullable_elements(spec: Spec) -> list[str]:
    """An array whose items refer to a schema that is nullable as a whole (a Go pointer
    type: a nil in a slice is sent as null) may hold null elements; once schema-level
    nullability is dropped, that is recorded on the array (`x-nullable-items`) and on maps
    of such values (`x-nullable-values`). The models drop those nulls when they parse
    (and count them; `to_dict` puts them back), instead of failing."""
    schemas = spec.get("components", {}).get("schemas", {})
    nullable = {f"#/components/schemas/{name}" for name, s in schemas.items() if s.get("nullable")}

    def is_nullable(element: Any) -> bool:
        return isinstance(element, dict) and (
            element.get("nullable") is True or element.get("$ref") in nullable
        )

    arrays = maps = 0
    for schema in iter_schemas(spec):
        if schema.get("type") == "array" and is_nullable(schema.get("items")):
            schema["x-nullable-items"] = True
            arrays += 1
        elif schema.get("type") == "object" and is_nullable(schema.get("additionalProperties")):
            schema["x-nullable-values"] = True
            maps += 1
    return [f"{arrays} arrays and {maps} maps of nullable elements marked"] if arrays + maps else []


def drop_schema_level_nullable(spec: Spec) -> list[str]:
    """Schema-level `nullable` makes every model "object or null"; the generator then
    duplicates inline models, drops schemas and fails on self-references. Nullability
    belongs to the fields that hold the object, which the templates treat as optional."""
    notes = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        if schema.pop("nullable", None) is not None:
            notes.append(f"schema {name}: dropped schema-level nullable")
    return notes


def drop_titles(spec: Spec) -> list[str]:
    """`title` overrides the schema key as the class name and several collide
    (four `Response`, two `ModerationPayload`); the schema key is the one unique name."""
    count = 0
    for schema in iter_schemas(spec):
        if "title" in schema:
            del schema["title"]
            count += 1
    return [f"dropped {count} schema titles"] if count else []


def declare_path_parameters(spec: Spec) -> list[str]:
    """Some operations use `{id}` in the path without declaring it, and the generator
    silently drops them; every path template variable becomes a required string."""
    notes = []
    for path, method, op in iter_operations(spec):
        shared = spec["paths"][path].get("parameters", [])
        declared = {
            p.get("name") for p in op.get("parameters", []) + shared if p.get("in") == "path"
        }
        for name in re.findall(r"{([^}]+)}", path):
            if name not in declared:
                op.setdefault("parameters", []).insert(
                    0, {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                )
                notes.append(f"{method.upper()} {path}: declared path parameter {name}")
    return notes


def drop_alias_operations(spec: Spec) -> list[str]:
    """The task API is served under /api/v1/moderation and again under /automod/v1 (and the
    dashboard endpoints under two sub-paths) with the same operationIds, so generated
    modules overwrite each other; one path per operationId is kept, the others recorded
    as `x-aliases` on it."""
    by_id: dict[str, list[tuple[str, str]]] = {}
    for path, method, op in iter_operations(spec):
        op_id = op.get("operationId")
        if not op_id:
            raise NormalisationError(f"{method.upper()} {path}: operation has no operationId")
        by_id.setdefault(op_id, []).append((path, method))
    notes = []
    for op_id, places in sorted(by_id.items()):
        if len(places) == 1:
            continue
        keep = min(places, key=lambda pm: (pm[0].startswith(ALIAS_PATH_PREFIX), pm[0], pm[1]))
        kept_op = spec["paths"][keep[0]][keep[1]]
        aliases = []
        for path, method in places:
            if (path, method) == keep:
                continue
            if method != keep[1]:
                raise NormalisationError(
                    f"operationId {op_id} is used by {keep[1].upper()} {keep[0]} "
                    f"and {method.upper()} {path}: not an alias"
                )
            del spec["paths"][path][method]
            if not any(m in spec["paths"][path] for m in HTTP_METHODS):
                del spec["paths"][path]
            aliases.append(path)
        kept_op["x-aliases"] = sorted(aliases)
        notes.append(
            f"{op_id}: kept {keep[1].upper()} {keep[0]}, "
            f"dropped aliases {', '.join(sorted(aliases))}"
        )
    return notes


def number_date_time_as_timestamp(spec: Spec) -> list[str]:
    """`type: number, format: date-time` becomes a bare float, which cannot hold unix
    nanoseconds exactly; as a date-time string the templates give it the Timestamp type,
    which reads RFC 3339 strings and nanosecond integers alike."""
    count = 0
    for schema in iter_schemas(spec):
        if schema.get("format") == "date-time" and schema.get("type") in ("number", "integer"):
            schema["type"] = "string"
            count += 1
    return [f"{count} number date-time fields typed as timestamps"] if count else []


def go_time_as_timestamp(spec: Spec) -> list[str]:
    """The empty object schema `Time` is Go's time.Time, which the API sends as an
    RFC 3339 string; as an object it would reject every value, so references to it
    become timestamps."""
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas.get("Time") != {"type": "object"}:
        return []
    count = 0
    for schema in iter_schemas(spec):
        if schema.get("$ref") == "#/components/schemas/Time":
            del schema["$ref"]
            schema.update({"type": "string", "format": "date-time"})
            count += 1
    del schemas["Time"]
    return [f"{count} references to Time typed as timestamps"]


def mark_inline_maps(spec: Spec) -> list[str]:
    """An inline object with no properties is a free-form map (`custom`, per-label
    settings, ...); the generator would make a class of each (~150), so they are marked
    `x-map` and the templates type them as dicts."""
    named = {id(schema) for schema in spec.get("components", {}).get("schemas", {}).values()}
    count = 0
    for schema in iter_schemas(spec):
        if id(schema) in named or schema.get("type") != "object" or schema.get("properties"):
            continue
        schema["x-map"] = True
        count += 1
    return [f"{count} inline free-form objects typed as maps"] if count else []


def add_missing_success_responses(spec: Spec) -> list[str]:
    """Operations with no 2xx response (the dashboard placeholders) would return nothing;
    they get a 200 with a free-form JSON object, so the SDK returns what the server sent."""
    notes = []
    for path, method, op in iter_operations(spec):
        responses = op.setdefault("responses", {})
        if not any(str(code).startswith("2") for code in responses):
            responses["200"] = {
                "description": "Successful response (not described by the spec)",
                "content": {
                    "application/json": {"schema": {"type": "object", "additionalProperties": {}}}
                },
            }
            notes.append(f"{method.upper()} {path}: added a free-form 200 response")
    return notes


def single_resource_tag(spec: Spec) -> list[str]:
    """Every operation is tagged `product:moderation`, which is not a module name; all
    of them belong to one resource, `client.moderation`."""
    for _, _, op in iter_operations(spec):
        op["tags"] = [RESOURCE_TAG]
    return []


DOCS_PYTHON = "https://getstream.io/moderation/docs/python/"
DOCS_WEBHOOKS = "https://getstream.io/moderation/docs/python/content-moderation/webhooks.md"
DOCS_REVIEW_QUEUE = (
    "https://getstream.io/moderation/docs/go-golang/content-moderation/review-queue/"
)
SPEC_TEXT = "the field's description in the spec"

DOCUMENTED_ENUMS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    # (schema, field, values, source): string fields whose values the docs (or the spec's
    # own prose) list, where the spec has no `enum`. Labels are not here: the docs give
    # examples (SPAM, HARASSMENT, ...) and "40+ harm types", never the list.
    ("CheckResponse", "recommended_action", ("keep", "flag", "remove"), DOCS_PYTHON),
    # the docs say complete/partial; the spec's text says "completed or pending"
    ("CheckResponse", "status", ("complete", "partial"), DOCS_PYTHON),
    (
        "ModerationCheckCompletedEvent",
        "recommended_action",
        ("keep", "flag", "remove"),
        DOCS_WEBHOOKS,
    ),
    # the review queue's `status` filter: "check status: partial or complete"
    ("ReviewQueueItemResponse", "status", ("complete", "partial"), DOCS_REVIEW_QUEUE),
    ("AnalyzeTextField", "action", ("keep", "flag", "remove"), SPEC_TEXT),
    ("AnalyzeImageField", "action", ("keep", "flag", "remove"), SPEC_TEXT),
    ("AnalyzeTextField", "severity", ("LOW", "MEDIUM", "HIGH", "CRITICAL"), SPEC_TEXT),
    ("MatchedContent", "severity", ("LOW", "MEDIUM", "HIGH", "CRITICAL"), SPEC_TEXT),
    ("MatchedContent", "type", ("image", "text"), SPEC_TEXT),
    ("TriggeredRuleResponse", "type", ("content", "user", "call"), SPEC_TEXT),
    ("TaskResponse", "status", ("completed", "error", "pending"), SPEC_TEXT),
    ("ChatMessageTaskResponse", "status", ("completed", "error", "pending"), SPEC_TEXT),
)


def documented_enums(spec: Spec) -> list[str]:
    """Fields the spec types as plain strings whose values are documented (the table
    above, each with its source) get those values as an `enum`, so that the SDK types
    them (a Literal: a comparison with a misspelled value is a type error) and the
    emulator answers only those. They stay open: a value the docs do not list parses (as
    UnknownValue) even when parsing strictly, since the spec itself does not enumerate
    it (`x-documented-enum` marks them, with the source). All are response fields. The
    source is added to the field's description. A field the release does not have is
    skipped; one the spec already enumerates is left to the spec."""
    schemas = spec.get("components", {}).get("schemas", {})
    notes = []
    for schema_name, field, values, source in DOCUMENTED_ENUMS:
        prop = schemas.get(schema_name, {}).get("properties", {}).get(field)
        if prop is None or prop.get("type") != "string":
            continue
        if "enum" in prop:
            notes.append(f"{schema_name}.{field}: the spec lists values, kept")
            continue
        prop["enum"] = list(values)
        prop["x-documented-enum"] = source
        listed = ", ".join(values)
        if source != SPEC_TEXT:
            own = prop.get("description", "").strip().rstrip(".")
            cited = f"Documented values: {listed} ({source})."
            prop["description"] = f"{own}. {cited}" if own else cited
        notes.append(f"{schema_name}.{field}: {listed} ({source})")
    return notes


Transform = Callable[[Spec], list[str]]
# In order: names are settled before paths are deduplicated and types are rewritten.
TRANSFORMS: tuple[Transform, ...] = (
    mark_nullable_elements,
    drop_schema_level_nullable,
    drop_titles,
    declare_path_parameters,
    drop_alias_operations,
    number_date_time_as_timestamp,
    go_time_as_timestamp,
    add_missing_success_responses,
    mark_inline_maps,
    documented_enums,
    single_resource_tag,
)


def normalise(spec: Spec) -> tuple[Spec, list[str]]:
    """A normalised copy of ``spec`` and the notes of every transform applied."""
    out = copy.deepcopy(spec)
    notes: list[str] = []
    for transform in TRANSFORMS:
        notes.extend(f"{transform.__name__}: {note}" for note in transform(out))
    return out, notes
