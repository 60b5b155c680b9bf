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

A signature proves who wrote a body, not when nor how often it was sent: a captured call
can be replayed as is, with any headers. ``verify_and_parse(..., max_age=...)`` refuses
an event whose ``created_at`` (inside the signed body) is too far from now, and
``event_key`` + ``SeenEvents`` handle each signed body once::

    seen = SeenEvents(ttl=2 * MAX_AGE)
    event = verify_and_parse(body, signature, api_secret, max_age=MAX_AGE)
    if seen.claim(event_key(body)):
        ...  # handle it; seen.release(key) if handling fails, so that a retry is handled
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import re
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Union

from attrs import define

from ._auth import Secret
from ._errors import ArgumentValueError, ParseError
from ._exceptions import StreamError
from ._generated import models as _models
from ._generated.events import EVENT_MODELS
from ._types import Timestamp, wire_to_timestamp

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._generated.events import AnyEvent

__all__ = [
    "EVENT_MODELS",
    "SIGNATURE_HEADER",
    "Event",
    "InvalidEventError",
    "InvalidSignatureError",
    "SeenEvents",
    "StaleEventError",
    "UnknownEvent",
    "WebhookError",
    "event_key",
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


class StaleEventError(WebhookError):
    """A correctly signed event whose ``created_at`` is further from now than ``max_age``:
    a captured call replayed, or a retry later than you accept. Do not act on it.

    ``age`` is how old the event is, in seconds (negative: created in the future).
    """

    def __init__(self, message: str, age: float) -> None:
        super().__init__(message)
        self.age = age


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


def parse_event(body: bytes | str | Mapping[str, Any], *, strict_validation: bool = False) -> Event:
    """The event in a webhook body (raw bytes, gzip-compressed or not, text, or the
    already decoded JSON object), as the model of its ``type``.

    An unknown ``type`` gives an UnknownEvent. Raises InvalidEventError when the body is
    not a JSON object with a string ``type``, or does not fit the model of its type. A
    field the spec requires that the event lacks reads as None, with a warning logged
    once per field (as in responses); with ``strict_validation`` it is an
    InvalidEventError. This does not check the signature: see ``verify_and_parse``.
    """
    if isinstance(body, Mapping):
        return _event(body, strict_validation)
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = _inflated(bytes(body))
        except ValueError as exc:
            raise InvalidEventError(str(exc)) from None
    return _event(_json(body), strict_validation)


def verify_and_parse(
    body: bytes | str,
    signature: str | bytes | None,
    secret: str | Secret,
    *,
    max_age: float | _dt.timedelta | None = None,
    strict_validation: bool = False,
) -> Event:
    """Check the signature of a webhook call, then parse its body (see ``parse_event``,
    which also says what ``strict_validation`` does).

    With ``max_age`` (seconds, or a timedelta), the event's ``created_at``, read from the
    signed body (unix nanoseconds or RFC 3339), must be at most that far from now, in
    either direction (clock skew): older, it is a replay or a very late retry. Pick it
    longer than Stream's retries of a call can take.

    Raises InvalidSignatureError (answer 401) when the signature is missing or does not
    match, StaleEventError when the event is too old (or too far in the future),
    InvalidEventError (answer 400) when a signed body is not a readable event (with
    ``max_age``: also one without a readable ``created_at``), and ValueError when
    ``secret`` is empty.
    """
    payload = _json(_verified_body(body, signature, secret))
    if max_age is not None and isinstance(payload, Mapping):
        _check_age(payload, max_age)
    return _event(payload, strict_validation)


def event_key(body: bytes | str) -> str:
    """What identifies a webhook call by what its signature covers: the hex SHA-256 of
    its uncompressed body. A replayed call has the key of the original whatever headers
    it comes with (``X-Webhook-Id`` and the other headers are not signed); a retry by
    Stream, which resends the same body, has it too. Call it on a verified body.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    try:
        data = _inflated(raw)
    except ValueError as exc:
        raise InvalidEventError(str(exc)) from None
    return hashlib.sha256(data).hexdigest()


class SeenEvents:
    """The keys (``event_key``) of the webhook calls handled, or being handled, here, each
    remembered for ``ttl`` seconds: ``claim(key)`` is True only the first time.

    With ``verify_and_parse(max_age=...)``, use ``ttl >= 2 * max_age``: an event is
    accepted while its ``created_at`` is within ``max_age`` of now, so a replay is either
    remembered or refused as stale. Memory holds the calls of the last ``ttl`` seconds
    (only signed calls get this far). In memory, so per process: with several workers,
    keep the keys in a shared store (e.g. Redis ``SET key 1 NX EX ttl``) instead.
    """

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be a positive number of seconds")
        self.ttl = float(ttl)
        self._clock = clock
        self._expiries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        """Whether the call is new (and now claimed); False if it was seen already."""
        now = self._clock()
        with self._lock:
            while self._expiries and next(iter(self._expiries.values())) <= now:
                self._expiries.popitem(last=False)
            if key in self._expiries:
                return False
            self._expiries[key] = now + self.ttl
            return True

    def release(self, key: str) -> None:
        """Forget a call whose handling failed, so that Stream's retry is handled."""
        with self._lock:
            self._expiries.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiries)


def _check_age(payload: Mapping[str, Any], max_age: float | _dt.timedelta) -> None:
    limit = max_age.total_seconds() if isinstance(max_age, _dt.timedelta) else float(max_age)
    created = _timestamp(payload.get("created_at"))
    if created is None:
        raise InvalidEventError(
            "the event has no readable created_at, so its age cannot be checked",
            location="created_at",
        )
    age = (time.time_ns() - created.unix_ns) / 1e9
    if abs(age) > limit:
        when = f"{age:.0f} s ago" if age >= 0 else f"{-age:.0f} s in the future"
        raise StaleEventError(
            f"the event was created {when}, further from now than max_age ({limit:g} s): "
            "a replayed call, or a retry later than accepted",
            age,
        )


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


def _event(payload: Any, strict_validation: bool) -> Event:
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
        event = getattr(_models, name).from_dict(payload, False, strict_validation)
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
