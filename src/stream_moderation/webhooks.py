"""Webhooks: check Stream's signature and parse the body into a typed event.

Stream signs every webhook call with ``X-Signature``: the hex HMAC-SHA256 of the request
body, keyed by the app's API secret. When gzip is enabled the body arrives compressed and
the signature covers the uncompressed JSON; compressed bodies are recognised by their
magic bytes (``1f 8b``), whatever the ``Content-Encoding`` header says.

::

    event = verify_and_parse(body, request.headers.get("x-signature"), api_secret)
    if isinstance(event, ReviewQueueItemNewEvent):
        ...

Events parse into the generated model of their ``type`` (``EVENT_MODELS``, generated from
the spec); a type this version of the SDK does not know parses into ``UnknownEvent``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from attrs import define

from ._auth import Secret
from ._exceptions import StreamError
from ._generated import models as _models
from ._generated.errors import ArgumentValueError, ParseError
from ._generated.events import EVENT_MODELS
from ._generated.types import Timestamp, wire_to_timestamp

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._generated.events import AnyEvent

__all__ = [
    "EVENT_MODELS",
    "SIGNATURE_HEADER",
    "Event",
    "InvalidEventError",
    "InvalidSignatureError",
    "UnknownEvent",
    "WebhookError",
    "parse_event",
    "verify_and_parse",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Signature"
"""The request header that carries the signature."""

_GZIP_MAGIC = b"\x1f\x8b"
# A gzip body is inflated before its signature can be checked, so an unsigned request
# could ask for a lot of memory: refuse to inflate past this (webhook bodies are KBs).
_MAX_INFLATED_BYTES = 32 * 1024 * 1024
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class WebhookError(StreamError):
    """A webhook call that cannot be accepted."""


class InvalidSignatureError(WebhookError):
    """The request is not signed with the API secret: it may not come from Stream.

    Answer it with 401 and do not act on the body.
    """


class InvalidEventError(WebhookError):
    """The body is not a webhook event this SDK can read (not JSON, no ``type``, or a
    payload that does not fit the model of its type).

    ``location`` names the failing field (e.g. ``ReviewQueueItemNewEvent.flags[].type``)
    when the payload did not fit its model; the ParseError is the ``__cause__``.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location


@define(frozen=True)
class UnknownEvent:
    """An event of a type this version of the SDK does not know.

    Stream adds event types over time; regenerating the SDK from a newer spec turns them
    into models. Until then the event is kept as received.
    """

    type: str
    created_at: Timestamp | None
    """When the event was created; None when the payload has no readable ``created_at``."""
    payload: dict[str, Any]
    """The whole JSON object, as received."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the event, as for the models."""
        return dict(self.payload)


if TYPE_CHECKING:
    Event: TypeAlias = AnyEvent | UnknownEvent
    """Whatever a webhook parses into: the model of its type, or UnknownEvent."""
else:

    def __getattr__(name: str) -> Any:
        # Built on first use: importing every event model takes a while.
        if name == "Event":
            models = (getattr(_models, n) for n in sorted(set(EVENT_MODELS.values())))
            globals()["Event"] = Union[(*models, UnknownEvent)]
            return globals()["Event"]
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def verify_signature(
    body: bytes | str, signature: str | bytes | None, secret: str | Secret
) -> bool:
    """Whether ``signature`` (the ``X-Signature`` header) is the body's HMAC-SHA256 under
    ``secret`` (the app's API secret), compared in constant time.

    ``body`` is the request body exactly as received (gzip-compressed or not). The
    signature may be upper- or lowercase hex, with surrounding whitespace. A missing or
    empty signature is False. Raises ValueError when ``secret`` is empty.
    """
    try:
        _verified_body(body, signature, secret)
    except InvalidSignatureError:
        return False
    return True


def parse_event(body: bytes | str | Mapping[str, Any]) -> Event:
    """The event in a webhook body (raw bytes, gzip-compressed or not, text, or the
    already decoded JSON object), as the model of its ``type``.

    An unknown ``type`` gives an UnknownEvent. Raises InvalidEventError when the body is
    not a JSON object with a string ``type``, or does not fit the model of its type.
    This does not check the signature: see ``verify_and_parse``.
    """
    if isinstance(body, Mapping):
        return _event(body)
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = _inflated(bytes(body))
        except ValueError as exc:
            raise InvalidEventError(str(exc)) from None
    return _event(_json(body))


def verify_and_parse(
    body: bytes | str, signature: str | bytes | None, secret: str | Secret
) -> Event:
    """Check the signature of a webhook call, then parse its body (see ``parse_event``).

    Raises InvalidSignatureError (answer 401) when the signature is missing or does not
    match, InvalidEventError (answer 400) when a signed body is not a readable event, and
    ValueError when ``secret`` is empty.
    """
    return _event(_json(_verified_body(body, signature, secret)))


def _verified_body(body: bytes | str, signature: str | bytes | None, secret: str | Secret) -> bytes:
    """The uncompressed body, once its signature is checked."""
    if not secret:
        raise ArgumentValueError(
            "the API secret is empty: webhooks are signed with the app's secret"
        )
    if isinstance(signature, bytes):
        signature = signature.decode("latin-1")
    signature = (signature or "").strip()
    if not signature:
        raise InvalidSignatureError(
            f"missing signature: the {SIGNATURE_HEADER} header is absent or empty "
            "(Stream signs every webhook call)"
        )
    raw = body.encode() if isinstance(body, str) else bytes(body)
    try:
        data = _inflated(raw)
    except ValueError as exc:
        raise InvalidSignatureError(f"cannot check the signature: {exc}") from None
    expected = hmac.new(
        (secret.reveal() if isinstance(secret, Secret) else secret).encode(), data, hashlib.sha256
    )
    expected_hex = expected.hexdigest().encode()
    if not hmac.compare_digest(expected_hex, signature.lower().encode()):
        hint = (
            ""
            if _HEX_DIGEST.fullmatch(signature)
            else f"; {SIGNATURE_HEADER} should be 64 hex digits, got {len(signature)} characters"
        )
        raise InvalidSignatureError(
            "the signature does not match the body: check the API secret, and pass the body "
            f"exactly as received (raw bytes, not re-encoded JSON){hint}"
        )
    return data


def _inflated(body: bytes) -> bytes:
    """The body, decompressed if it is gzip; ValueError if it does not decompress."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, _MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(
            f"the body is gzip (starts with 1f 8b) but does not decompress: {exc}"
        ) from None
    if len(data) > _MAX_INFLATED_BYTES:
        raise ValueError(f"the gzip body inflates past {_MAX_INFLATED_BYTES} bytes")
    if not inflater.eof:
        raise ValueError("the gzip body is truncated")
    if inflater.unused_data:
        raise ValueError("the gzip body has trailing bytes after the compressed stream")
    return data


def _json(body: bytes | str) -> Any:
    if not body.strip():
        raise InvalidEventError("the body is empty: a webhook event is a JSON object")
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidEventError(f"the body is not JSON: {exc}") from None
    except RecursionError:  # json.loads past the interpreter's recursion limit
        raise InvalidEventError("the body is JSON nested too deeply to read") from None


def _event(payload: Any) -> Event:
    if not isinstance(payload, Mapping):
        kind = "an array" if isinstance(payload, list) else type(payload).__name__
        raise InvalidEventError(f"a webhook event is a JSON object, got {kind}")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidEventError(
            "the event has no 'type'" if event_type in (None, "") else "'type' is not a string",
            location="type",
        )
    name = EVENT_MODELS.get(event_type)
    if name is None:
        created_at = payload.get("created_at")
        return UnknownEvent(
            type=event_type, created_at=_timestamp(created_at), payload=dict(payload)
        )
    try:
        event = getattr(_models, name).from_dict(payload)
        event.created_at  # noqa: B018 - read eagerly: a bad one fails here, not in a handler
    except ParseError as exc:
        raise InvalidEventError(
            f"a {event_type!r} event does not fit {name}: {exc}", location=exc.location
        ) from exc
    return event  # type: ignore[no-any-return]


def _timestamp(value: Any) -> Timestamp | None:
    if value is None:
        return None
    try:
        return wire_to_timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return None
