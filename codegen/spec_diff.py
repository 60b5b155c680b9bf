"""What changed between two pinned releases: operations and schema fields.

Both releases are compared as the SDK sees them: normalised and merged (the document
``make generate`` builds the code from), so the diff shows the effect of a spec update
on the generated surface, not changes the normalisation irons out (titles, aliases...).
Descriptions and other prose are ignored; types, required flags and enum values are not.
The output is plain text, sorted, and the same for the same two releases.
"""

from __future__ import annotations

import textwrap
from typing import Any

from .normalise import iter_operations

__all__ = ["changelog_summary", "diff_specs", "spec_diff", "type_name"]

Spec = dict[str, Any]
_REF = "#/components/schemas/"


def type_name(schema: Any) -> str:
    """A short, stable name for the type a schema describes (``array[UserResponse]``...)."""
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        name = str(schema["$ref"])
        return name[len(_REF) :] if name.startswith(_REF) else name
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return f"{key}[{' | '.join(type_name(s) for s in schema[key])}]"
    kind = schema.get("type")
    if kind == "array":
        name = f"array[{type_name(schema.get('items'))}]"
    elif kind == "object" and not schema.get("properties"):
        values = schema.get("additionalProperties")
        name = f"map[{type_name(values)}]" if isinstance(values, dict) and values else "map"
    elif kind == "object":
        name = "object"
    elif kind == "string" and schema.get("format") == "date-time":
        name = "timestamp"
    elif kind is None:
        name = "any"
    else:
        name = str(kind)
        if schema.get("format") and kind in ("integer", "number"):
            name += f"<{schema['format']}>"
    if "enum" in schema:
        name += " enum"
    if schema.get("nullable"):
        name += " | null"
    return name


def _field_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Lines for the properties added, removed or changed between two object schemas."""
    lines: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(set(old_props) | set(new_props)):
        path = f"{prefix}{name}"
        if name not in old_props:
            req = "required" if name in new_req else "optional"
            lines.append(f"+ {path}: {type_name(new_props[name])} ({req})")
            continue
        if name not in new_props:
            lines.append(f"- {path}: {type_name(old_props[name])}")
            continue
        a, b = old_props[name], new_props[name]
        changes = []
        if type_name(a) != type_name(b):
            changes.append(f"type {type_name(a)} -> {type_name(b)}")
        if (name in old_req) != (name in new_req):
            changes.append("optional -> required" if name in new_req else "required -> optional")
        if changes:
            lines.append(f"~ {path}: {'; '.join(changes)}")
        lines.extend(f"~ {path}: {line}" for line in _enum_changes(a, b))
        lines.extend(_nested_changes(a, b, path))
    return lines


def _nested_changes(old: Any, new: Any, path: str) -> list[str]:
    """Changes inside inline objects (``field.sub``) and inline array items (``field[].sub``)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    if old.get("properties") or new.get("properties"):
        return _field_changes(old, new, f"{path}.")
    if old.get("type") == new.get("type") == "array":
        a, b = old.get("items"), new.get("items")
        lines = [f"{line} (array items)" for line in _enum_changes(a, b)]
        return lines + _nested_changes(a, b, f"{path}[]")
    return []


def _enum_changes(old: Any, new: Any) -> list[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    a, b = old.get("enum"), new.get("enum")
    if a is None or b is None:
        return []
    lines = []
    if added := [v for v in b if v not in a]:
        lines.append(f"enum values added: {', '.join(map(str, added))}")
    if removed := [v for v in a if v not in b]:
        lines.append(f"enum values removed: {', '.join(map(str, removed))}")
    return lines


def _union_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str] | None:
    """Members and discriminator values added or removed, for two unions of the same kind."""
    kinds = [k for k in ("oneOf", "anyOf") if k in old and k in new]
    if not kinds:
        return None
    a = {type_name(s) for s in old[kinds[0]]}
    b = {type_name(s) for s in new[kinds[0]]}
    lines = []
    if added := sorted(b - a):
        lines.append(f"{kinds[0]} members added: {', '.join(added)}")
    if removed := sorted(a - b):
        lines.append(f"{kinds[0]} members removed: {', '.join(removed)}")
    map_a = old.get("discriminator", {}).get("mapping", {})
    map_b = new.get("discriminator", {}).get("mapping", {})
    for value in sorted(set(map_a) | set(map_b)):
        before, after = map_a.get(value), map_b.get(value)
        if before == after:
            continue
        if before is None:
            lines.append(f"+ {value} -> {type_name({'$ref': after})}")
        elif after is None:
            lines.append(f"- {value} -> {type_name({'$ref': before})}")
        else:
            lines.append(
                f"~ {value}: {type_name({'$ref': before})} -> {type_name({'$ref': after})}"
            )
    return lines


def _schema_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    union = _union_changes(old, new)
    if union is not None:
        return union
    lines = []
    if type_name(old) != type_name(new) and not (old.get("properties") or new.get("properties")):
        lines.append(f"type {type_name(old)} -> {type_name(new)}")
    lines.extend(_enum_changes(old, new))
    return lines + _field_changes(old, new)


def _success(op: dict[str, Any]) -> dict[str, str]:
    """Success status -> response type of an operation."""
    out = {}
    for code, response in op.get("responses", {}).items():
        if str(code).startswith("2"):
            media = response.get("content", {}).get("application/json")
            out[str(code)] = type_name(media.get("schema")) if media else "(no body)"
    return dict(sorted(out.items()))


def _request(op: dict[str, Any]) -> str:
    body = op.get("requestBody")
    if not body:
        return "-"
    media = body.get("content", {}).get("application/json")
    return type_name(media.get("schema")) if media else "(not JSON)"


def _params(op: dict[str, Any]) -> dict[str, str]:
    return {
        f"{p.get('in')} {p.get('name')}": type_name(p.get("schema"))
        + (" (required)" if p.get("required") else " (optional)")
        for p in op.get("parameters", [])
    }


def _summary(op: dict[str, Any]) -> str:
    responses = ", ".join(f"{code} {t}" for code, t in _success(op).items()) or "none"
    return f"{op.get('operationId')}: request {_request(op)}; response {responses}"


def _operation_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    if old.get("operationId") != new.get("operationId"):
        lines.append(f"operationId {old.get('operationId')} -> {new.get('operationId')}")
    if _request(old) != _request(new):
        lines.append(f"request {_request(old)} -> {_request(new)}")
    a, b = _success(old), _success(new)
    for code in sorted(set(a) | set(b)):
        if a.get(code) != b.get(code):
            lines.append(f"response {code}: {a.get(code, '(none)')} -> {b.get(code, '(none)')}")
    pa, pb = _params(old), _params(new)
    for name in sorted(set(pa) | set(pb)):
        if name not in pa:
            lines.append(f"+ parameter {name}: {pb[name]}")
        elif name not in pb:
            lines.append(f"- parameter {name}: {pa[name]}")
        elif pa[name] != pb[name]:
            lines.append(f"~ parameter {name}: {pa[name]} -> {pb[name]}")
    for p in old.get("parameters", []):
        match = [
            q
            for q in new.get("parameters", [])
            if (q.get("in"), q.get("name")) == (p.get("in"), p.get("name"))
        ]
        if match:
            name = f"{p.get('in')} {p.get('name')}"
            for line in _enum_changes(p.get("schema"), match[0].get("schema")):
                lines.append(f"~ parameter {name}: {line}")
    aliases_a, aliases_b = set(old.get("x-aliases", [])), set(new.get("x-aliases", []))
    lines.extend(f"+ alias {path}" for path in sorted(aliases_b - aliases_a))
    lines.extend(f"- alias {path}" for path in sorted(aliases_a - aliases_b))
    return lines


def _fields_line(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    if not props:
        return type_name(schema)
    required = set(schema.get("required", []))
    names = [f"{n}*" if n in required else n for n in sorted(props)]
    return f"{len(names)} field{'' if len(names) == 1 else 's'}: {', '.join(names)}"


def _section(title: str, entries: list[tuple[str, list[str]]]) -> list[str]:
    lines = [f"{title} ({len(entries)})"]
    if not entries:
        lines.append("  none")
    for head, details in entries:
        lines.extend(
            textwrap.wrap(head, width=100, initial_indent="  ", subsequent_indent="      ")
        )
        for detail in details:
            lines.extend(
                textwrap.wrap(
                    detail, width=100, initial_indent="      ", subsequent_indent="          "
                )
            )
    return [*lines, ""]


Section = tuple[str, list[tuple[str, list[str]]]]


def _diff_sections(old: Spec, new: Spec) -> tuple[str, list[Section]]:
    """The counts line and the six sections (title, [(entry, details)]) of a diff."""
    old_ops = {(m.upper(), p): op for p, m, op in iter_operations(old)}
    new_ops = {(m.upper(), p): op for p, m, op in iter_operations(new)}

    def order(keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
        # by path, then method: the operations of one path stay together
        return sorted(keys, key=lambda mp: (mp[1], mp[0]))

    ops_added: list[tuple[str, list[str]]] = [
        (f"+ {m} {p}  {_summary(new_ops[(m, p)])}", [])
        for m, p in order(set(new_ops) - set(old_ops))
    ]
    ops_removed: list[tuple[str, list[str]]] = [
        (f"- {m} {p}  {_summary(old_ops[(m, p)])}", [])
        for m, p in order(set(old_ops) - set(new_ops))
    ]
    ops_changed = []
    for m, p in order(set(old_ops) & set(new_ops)):
        changes = _operation_changes(old_ops[(m, p)], new_ops[(m, p)])
        if changes:
            ops_changed.append((f"~ {m} {p}  ({new_ops[(m, p)].get('operationId')})", changes))

    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    schemas_added: list[tuple[str, list[str]]] = [
        (f"+ {n}: {_fields_line(new_schemas[n])}", [])
        for n in sorted(set(new_schemas) - set(old_schemas))
    ]
    schemas_removed: list[tuple[str, list[str]]] = [
        (f"- {n}", []) for n in sorted(set(old_schemas) - set(new_schemas))
    ]
    schemas_changed = []
    for n in sorted(set(old_schemas) & set(new_schemas)):
        changes = _schema_changes(old_schemas[n], new_schemas[n])
        if changes:
            schemas_changed.append((f"~ {n}", changes))

    counts = (
        f"operations: {len(ops_added)} added, {len(ops_removed)} removed, "
        f"{len(ops_changed)} changed; schemas: {len(schemas_added)} added, "
        f"{len(schemas_removed)} removed, {len(schemas_changed)} changed"
    )
    return counts, [
        ("Operations added", ops_added),
        ("Operations removed", ops_removed),
        ("Operations changed", ops_changed),
        ("Schemas added", schemas_added),
        ("Schemas removed", schemas_removed),
        ("Schemas changed (+ added, - removed, ~ changed)", schemas_changed),
    ]


def diff_specs(old: Spec, new: Spec, *, old_name: str, new_name: str) -> str:
    """The text report of what changed from ``old`` to ``new`` (two normalised, merged specs)."""
    counts, sections = _diff_sections(old, new)
    lines = [
        f"Spec diff {old_name} -> {new_name} (normalised and merged, as the SDK is generated)",
        counts,
        "",
    ]
    for title, entries in sections:
        lines.extend(_section(title, entries))
    return "\n".join(lines).rstrip() + "\n"


def changelog_summary(old: Spec, new: Spec, *, old_name: str, new_name: str) -> str:
    """The Stream API part of a CHANGELOG entry: the counts, then the report's sections."""
    counts, sections = _diff_sections(old, new)
    lines = [f"Stream's spec {old_name} -> {new_name}: {counts}.", "", "```text"]
    for title, entries in sections:
        lines.extend(_section(title, entries))
    return "\n".join(lines).rstrip() + "\n```\n"


def spec_diff(old: str, new: str) -> str:
    """The report for two pinned releases (materialised, normalised and merged first)."""
    from .generate import build_merged_spec

    old_spec, _, _ = build_merged_spec(old)
    new_spec, _, _ = build_merged_spec(new)
    return diff_specs(old_spec, new_spec, old_name=old, new_name=new)
