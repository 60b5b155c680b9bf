"""JSON in and out, and how timestamps go on the wire.

Inside the emulator every timestamp is an ``int`` of unix nanoseconds; the renderers wrap
the ones that go into a response in ``Timestamp`` and the encoder writes them in the
selected mode: unix-nanosecond integers (what the v2 API sends, the default) or RFC 3339
strings. The automod (``/api/v1``) endpoints always use RFC 3339, as their spec says.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterator
from typing import Any, Literal

from .._types import Timestamp, wire_to_timestamp

__all__ = [
    "TimestampMode",
    "decode_json",
    "encode_json",
    "parse_form",
    "parse_time",
    "text_problem",
    "ts",
]

TimestampMode = Literal["unix_ns", "rfc3339"]


def ts(ns: int) -> Timestamp:
    """A response timestamp from stored unix nanoseconds."""
    return Timestamp.from_unix_ns(ns)


def parse_time(value: Any) -> int:
    """Unix nanoseconds from a wire timestamp (int ns, digit string or RFC 3339).

    Raises ValueError/TypeError when the value is not a timestamp.
    """
    if isinstance(value, bool):
        raise TypeError("expected a timestamp, got a boolean")
    return wire_to_timestamp(value).unix_ns


def _encoder(mode: TimestampMode) -> json.JSONEncoder:
    def default(value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            stamp = Timestamp.from_datetime(value)
            return stamp.unix_ns if mode == "unix_ns" else stamp.to_rfc3339()
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")

    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=default)


_ENCODERS: dict[str, json.JSONEncoder] = {
    "unix_ns": _encoder("unix_ns"),
    "rfc3339": _encoder("rfc3339"),
}


def encode_json(value: Any, mode: TimestampMode) -> bytes:
    """Compact UTF-8 JSON, with timestamps written in ``mode``."""
    return _ENCODERS[mode].encode(value).encode()


MAX_DEPTH = 64
"""Deeper JSON (objects and arrays nested more than this) is refused."""


def decode_json(data: bytes) -> Any:
    """Parse a request body (ValueError on malformed JSON, bad UTF-8 or too deep nesting)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH:
                    raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
                stack.append((child, depth + 1))
    return value


_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _not_text(value: str) -> str | None:
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "holds a NUL character (U+0000), which the API does not store"
    return "holds a lone surrogate (U+D800-U+DFFF), which is not text (it has no UTF-8 form)"


def _text_problems(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        problem = _not_text(value)
        if problem is not None:
            yield where or "body", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _not_text(key)
            if problem is not None:  # the key itself is not shown: it may not be encodable
                yield where or "body", f"has a key that {problem}"
                return
            yield from _text_problems(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for item in value:
            yield from _text_problems(item, f"{where}[]")


def text_problem(value: Any) -> tuple[str, str] | None:
    """The first string (or object key) in decoded JSON that no API stores, as (field
    path, problem): one with a NUL character or a lone surrogate. ``json.loads`` accepts
    both (``"\\u0000"``, ``"\\udfff"``); a lone surrogate cannot even be written back
    out as UTF-8, so a stored one breaks every later answer that includes it."""
    return next(_text_problems(value, ""), None)


MAX_FORM_PARTS = 100
"""A multipart/form-data body with more parts is refused."""


def parse_form(
    raw: bytes, content_type: str, schema_name: str, files: dict[str, tuple[str, bytes]]
) -> dict[str, Any]:
    """A multipart/form-data body (``analyze`` takes image bytes this way) as the JSON body
    it stands for: a field the request schema types as a string is taken as is, any other
    is JSON (``texts={"title": "..."}``); parts with a filename go into ``files``
    (name -> (filename, bytes)). ValueError-free: a malformed form is a 400."""
    from email import policy
    from email.parser import BytesParser

    from ._errors import input_error
    from ._spec import load_spec

    header = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(header + raw)
    if not message.is_multipart() or message.defects:
        raise input_error("the multipart/form-data body is malformed", {"body": "malformed form"})
    properties = load_spec()["components"]["schemas"][schema_name].get("properties", {})
    body: dict[str, Any] = {}
    for count, part in enumerate(message.iter_parts(), start=1):
        if count > MAX_FORM_PARTS:
            raise input_error(f"at most {MAX_FORM_PARTS} form parts", {"body": "too many parts"})
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise input_error("a form part has no name", {"body": "part without a name"})
        content = part.get_payload(decode=True)
        data = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data)
            continue
        try:
            text = data.decode()
            kind = properties.get(name, {"type": "string"}).get("type")
            body[name] = text if kind == "string" else decode_json(data)
        except ValueError:
            raise input_error(f"form field {name} is not valid JSON", {name: "not JSON"}) from None
    return body
