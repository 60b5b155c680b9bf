"""Merge the two normalised specs of a release into the one document the SDK is built from.

The server-side (v2) spec wins where both define the same schema name, path or security
scheme; where the two definitions differ in substance (not only in descriptions or
vendor extensions) the difference is reported, never dropped silently.
"""

from __future__ import annotations

from typing import Any

__all__ = ["merge", "schema_difference"]

Spec = dict[str, Any]
# Keys that document a schema without changing what it accepts.
_COSMETIC_KEYS = {"description", "title", "example", "examples"}


def _substance(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _substance(v)
            for k, v in node.items()
            if k not in _COSMETIC_KEYS and not k.startswith("x-")
        }
    if isinstance(node, list):
        return [_substance(v) for v in node]
    return node


def schema_difference(primary: dict[str, Any], other: dict[str, Any]) -> str | None:
    """A one-line summary of how two definitions of a schema differ in substance, or None."""
    a, b = _substance(primary), _substance(other)
    if a == b:
        return None
    parts = []
    props_a, props_b = a.get("properties", {}), b.get("properties", {})
    if only := sorted(set(props_a) - set(props_b)):
        parts.append(f"fields only in v2: {', '.join(only)}")
    if only := sorted(set(props_b) - set(props_a)):
        parts.append(f"fields only in the other spec: {', '.join(only)}")
    if changed := sorted(k for k in set(props_a) & set(props_b) if props_a[k] != props_b[k]):
        parts.append(f"fields defined differently: {', '.join(changed)}")
    if set(a.get("required", [])) != set(b.get("required", [])):
        parts.append("required fields differ")
    rest_a = {k: v for k, v in a.items() if k not in ("properties", "required")}
    rest_b = {k: v for k, v in b.items() if k not in ("properties", "required")}
    if keywords := sorted(k for k in set(rest_a) | set(rest_b) if rest_a.get(k) != rest_b.get(k)):
        parts.append(f"schema keywords differ: {', '.join(keywords)}")
    return "; ".join(parts) or "definitions differ"


def merge(
    primary: Spec, secondary: Spec, *, primary_name: str, secondary_name: str
) -> tuple[Spec, list[str]]:
    """``primary`` (the v2 spec) merged with ``secondary``; returns the document and conflicts."""
    merged = {k: v for k, v in primary.items() if k not in ("paths", "components")}
    conflicts: list[str] = []

    paths: dict[str, Any] = {}
    for path, item in secondary.get("paths", {}).items():
        paths[path] = dict(item)
    for path, item in primary.get("paths", {}).items():
        for method, op in item.items():
            if method in paths.get(path, {}):
                conflicts.append(
                    f"path {method.upper()} {path}: defined in both; {primary_name} wins"
                )
            paths.setdefault(path, {})[method] = op
    merged["paths"] = dict(sorted(paths.items()))

    components: dict[str, Any] = {}
    sections = set(primary.get("components", {})) | set(secondary.get("components", {}))
    for section in sorted(sections):
        ours = primary.get("components", {}).get(section, {})
        theirs = secondary.get("components", {}).get(section, {})
        combined = dict(theirs)
        for name, definition in ours.items():
            if name in theirs:
                diff = schema_difference(definition, theirs[name])
                if diff:
                    conflicts.append(
                        f"{section} {name}: {primary_name} and {secondary_name} differ ({diff}); "
                        f"{primary_name} wins"
                    )
            combined[name] = definition
        components[section] = dict(sorted(combined.items()))
    merged["components"] = components
    return merged, conflicts
