"""What the templates say about a model, a field or an enum: the docstrings, from the spec.

The generator reads a field's description only from the field's own schema; a field that
is a ``$ref`` loses the description written next to it (OpenAPI 3.0 ignores siblings of
``$ref``) and gets none from the schema it refers to. Most component schemas have no
description at all. These tables give each its text: the field's own description, else
the one beside its ``$ref``, else the referenced schema's; a model its schema's
description, else what it is for (the response or request body of which operation, the
webhook event of which type, or which fields hold it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["DocTables"]

_REF = "#/components/schemas/"


def _text(value: Any) -> str:
    if value is None:
        return ""
    raw = value.get_untrusted_value() if hasattr(value, "get_untrusted_value") else value
    return " ".join(str(raw).split())


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF):
        return ref[len(_REF) :]
    return None


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                yield path, method, op


class DocTables:
    """Docstring text for the models, fields and enums of one merged spec."""

    ENUM_NOTE = (
        "A value that is not listed parses as an UnknownValue (the API may add values); "
        "a request sends only listed values."
    )
    # Names a model defines for itself: a field of one of these names could not exist.
    RESERVED_NAMES = (
        "additional_properties",
        "dropped_nulls",
        "fields_set",
        "from_dict",
        "to_dict",
    )

    def __init__(
        self,
        spec: dict[str, Any],
        models: Iterable[Any],
        config: Any,
        event_types: dict[str, str],
    ) -> None:
        from openapi_python_client.parser.properties.schemas import Class

        self._schemas: dict[str, dict[str, Any]] = spec.get("components", {}).get("schemas", {})
        self._key_by_class = {
            str(Class.from_string(string=key, config=config).name): key for key in self._schemas
        }
        self._models = {str(m.class_info.name): m for m in models}
        self._events: dict[str, list[str]] = {}
        for event_type, schema in event_types.items():
            self._events.setdefault(schema, []).append(event_type)
        self._responses: dict[str, list[str]] = {}
        self._errors: set[str] = set()
        self._bodies: dict[str, list[str]] = {}
        for path, method, op in _operations(spec):
            where = f"``{op['operationId']}`` (``{method.upper()} {path}``)"
            for code, response in op.get("responses", {}).items():
                for media in response.get("content", {}).values():
                    name = _ref_name(media.get("schema", {}))
                    if name and str(code).startswith("2"):
                        self._responses.setdefault(name, []).append(where)
                    elif name:
                        self._errors.add(name)
            for media in op.get("requestBody", {}).get("content", {}).values():
                name = _ref_name(media.get("schema", {}))
                if name:
                    self._bodies.setdefault(name, []).append(where)
        self._holders: dict[str, list[str]] = {}
        for key, schema in self._schemas.items():
            for prop, sub in schema.get("properties", {}).items():
                for target in self._refs_in(sub):
                    self._holders.setdefault(target, []).append(f"``{key}.{prop}``")
        self._enum_owners: dict[str, list[str]] = {}
        self.documented_enums: set[str] = set()
        for name, model in self._models.items():
            key = self._key_by_class.get(name)
            declared = self._schemas.get(key, {}).get("properties", {}) if key else {}
            for prop in model.required_properties + model.optional_properties:
                documented = "x-documented-enum" in declared.get(_text(prop.name), {})
                for enum in self._enums_in(prop):
                    owners = self._enum_owners.setdefault(str(enum.class_info.name), [])
                    owners.append(f"``{name}.{_text(prop.name)}``")
                    if documented:
                        self.documented_enums.add(str(enum.class_info.name))

    # --- models -------------------------------------------------------------------------

    def model_doc(self, class_name: str) -> str:
        """The model's description, else what it is; "" when nothing says more than its name
        (the model then has no docstring)."""
        key = self._key_by_class.get(class_name)
        schema = self._schemas.get(key, {}) if key else {}
        own = _text(schema.get("description"))
        model = self._models.get(class_name)
        if not own and model is not None:
            own = _text(model.description)
        if own and own != class_name:
            return own
        if key in self._events:
            types = ", ".join(f"``{t}``" for t in sorted(self._events[key]))
            return f"The webhook event {types}."
        if key in self._responses:
            return f"The response of {self._join(self._responses[key])}."
        if key in self._errors:
            return (
                "The body of the API's error responses, which the SDK raises as an "
                "``APIStatusError`` (``.code``, ``.message``, ``.body``)."
            )
        if key in self._bodies:
            return (
                f"The request body of {self._join(self._bodies[key])}: the method takes its "
                "fields as keyword arguments."
            )
        if key in self._holders:
            return f"Held by {self._join(sorted(set(self._holders[key])))}."
        return ""

    @staticmethod
    def _join(items: list[str], limit: int = 3) -> str:
        shown = items[:limit]
        more = len(items) - len(shown)
        text = ", ".join(shown)
        return f"{text} and {more} more" if more > 0 else text

    # --- fields -------------------------------------------------------------------------

    def field_doc(self, class_name: str, prop_name: Any) -> str:
        """A field's description: its own, the one next to its ``$ref``, or the referenced
        schema's ("" when the spec has none)."""
        name = _text(prop_name)
        key = self._key_by_class.get(class_name)
        sub = self._schemas.get(key, {}).get("properties", {}).get(name) if key else None
        if sub is None:
            model = self._models.get(class_name)
            props = (model.required_properties + model.optional_properties) if model else []
            return next((_text(p.description) for p in props if _text(p.name) == name), "")
        own = _text(sub.get("description"))
        if own:
            return own
        target = _ref_name(sub) or next(
            (_ref_name(s) for s in sub.get("allOf", []) if _ref_name(s)), None
        )
        if target:
            return _text(self._schemas.get(target, {}).get("description"))
        return ""

    def null_element_fields(self, class_name: str) -> list[str]:
        """The fields of a model whose arrays or maps may hold null elements (marked by
        the ``mark_nullable_elements`` transform)."""
        key = self._key_by_class.get(class_name)
        props = self._schemas.get(key, {}).get("properties", {}) if key else {}
        return sorted(name for name, sub in props.items() if self._has_nullable_elements(sub))

    @classmethod
    def _has_nullable_elements(cls, schema: Any) -> bool:
        if not isinstance(schema, dict):
            return False
        if schema.get("x-nullable-items") or schema.get("x-nullable-values"):
            return True
        return cls._has_nullable_elements(schema.get("items")) or cls._has_nullable_elements(
            schema.get("additionalProperties")
        )

    @classmethod
    def _refs_in(cls, schema: Any) -> Iterator[str]:
        if not isinstance(schema, dict):
            return
        name = _ref_name(schema)
        if name:
            yield name
        yield from cls._refs_in(schema.get("items"))
        yield from cls._refs_in(schema.get("additionalProperties"))
        for sub in schema.get("allOf", []) + schema.get("oneOf", []) + schema.get("anyOf", []):
            yield from cls._refs_in(sub)

    # --- enums --------------------------------------------------------------------------

    @classmethod
    def _enums_in(cls, prop: Any) -> Iterator[Any]:
        template = getattr(prop, "template", "")
        if template == "literal_enum_property.py.jinja":
            yield prop
        elif template == "list_property.py.jinja":
            yield from cls._enums_in(prop.inner_property)
        elif template == "model_property.py.jinja" and prop.additional_properties is not None:
            if not isinstance(prop.additional_properties, bool):
                yield from cls._enums_in(prop.additional_properties)
        elif template == "union_property.py.jinja":
            for inner in prop.inner_properties:
                yield from cls._enums_in(inner)

    def enum_owner(self, enum_class: str) -> str:
        """The fields an enum types, for its module docstring."""
        return self._join(sorted(set(self._enum_owners.get(enum_class, []))) or ["its field"])

    def enum_constants(self, props: Iterable[Any]) -> str:
        """Module-level frozensets of the values of the enums some properties hold."""
        found: dict[str, list[str]] = {}
        for prop in props:
            for enum in self._enums_in(prop):
                found[str(enum.class_info.name)] = sorted(str(v) for v in enum.values)
        lines = []
        for name, values in sorted(found.items()):
            literal = ", ".join(_quote(v) for v in values)
            lines.append(f"_VALUES_{name}: frozenset[str] = frozenset({{{literal}}})")
        return "\n".join(lines)

    # --- methods ------------------------------------------------------------------------

    @staticmethod
    def first_sentence(text: str) -> str:
        text = _text(text)
        match = re.match(r"(.+?[.!?])(\s|$)", text)
        return match.group(1) if match else text

    def headline(self, endpoint: Any) -> tuple[str, str]:
        """A method's first docstring line and the rest of its description.

        The spec's summary is often the operation's name again ("Check"); the first
        sentence of its description says more ("Run moderation checks on the provided
        content."), and then leads instead.
        """
        summary = _text(endpoint.summary) or str(endpoint.name)
        description = _text(endpoint.description)
        words = summary.split()
        if description and (
            len(words) <= 2 or description.lower().startswith(summary.lower().rstrip("."))
        ):
            first = self.first_sentence(description)
            rest = description[len(first) :].strip()
            return first.rstrip(".") + ".", rest
        rest = "" if description.rstrip(".") == summary.rstrip(".") else description
        return summary.rstrip(".") + ".", rest


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
