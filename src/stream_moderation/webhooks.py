"""Webhooks: check Stream's signature and parse the body into a typed event.

Stream signs every webhook call with ``X-Signature``: the hex HMAC-SHA256 of the request
body, keyed by the app's API secret. When gzip is enabled the body arrives compressed and
the signature covers the uncompressed JSON; compressed bodies are recognised by their
magic bytes (``1f 8b``), whatever the ``Content-Encoding`` header says.

::

    event = verify_and_parse(body, request.headers.get("x-signature"), api_secret)
    if isinstance(event, ReviewQueueItemNewEvent):
        ...

Stream can also deliver the same events to an Amazon SQS queue or an SNS topic.
``parse_sqs`` and ``parse_sns`` read those messages (the JSON, or its gzip, wrapped in
base64; for SNS inside the notification envelope); ``verify_and_parse_sqs`` and
``verify_and_parse_sns`` also check an ``X-Signature`` message attribute, for deliveries
that carry one. ``sign_test_payload`` builds a signed call (body and headers, or the SQS
message and SNS notification of it) to test a receiver without Stream or the emulator.

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

import base64
import binascii
import datetime as _dt
import gzip as _gzip
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
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
from ._types import Timestamp, read_all, wire_to_timestamp

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._generated.events import AnyEvent

__all__ = [
    "EVENT_MODELS",
    "MAX_DEPTH",
    "SIGNATURE_HEADER",
    "Event",
    "InvalidEventError",
    "InvalidSignatureError",
    "SeenEvents",
    "SignedPayload",
    "StaleEventError",
    "UnknownEvent",
    "WebhookError",
    "event_key",
    "parse_event",
    "parse_sns",
    "parse_sqs",
    "sign_test_payload",
    "verify_and_parse",
    "verify_and_parse_sns",
    "verify_and_parse_sqs",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Signature"
"""The request header that carries the signature."""

_GZIP_MAGIC = b"\x1f\x8b"
# A gzip body is inflated before its signature can be checked, so an unsigned request
# could ask for a lot of memory: refuse to inflate past this (webhook bodies are KBs).
_MAX_INFLATED_BYTES = 32 * 1024 * 1024
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
MAX_DEPTH = 500
"""The deepest nesting of arrays and objects a webhook body may have (events are a few
levels deep): deeper is an InvalidEventError on every Python version, whatever its JSON
decoder's own recursion limit."""


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
        payload = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidEventError(f"the body is not JSON: {exc}") from None
    except RecursionError:  # json.loads past the interpreter's recursion limit
        raise InvalidEventError(_TOO_DEEP) from None
    if _depth_exceeds(payload, MAX_DEPTH):
        raise InvalidEventError(_TOO_DEEP)
    return payload


_TOO_DEEP = f"the body is JSON nested too deeply to read (more than {MAX_DEPTH} levels)"


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep (iteratively: a
    recursive walk would hit the recursion limit it is meant to stay under). Python 3.12
    and later decode JSON far deeper than 3.11 does before a RecursionError."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


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
        # read whole now (its nested models and its timestamp): a bad event fails here,
        # not in a handler
        event = read_all(getattr(_models, name).from_dict(payload, False, strict_validation))
        event.created_at  # noqa: B018
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


# --- SQS and SNS ------------------------------------------------------------------------

_SIGNATURE_ATTRIBUTE = SIGNATURE_HEADER.lower()
_NO_QUEUE_SIGNATURE = (
    "the message has no X-Signature attribute. Stream's current docs say SQS and SNS "
    "deliveries are not HMAC-signed (the queue's or topic's AWS access policy is what "
    "authenticates them): use parse_sqs / parse_sns for those, or pass signature="
)


def parse_sqs(
    message: bytes | str | Mapping[str, Any], *, strict_validation: bool = False
) -> Event:
    """The event in an SQS message Stream sent: its body is the event's JSON, or the gzip
    of it, wrapped in base64 (plain JSON is accepted too). ``message`` is the body (text
    or bytes) or the whole message as boto3's ``receive_message`` (``Body``) or a Lambda
    SQS record (``body``) gives it. A body that is an SNS notification (a topic delivering
    to the queue without raw delivery) is unwrapped.

    This checks no signature: SQS messages are authenticated by the queue's access
    policy. Raises InvalidEventError when the body is not base64, gzip or JSON that holds
    an event (see ``parse_event``).
    """
    return _event(_json(_sqs_payload(_sqs_body(message))), strict_validation)


def verify_and_parse_sqs(
    message: bytes | str | Mapping[str, Any],
    secret: str | Secret,
    *,
    signature: str | bytes | None = None,
    max_age: float | _dt.timedelta | None = None,
    strict_validation: bool = False,
) -> Event:
    """``parse_sqs``, after checking the HMAC-SHA256 of the decoded (uncompressed) JSON
    against ``signature``, or else the message's ``X-Signature`` attribute (any case;
    boto3's ``StringValue`` or Lambda's ``stringValue``; for an SNS notification in the
    queue, the notification's). ``max_age`` as for
    ``verify_and_parse``. A message without a signature raises InvalidSignatureError."""
    if signature is None and isinstance(message, Mapping):
        attributes = message.get("MessageAttributes", message.get("messageAttributes"))
        signature = _attribute(attributes, _SIGNATURE_ATTRIBUTE)
    data, notification_attributes = _sqs_unwrapped(_sqs_body(message))
    if signature is None:
        signature = _attribute(notification_attributes, _SIGNATURE_ATTRIBUTE)
    if signature is None:
        raise InvalidSignatureError(_NO_QUEUE_SIGNATURE)
    return _verified_event(data, signature, secret, max_age, strict_validation)


def parse_sns(
    notification: bytes | str | Mapping[str, Any], *, strict_validation: bool = False
) -> Event:
    """The event in an SNS notification Stream published: the JSON envelope SNS posts to
    an HTTPS subscriber (``{"Type": "Notification", "Message": ..., ...}``), a Lambda SNS
    record (``{"Sns": {...}}``), or the ``Message`` already taken out of it. The message
    is the event's JSON, or its gzip, wrapped in base64 (plain JSON is accepted too).

    The envelope's own AWS signature is not checked here (AWS SDKs and Lambda do that);
    a ``SubscriptionConfirmation`` is an InvalidEventError that says to confirm it.
    """
    message, _ = _sns_message(notification)
    return _event(_json(_queue_payload(message)), strict_validation)


def verify_and_parse_sns(
    notification: bytes | str | Mapping[str, Any],
    secret: str | Secret,
    *,
    signature: str | bytes | None = None,
    max_age: float | _dt.timedelta | None = None,
    strict_validation: bool = False,
) -> Event:
    """``parse_sns``, after checking the HMAC-SHA256 of the decoded JSON against
    ``signature``, or else the envelope's ``X-Signature`` message attribute (``Value``).
    A notification without a signature raises InvalidSignatureError."""
    message, attributes = _sns_message(notification)
    if signature is None:
        signature = _attribute(attributes, _SIGNATURE_ATTRIBUTE)
    if signature is None:
        raise InvalidSignatureError(_NO_QUEUE_SIGNATURE)
    data = _queue_payload(message)
    return _verified_event(data, signature, secret, max_age, strict_validation)


def _verified_event(
    data: bytes,
    signature: str | bytes,
    secret: str | Secret,
    max_age: float | _dt.timedelta | None,
    strict_validation: bool,
) -> Event:
    payload = _json(_verified_body(data, signature, secret))
    if max_age is not None and isinstance(payload, Mapping):
        _check_age(payload, max_age)
    return _event(payload, strict_validation)


def _sqs_body(message: bytes | str | Mapping[str, Any]) -> bytes | str:
    if isinstance(message, Mapping):
        body = message.get("Body", message.get("body"))
        if not isinstance(body, (str, bytes)):
            raise InvalidEventError(
                "an SQS message has its payload in 'Body' (boto3) or 'body' (Lambda)"
            )
        return body
    return message


def _sqs_payload(body: bytes | str) -> bytes:
    return _sqs_unwrapped(body)[0]


def _sqs_unwrapped(body: bytes | str) -> tuple[bytes, Mapping[str, Any] | None]:
    """The event bytes of an SQS body, and the attributes of the SNS notification it is
    (a topic delivering to the queue without raw delivery), if it is one."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if text.lstrip().startswith("{"):
        try:
            envelope = json.loads(text)
        except (ValueError, RecursionError):
            envelope = None
        if isinstance(envelope, dict) and "TopicArn" in envelope and "Message" in envelope:
            message, attributes = _sns_message(envelope)
            return _queue_payload(message), attributes
    return _queue_payload(body), None


def _sns_message(
    notification: bytes | str | Mapping[str, Any],
) -> tuple[str | bytes, Mapping[str, Any] | None]:
    """The message of a notification, and its attributes."""
    envelope: Any = notification
    if not isinstance(notification, Mapping):
        text = (
            notification.decode("utf-8", "replace")
            if isinstance(notification, bytes)
            else notification
        )
        if not text.lstrip().startswith("{"):
            return notification, None  # the Message, taken out of its envelope already
        try:
            envelope = json.loads(text)
        except (ValueError, RecursionError):
            return notification, None
    if isinstance(envelope, Mapping) and isinstance(envelope.get("Sns"), Mapping):
        envelope = envelope["Sns"]  # a Lambda record
    if not isinstance(envelope, Mapping) or "Message" not in envelope:
        if isinstance(notification, Mapping):
            raise InvalidEventError("an SNS notification has its payload in 'Message'")
        return notification, None  # plain event JSON, not an envelope
    kind = envelope.get("Type", "Notification")
    if kind != "Notification":
        raise InvalidEventError(
            f"an SNS {kind}, not a Notification"
            + (": confirm the subscription at its SubscribeURL" if "Subscription" in kind else "")
        )
    message = envelope["Message"]
    if not isinstance(message, str):
        raise InvalidEventError("the SNS notification's Message is not a string")
    attributes = envelope.get("MessageAttributes")
    return message, attributes if isinstance(attributes, Mapping) else None


def _attribute(attributes: Any, name: str) -> str | None:
    """A message attribute's string value, by name in any case (SQS: ``StringValue``,
    Lambda SQS: ``stringValue``, SNS: ``Value``)."""
    if not isinstance(attributes, Mapping):
        return None
    for key, value in attributes.items():
        if isinstance(key, str) and key.lower() == name:
            if isinstance(value, str):
                return value
            if isinstance(value, Mapping):
                for field in ("StringValue", "stringValue", "Value"):
                    if isinstance(value.get(field), str):
                        return str(value[field])
    return None


def _queue_payload(message: bytes | str) -> bytes:
    """A queue message's event bytes: base64 (strict) of the JSON or of its gzip, or the
    JSON itself; inflated when gzip."""
    raw = message.encode() if isinstance(message, str) else bytes(message)
    stripped = raw.strip()
    if not stripped:
        raise InvalidEventError("the message is empty: it should hold a webhook event")
    if not stripped.startswith((b"{", b"[")) and not stripped.startswith(_GZIP_MAGIC):
        try:
            raw = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEventError(
                "the message is neither JSON nor base64 (Stream wraps the event's JSON, or "
                "its gzip, in base64)"
            ) from None
    try:
        return _inflated(raw)
    except ValueError as exc:
        raise InvalidEventError(str(exc)) from None


# --- test payloads ----------------------------------------------------------------------


@define(frozen=True)
class SignedPayload:
    """A webhook call as Stream makes it, signed with a secret: post ``body`` with
    ``headers`` to a receiver, or hand ``sqs_message()`` / ``sns_notification()`` to a
    queue consumer. Made by ``sign_test_payload``."""

    body: bytes
    """The request body: the event's JSON (gzip-compressed when asked for)."""
    headers: dict[str, str]
    """``Content-Type``, ``X-Signature``, ``X-Webhook-Id``, ``X-Webhook-Attempt``,
    ``X-Api-Key`` and, for a compressed body, ``Content-Encoding: gzip``."""
    signature: str
    """The ``X-Signature``: the hex HMAC-SHA256 of the uncompressed JSON."""
    webhook_id: str

    def sqs_message(self) -> dict[str, Any]:
        """The message as boto3's ``receive_message`` returns it: ``Body`` (the body in
        base64) and the signature as the ``X-Signature`` message attribute."""
        return {
            "MessageId": self.webhook_id,
            "Body": base64.b64encode(self.body).decode("ascii"),
            "MessageAttributes": {
                SIGNATURE_HEADER: {"DataType": "String", "StringValue": self.signature}
            },
        }

    def sns_notification(self) -> dict[str, Any]:
        """The JSON SNS posts to an HTTPS subscriber: ``Message`` (the body in base64)
        and the signature as the ``X-Signature`` message attribute. Its AWS ``Signature``
        is a placeholder."""
        return {
            "Type": "Notification",
            "MessageId": self.webhook_id,
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:stream-test",
            "Message": base64.b64encode(self.body).decode("ascii"),
            "Timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
            "SignatureVersion": "1",
            "Signature": "test",
            "MessageAttributes": {SIGNATURE_HEADER: {"Type": "String", "Value": self.signature}},
        }


def sign_test_payload(
    event: Any,
    secret: str | Secret,
    *,
    api_key: str = "test-api-key",
    compress: bool = False,
    webhook_id: str | None = None,
    attempt: int = 1,
) -> SignedPayload:
    """A signed webhook call of ``event`` (a generated event model, an UnknownEvent, a
    dict, or JSON text or bytes), to test a receiver without Stream or the emulator. A
    dict without ``created_at`` gets the current time (unix nanoseconds), as Stream's
    events have one. ``compress`` gzips the body as Stream does when compression is on
    (the signature still covers the JSON)."""
    if not secret:
        raise ArgumentValueError("the API secret is empty: webhooks are signed with it")
    if isinstance(event, (bytes, bytearray, str)):
        data = event.encode() if isinstance(event, str) else bytes(event)
    else:
        payload = event.to_dict() if hasattr(event, "to_dict") else dict(event)
        payload.setdefault("created_at", time.time_ns())
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    key = (secret.reveal() if isinstance(secret, Secret) else secret).encode()
    signature = hmac.new(key, data, hashlib.sha256).hexdigest()
    webhook_id = webhook_id or str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature,
        "X-Webhook-Id": webhook_id,
        "X-Webhook-Attempt": str(attempt),
        "X-Api-Key": api_key,
    }
    body = data
    if compress:
        body = _gzip.compress(data, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return SignedPayload(body=body, headers=headers, signature=signature, webhook_id=webhook_id)
