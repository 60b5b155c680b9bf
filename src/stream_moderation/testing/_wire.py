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

from .._generated.types import Timestamp, wire_to_timestamp

__all__ = ["TimestampMode", "decode_json", "encode_json", "parse_time", "text_problem", "ts"]

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
