"""JSON bodies shaped by the spec of the generated release, for tests that answer calls
themselves (an ``httpx.MockTransport``, respx, a fake server) instead of the emulator.

A body written out by hand holds the fields one release requires; the next release that
makes another field required turns it into a body the SDK warns about (or, with
``strict_response_validation``, refuses). These builders take only what the test cares
about and fill every other required field, at every depth, with a schema-valid value
(an enum's first value, ``""``, ``0``, ``false``, ``[]``, a fixed timestamp, a nested model
with its own required fields), the way the emulator fills what its handlers leave out.

- ``response_body("check", recommended_action="flag")``: the success body of an operation;
- ``model_body(ReviewQueueItemResponse, id="item-1")`` (or the schema's name): any model;
- ``api_error_body(429, 9, "Too many requests")``: the API's error body (``APIError``);
- ``complete_body(CheckResponse, recorded)``: a recorded body with what it lacks filled in.

Field names are the JSON names. A key the schema does not have is an UnknownFieldError
(with the closest name), at any depth: a typo in a test's body is caught, not sent. Values
are not checked, so a test can still answer with a value of the wrong type on purpose. A
dict given for a model field is completed the same way; a model instance is used as its
``to_dict()``. Timestamps (``datetime`` values included) are written as unix nanoseconds,
or as RFC 3339 strings with ``timestamps="rfc3339"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._errors import ArgumentValueError, UnknownFieldError
from .._types import closest
from ._errors import MORE_INFO
from ._fallback import FILLED_TIMESTAMP_NS, default_filler
from ._spec import load_spec, operations
from ._wire import TimestampMode, encode_json

__all__ = ["BODY_TIMESTAMP_NS", "api_error_body", "complete_body", "model_body", "response_body"]

BODY_TIMESTAMP_NS = FILLED_TIMESTAMP_NS
"""The timestamp the builders fill in (2024-05-14T09:37:52Z), the same in every body."""


def _schema_name(model: type | str) -> str:
    schemas = load_spec()["components"]["schemas"]
    name = model if isinstance(model, str) else str(getattr(model, "_schema_name", model))
    if name not in schemas:
        close = closest(name, schemas)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise ArgumentValueError(f"no schema {name!r} in the generated release{hint}")
    return name


def _wire(value: Any) -> Any:
    """A value as JSON would hold it: models as their dicts, containers copied."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(type(value), "_wire_fields"):
        return to_dict()
    if isinstance(value, Mapping):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(item) for item in value]
    return value


def _check_keys(schema: Mapping[str, Any], value: Any, where: str) -> None:
    """Every key of a dict given for a model is a field of it (at any depth)."""
    schema = default_filler().resolve(schema)
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                _check_keys(items, item, f"{where}[{index}]")
        return
    if not isinstance(value, dict):
        return
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if not properties:  # a map: its values may be models
        values = schema.get("additionalProperties")
        if isinstance(values, Mapping):
            for key, item in value.items():
                _check_keys(values, item, f"{where}.{key}")
        return
    for key, item in value.items():
        if key not in properties:
            raise UnknownFieldError(where, str(key), closest(str(key), properties))
        _check_keys(properties[key], item, f"{where}.{key}")


def model_body(
    model: type | str, /, *, timestamps: TimestampMode = "unix_ns", **fields: Any
) -> dict[str, Any]:
    """A JSON object of ``model`` (a generated model class, or its schema's name): the
    ``fields`` given, every required field filled at every depth."""
    name = _schema_name(model)
    body = _wire(fields)
    _check_keys({"$ref": f"#/components/schemas/{name}"}, body, name)
    return _completed(name, body, timestamps)


def complete_body(
    model: type | str, body: Mapping[str, Any], /, *, timestamps: TimestampMode = "unix_ns"
) -> dict[str, Any]:
    """A copy of ``body`` (a recorded answer, a fixture file) with the required fields of
    ``model`` it lacks filled in, at every depth. Its keys are not checked: a recorded
    answer may hold fields the generated release no longer describes."""
    return _completed(_schema_name(model), _wire(body), timestamps)


def _completed(name: str, body: dict[str, Any], timestamps: TimestampMode) -> dict[str, Any]:
    default_filler().fill_required(name, body, BODY_TIMESTAMP_NS)
    completed: dict[str, Any] = json.loads(encode_json(body, timestamps))
    return completed


def response_body(
    operation: str, /, *, timestamps: TimestampMode = "unix_ns", **fields: Any
) -> dict[str, Any]:
    """The JSON body of a successful answer to ``operation`` (the SDK method's name, e.g.
    ``"check"``), with ``fields`` and every required field."""
    known = operations()
    spec = known.get(operation)
    if spec is None:
        close = closest(operation, known)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise ArgumentValueError(f"no operation {operation!r} in the generated release{hint}")
    if spec.response_schema is None:
        return dict(_wire(fields))
    return model_body(spec.response_model, timestamps=timestamps, **fields)


def api_error_body(status: int, code: int, message: str, /, **fields: Any) -> dict[str, Any]:
    """The API's error body (the spec's ``APIError``): ``StatusCode``, ``code`` and
    ``message``, the other fields given (``exception_fields``, ``unrecoverable``, ...), and
    every required field (``more_info``: the page Stream links to, as the emulator does)."""
    fields.setdefault("more_info", MORE_INFO)
    return model_body("APIError", StatusCode=status, code=code, message=message, **fields)
