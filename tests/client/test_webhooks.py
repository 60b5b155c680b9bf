"""Webhooks: signature checks and typed event parsing."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
import time
import traceback
import typing
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_moderation import Stream, StreamError, webhooks
from stream_moderation._generated import models
from stream_moderation._types import _warned_missing
from stream_moderation.models import (
    ModerationCheckCompletedEvent,
    ParseError,
    ReviewQueueItemNewEvent,
    Timestamp,
)
from stream_moderation.webhooks import (
    EVENT_MODELS,
    InvalidEventError,
    InvalidSignatureError,
    SeenEvents,
    StaleEventError,
    UnknownEvent,
    WebhookError,
    event_key,
    parse_event,
    verify_and_parse,
    verify_signature,
)
from tests.support.webhook_payloads import BASE_NS, ENCODINGS, Encoding, build_event, encode, sign

SECRET = "sk-test-Zq8vN3xT1pLw7RbY"
EVENT_TYPES = sorted(EVENT_MODELS)
EVENT_CLASSES = {getattr(models, name) for name in EVENT_MODELS.values()}


def model_of(event_type: str) -> type[Any]:
    cls: type[Any] = getattr(models, EVENT_MODELS[event_type])
    return cls


@pytest.fixture
def body() -> bytes:
    return encode(build_event("review_queue_item.new"))


# --- signatures ---------------------------------------------------------------------------


def test_valid_signature_passes(body: bytes) -> None:
    assert verify_signature(body, sign(body, SECRET), SECRET)


def test_a_text_body_verifies_as_its_utf8_bytes() -> None:
    text = json.dumps({"type": "moderation.flagged", "note": "café ✓"}, ensure_ascii=False)
    assert verify_signature(text, sign(text.encode(), SECRET), SECRET)


@pytest.mark.parametrize(
    "variant",
    [str.upper, lambda s: f"  {s}\r\n", lambda s: s.encode()],
    ids=["uppercase", "whitespace", "bytes"],
)
def test_signature_forms_the_header_may_take(body: bytes, variant: Any) -> None:
    assert verify_signature(body, variant(sign(body, SECRET)), SECRET)


def test_every_flipped_body_byte_fails(body: bytes) -> None:
    signature = sign(body, SECRET)
    for i in range(0, len(body), max(1, len(body) // 200)):
        tampered = bytearray(body)
        tampered[i] ^= 0x01
        assert not verify_signature(bytes(tampered), signature, SECRET), i


def test_every_flipped_signature_character_fails(body: bytes) -> None:
    signature = sign(body, SECRET)
    for i, char in enumerate(signature):
        flipped = "0" if char != "0" else "1"
        tampered = signature[:i] + flipped + signature[i + 1 :]
        assert not verify_signature(body, tampered, SECRET), i
        with pytest.raises(InvalidSignatureError, match="does not match"):
            verify_and_parse(body, tampered, SECRET)


@pytest.mark.parametrize("signature", ["", "abc", "ab" * 40, "é" * 64, "x" * 64])
def test_malformed_signature_fails_without_crashing(body: bytes, signature: str) -> None:
    assert not verify_signature(body, signature, SECRET)


def test_short_signature_error_says_what_the_header_should_be(body: bytes) -> None:
    with pytest.raises(InvalidSignatureError, match="64 hex digits, got 63 characters"):
        verify_and_parse(body, sign(body, SECRET)[:-1], SECRET)


def test_wrong_secret_fails(body: bytes) -> None:
    assert not verify_signature(body, sign(body, "another-secret"), SECRET)


def test_reencoded_json_fails(body: bytes) -> None:
    """A framework that parses and re-serialises the JSON changes the signed bytes."""
    reencoded = json.dumps(json.loads(body), indent=2).encode()
    assert not verify_signature(reencoded, sign(body, SECRET), SECRET)


@pytest.mark.parametrize("signature", [None, "", "   ", b""])
def test_missing_signature_header_fails_clearly(body: bytes, signature: Any) -> None:
    assert not verify_signature(body, signature, SECRET)
    with pytest.raises(InvalidSignatureError) as info:
        verify_and_parse(body, signature, SECRET)
    assert "missing signature" in str(info.value)
    assert "X-Signature" in str(info.value)


@pytest.mark.parametrize("secret", ["", None])
def test_an_empty_secret_is_a_configuration_error(body: bytes, secret: Any) -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        verify_signature(body, sign(body, "x"), secret)


def test_gzip_body_verifies_against_the_uncompressed_json(body: bytes) -> None:
    compressed = gzip.compress(body)
    signature = sign(body, SECRET)
    assert verify_signature(compressed, signature, SECRET)
    event = verify_and_parse(compressed, signature, SECRET)
    assert isinstance(event, ReviewQueueItemNewEvent)


def test_gzip_body_signed_over_its_compressed_bytes_fails(body: bytes) -> None:
    import hashlib
    import hmac

    compressed = gzip.compress(body)
    signature = hmac.new(SECRET.encode(), compressed, hashlib.sha256).hexdigest()
    assert not verify_signature(compressed, signature, SECRET)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda gz: gz[:-10], "truncated"),
        (lambda gz: gz[:10] + b"\xff" * 20 + gz[30:], "does not decompress"),
        (lambda gz: gz + b"junk", "trailing bytes"),
    ],
    ids=["truncated", "corrupt", "trailing"],
)
def test_broken_gzip_body_fails(body: bytes, mangle: Any, reason: str) -> None:
    broken = mangle(gzip.compress(body))
    signature = sign(body, SECRET)
    assert not verify_signature(broken, signature, SECRET)
    with pytest.raises(InvalidSignatureError, match=reason):
        verify_and_parse(broken, signature, SECRET)
    with pytest.raises(InvalidEventError, match=reason):
        parse_event(broken)


def test_gzip_body_is_not_inflated_without_limit(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "_MAX_INFLATED_BYTES", len(body) - 1)
    with pytest.raises(InvalidSignatureError, match="inflates past"):
        verify_and_parse(gzip.compress(body), sign(body, SECRET), SECRET)


# --- typed events -------------------------------------------------------------------------


def test_every_spec_event_type_is_covered() -> None:
    assert len(EVENT_TYPES) >= 14
    assert "review_queue_item.new" in EVENT_MODELS
    assert "moderation_check.completed" in EVENT_MODELS


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_parses_into_its_model(event_type: str, encoding: Encoding) -> None:
    payload = build_event(event_type, encoding)
    body = encode(payload)
    event = verify_and_parse(body, sign(body, SECRET), SECRET)

    assert type(event) is model_of(event_type)
    assert event.type == event_type
    assert event.created_at == Timestamp.from_unix_ns(BASE_NS)
    assert event.created_at.nanosecond == 789
    assert event.to_dict() == payload  # every field read, timestamps exactly as sent
    model_of(event_type).from_dict(payload, strict=True)  # and the payload fits the spec


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_events_with_required_fields_only_parse(event_type: str) -> None:
    event = parse_event(build_event(event_type, "rfc3339", full=False))
    assert type(event) is model_of(event_type)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_parse_event_takes_bytes_text_gzip_or_a_mapping(event_type: str) -> None:
    payload = build_event(event_type)
    body = encode(payload)
    for form in (body, body.decode(), gzip.compress(body), payload):
        assert parse_event(form).to_dict() == payload


def test_nested_models_are_typed() -> None:
    event = parse_event(build_event("review_queue_item.new", "rfc3339"))
    assert isinstance(event, ReviewQueueItemNewEvent)
    item = event.review_queue_item
    assert isinstance(item, models.ReviewQueueItemResponse)
    assert isinstance(item.created_at, Timestamp)
    assert isinstance(event.flags, list)
    assert isinstance(event.flags[0], models.ModerationFlagResponse)


def test_shared_model_keeps_the_type_it_was_sent_with() -> None:
    for event_type in ("export.moderation_logs.error", "export.bulk_image_moderation.error"):
        event = parse_event(build_event(event_type))
        assert isinstance(event, models.AsyncExportErrorEvent)
        assert event.type == event_type


def test_new_review_queue_item_is_never_another_class() -> None:
    event = parse_event(build_event("review_queue_item.new"))
    assert type(event) is ReviewQueueItemNewEvent
    assert not isinstance(event, tuple(EVENT_CLASSES - {ReviewQueueItemNewEvent}))


NEW_ITEM_FIELDS = set(build_event("review_queue_item.new"))
# Fields of every other event, mixed into review_queue_item.new payloads.
OTHER_FIELDS = {
    key: value
    for event_type in EVENT_TYPES
    if event_type != "review_queue_item.new"
    for key, value in build_event(event_type, full=False).items()
    if key not in ("type", "created_at", "custom")
}


@given(
    full=st.booleans(),
    encoding=st.sampled_from(ENCODINGS),
    borrowed=st.lists(st.sampled_from(sorted(OTHER_FIELDS)), unique=True),
    extra=st.dictionaries(
        st.text(min_size=1).filter(lambda key: key not in NEW_ITEM_FIELDS),
        st.none() | st.booleans() | st.integers() | st.text(),
        max_size=4,
    ),
)
def test_new_review_queue_item_parses_as_itself_whatever_else_it_carries(
    full: bool, encoding: Encoding, borrowed: list[str], extra: dict[str, Any]
) -> None:
    payload = build_event("review_queue_item.new", encoding, full)
    fields = {key: OTHER_FIELDS[key] for key in borrowed} | extra
    fields = {key: value for key, value in fields.items() if key not in NEW_ITEM_FIELDS}
    event = parse_event(payload | fields)
    assert type(event) is ReviewQueueItemNewEvent
    assert event.additional_properties == fields


# --- unknown events -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        (BASE_NS, Timestamp.from_unix_ns(BASE_NS)),
        ("2024-05-14T09:37:52.123456789Z", Timestamp.from_unix_ns(BASE_NS)),
        (None, None),
        ("yesterday", None),
        ({"not": "a time"}, None),
    ],
)
def test_unknown_type_gives_unknown_event(created_at: Any, expected: Any) -> None:
    payload = {"type": "moderation.sentiment.analysed", "custom": {}, "task_id": "t-1"}
    if created_at is not None:
        payload["created_at"] = created_at
    body = encode(payload)
    event = verify_and_parse(body, sign(body, SECRET), SECRET)
    assert isinstance(event, UnknownEvent)
    assert event.type == "moderation.sentiment.analysed"
    assert event.created_at == expected
    assert event.payload == payload
    assert event.to_dict() == payload


def test_unknown_event_keeps_nanoseconds() -> None:
    event = parse_event({"type": "future.event", "created_at": BASE_NS})
    assert isinstance(event, UnknownEvent)
    assert isinstance(event.created_at, Timestamp)
    assert event.created_at.unix_ns == BASE_NS


# --- bodies that are not events -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"  \n", "the body is empty"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[1, 2]", "JSON object, got an array"),
        (b'"review_queue_item.new"', "JSON object, got str"),
        (b"{}", "no 'type'"),
        (b'{"type": ""}', "no 'type'"),
        (b'{"type": 7}', "'type' is not a string"),
    ],
)
def test_bodies_that_are_not_events_fail_clearly(body: bytes, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        parse_event(body)
    with pytest.raises(InvalidEventError, match=message):
        verify_and_parse(body, sign(body, SECRET), SECRET)


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"review_queue_item": None, "created_at": "last tuesday"}, "created_at"),
        ({"custom": "not an object"}, "custom"),
        ({"review_queue_item": ["a list"]}, "review_queue_item"),
        ({"flags": [{"type": "spam"}]}, "flags[]"),
    ],
)
def test_known_type_that_does_not_fit_names_the_field(
    change: dict[str, Any], location: str
) -> None:
    payload = build_event("review_queue_item.new") | change
    with pytest.raises(InvalidEventError) as info:
        parse_event(payload, strict_validation=True)
    error = info.value
    assert error.location is not None
    assert error.location.startswith(f"ReviewQueueItemNewEvent.{location}")
    assert error.location in str(error)
    assert "'review_queue_item.new' event does not fit ReviewQueueItemNewEvent" in str(error)
    assert isinstance(error.__cause__, ParseError)


def test_missing_required_field_reads_none_or_is_named_with_strict_validation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = build_event("moderation_check.completed")
    del payload["entity_id"]
    caplog.set_level(logging.WARNING, logger="stream_moderation")
    _warned_missing.clear()  # as in a new process: not warned about yet
    event = parse_event(payload)
    assert isinstance(event, ModerationCheckCompletedEvent) and event.entity_id is None
    assert any("ModerationCheckCompletedEvent.entity_id" in r.getMessage() for r in caplog.records)
    pattern = r"ModerationCheckCompletedEvent\.entity_id: required field is missing"
    with pytest.raises(InvalidEventError, match=pattern):
        parse_event(payload, strict_validation=True)
    body = encode(payload)
    with pytest.raises(InvalidEventError, match=pattern):
        verify_and_parse(body, sign(body, SECRET), SECRET, strict_validation=True)
    app_secret = "an-app-secret-long-enough-for-hs256-0123"  # the client signs JWTs with it
    with (
        Stream("key", app_secret, strict_response_validation=True) as strict,
        pytest.raises(InvalidEventError, match=pattern),
    ):
        strict.parse_webhook(body, sign(body, app_secret))


# --- secrets, errors, the Event type ------------------------------------------------------


def _failures(secret: str) -> list[BaseException]:
    body = encode(build_event("review_queue_item.new"))
    good = sign(body, secret)
    attempts: list[tuple[bytes, Any]] = [
        (body, None),
        (body, ""),
        (body, good[:-1]),
        (body, "0" * 64),
        (body + b" ", good),
        (gzip.compress(body)[:-5], good),
        (b"{not json", sign(b"{not json", secret)),
        (b'{"type": 1}', sign(b'{"type": 1}', secret)),
        (
            encode({"type": "review_queue_item.new", "review_queue_item": ["a list"]}),
            sign(
                encode({"type": "review_queue_item.new", "review_queue_item": ["a list"]}), secret
            ),
        ),
    ]
    errors: list[BaseException] = []
    for attempt_body, signature in attempts:
        with pytest.raises(WebhookError) as info:
            verify_and_parse(attempt_body, signature, secret)
        errors.append(info.value)
    return errors


def test_the_secret_never_appears_in_errors() -> None:
    errors = _failures(SECRET)
    assert {type(e) for e in errors} == {InvalidSignatureError, InvalidEventError}
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error) + repr(error.args)
        assert SECRET not in text
        assert SECRET.encode().hex() not in text


def test_errors_are_webhook_errors_and_stream_errors() -> None:
    assert issubclass(WebhookError, StreamError)
    assert issubclass(InvalidSignatureError, WebhookError)
    assert issubclass(InvalidEventError, WebhookError)
    assert not issubclass(InvalidSignatureError, InvalidEventError)


def test_event_alias_is_every_event_model_and_unknown_event() -> None:
    assert set(typing.get_args(webhooks.Event)) == EVENT_CLASSES | {UnknownEvent}
    assert isinstance(parse_event(build_event("appeal.created")), webhooks.Event)
    assert isinstance(parse_event({"type": "new.kind"}), webhooks.Event)


def test_importing_webhooks_does_not_import_the_event_models() -> None:
    code = (
        "import sys, stream_moderation.webhooks\n"
        "prefix = 'stream_moderation._generated.models.'\n"
        "loaded = [m for m in sys.modules if m.startswith(prefix)]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- replays: freshness from the signed created_at, and handling each signed body once -----


def _created(seconds_ago: float, encoding: Encoding) -> dict[str, Any]:
    payload = build_event("moderation_check.completed", encoding)
    created = Timestamp.from_unix_ns(time.time_ns() - int(seconds_ago * 1e9))
    payload["created_at"] = created.unix_ns if encoding == "ns" else created.to_rfc3339()
    return payload


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_max_age_accepts_a_fresh_event_and_refuses_a_stale_one(encoding: Encoding) -> None:
    fresh = encode(_created(30, encoding))
    event = verify_and_parse(fresh, sign(fresh, SECRET), SECRET, max_age=60)
    assert event.type == "moderation_check.completed"
    stale = encode(_created(600, encoding))
    with pytest.raises(StaleEventError, match="600 s ago") as caught:
        verify_and_parse(stale, sign(stale, SECRET), SECRET, max_age=timedelta(minutes=5))
    assert 599 < caught.value.age < 700
    future = encode(_created(-600, encoding))
    with pytest.raises(StaleEventError, match="in the future"):
        verify_and_parse(future, sign(future, SECRET), SECRET, max_age=60)
    # without max_age, the age is not looked at
    assert verify_and_parse(stale, sign(stale, SECRET), SECRET).type == event.type


def test_max_age_reads_the_time_from_the_signed_body_only() -> None:
    """The signature is checked first: a stale body with a bad signature is a signature
    error, and no header can make a stale body fresh."""
    stale = encode(_created(600, "ns"))
    with pytest.raises(InvalidSignatureError):
        verify_and_parse(stale, "0" * 64, SECRET, max_age=60)
    no_time = encode({k: v for k, v in _created(0, "ns").items() if k != "created_at"})
    with pytest.raises(InvalidEventError) as caught:
        verify_and_parse(no_time, sign(no_time, SECRET), SECRET, max_age=60)
    assert caught.value.location == "created_at"


def test_the_client_passes_max_age_on() -> None:
    from stream_moderation import Stream

    secret = "an-app-secret-long-enough-for-hs256-0123"  # the client signs JWTs with it too
    stale = encode(_created(600, "ns"))
    with Stream("key", secret) as client:
        with pytest.raises(StaleEventError):
            client.parse_webhook(stale, sign(stale, secret), max_age=60)
        assert client.parse_webhook(stale, sign(stale, secret)).type == "moderation_check.completed"


def test_event_key_is_the_signed_content() -> None:
    body = encode(_created(0, "ns"))
    assert event_key(body) == event_key(gzip.compress(body)) == event_key(body.decode())
    assert len(event_key(body)) == 64
    assert event_key(body) != event_key(encode(_created(1, "ns")))


def test_seen_events_claims_once_until_the_ttl_passes() -> None:
    now = [1000.0]
    seen = SeenEvents(ttl=10, clock=lambda: now[0])
    assert seen.claim("a") and not seen.claim("a")
    seen.release("a")
    assert seen.claim("a")  # a failed handling is retried
    now[0] += 5
    assert seen.claim("b") and not seen.claim("a")
    now[0] += 6  # "a" expired, "b" not yet
    assert seen.claim("a") and not seen.claim("b")
    assert len(seen) == 2
    with pytest.raises(ValueError):
        SeenEvents(ttl=0)
