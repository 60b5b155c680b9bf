"""Realistic webhook payloads built from the spec's schemas, and their signatures.

Every property of the event schema is filled in (nested models too, down to a depth where
only required fields remain), in one of the two timestamp encodings the API uses: unix
nanoseconds or RFC 3339 strings, the same instants in both. An event's ``created_at`` is
BASE_NS; the other timestamps follow it a second (and a nanosecond) apart.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any, Literal

from stream_moderation._generated.events import EVENT_MODELS
from stream_moderation.models import Timestamp

SPEC_PATH = Path(__file__).resolve().parents[2] / "src/stream_moderation/_generated/spec.json"
SCHEMAS: dict[str, Any] = json.loads(SPEC_PATH.read_text())["components"]["schemas"]

Encoding = Literal["ns", "rfc3339"]
ENCODINGS: tuple[Encoding, ...] = ("ns", "rfc3339")
BASE_NS = 1_715_679_472_123_456_789  # 2024-05-14T09:37:52.123456789Z
FULL_DEPTH = 3  # below this, nested models get their required fields only
# Values for a few well-known string fields; others get "<name>-value" (ids "<name>-1").
STRINGS = {
    "content_type": "message",
    "entity_creator_id": "user-456",
    "entity_id": "message-123",
    "entity_type": "stream:chat:v1:message",
    "error": "export failed: storage unavailable",
    "recommended_action": "flag",
    "status": "pending",
    "text": "Hello, this is a test message",
    "url": "https://example.com/exports/task-1.csv",
    "user_id": "user-456",
}


class PayloadBuilder:
    def __init__(self, encoding: Encoding, full: bool = True) -> None:
        self.encoding = encoding
        self.full = full
        self._clock = BASE_NS

    def event(self, event_type: str) -> dict[str, Any]:
        payload = self.model(EVENT_MODELS[event_type], depth=0, stack=())
        payload["type"] = event_type
        payload["created_at"] = self.encoded(BASE_NS)
        return payload

    def model(self, name: str, depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
        schema = SCHEMAS[name]
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for prop, sub in sorted(schema.get("properties", {}).items()):
            if prop not in required:
                optional_ref = sub.get("$ref") or sub.get("items", {}).get("$ref", "")
                recursive = optional_ref.rsplit("/", 1)[-1] in (*stack, name)
                if not self.full or depth >= FULL_DEPTH or recursive:
                    continue
            out[prop] = self.value(prop, sub, depth, (*stack, name))
        return out

    def value(self, prop: str, schema: dict[str, Any], depth: int, stack: tuple[str, ...]) -> Any:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            target = SCHEMAS[name]
            if "enum" in target:
                return target["enum"][0]
            return self.model(name, depth + 1, stack)
        if "enum" in schema:  # the usual value when it is listed (a documented enum)
            return STRINGS[prop] if STRINGS.get(prop) in schema["enum"] else schema["enum"][0]
        kind = schema.get("type")
        if kind == "string" and schema.get("format") == "date-time":
            return self.timestamp()
        if kind == "string":
            if "default" in schema:
                return schema["default"]
            text = STRINGS.get(prop) or (
                f"{prop}-1" if prop == "id" or prop.endswith("_id") else f"{prop}-value"
            )
            return text[: schema.get("maxLength", len(text))]
        if kind == "integer":
            return max(schema.get("minimum", 0), 3)
        if kind == "number":
            return 0.75
        if kind == "boolean":
            return False
        if kind == "array":
            item = self.value(prop, schema.get("items", {}), depth, stack)
            return [item] * max(1, schema.get("minItems", 1))
        if kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return {"key1": self.value(prop, extra, depth, stack)}
            return {"source": "test", "score": 1}
        return f"{prop}-value"  # any JSON value

    def timestamp(self) -> int | str:
        self._clock += 1_000_000_001  # a second and a nanosecond apart
        return self.encoded(self._clock)

    def encoded(self, unix_ns: int) -> int | str:
        if self.encoding == "ns":
            return unix_ns
        return Timestamp.from_unix_ns(unix_ns).to_rfc3339()


def build_event(event_type: str, encoding: Encoding = "ns", full: bool = True) -> dict[str, Any]:
    return PayloadBuilder(encoding, full).event(event_type)


def sign(body: bytes, secret: str) -> str:
    """What Stream puts in X-Signature: hex HMAC-SHA256 of the uncompressed body."""
    data = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
