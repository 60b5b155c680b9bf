"""Events delivered through SQS and SNS, signed test payloads, and the nesting limit."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from stream_moderation import webhooks
from stream_moderation.models import ModerationCheckCompletedEvent, ReviewQueueItemNewEvent
from stream_moderation.webhooks import (
    MAX_DEPTH,
    InvalidEventError,
    InvalidSignatureError,
    StaleEventError,
    UnknownEvent,
    parse_event,
    parse_sns,
    parse_sqs,
    sign_test_payload,
    verify_and_parse,
    verify_and_parse_sns,
    verify_and_parse_sqs,
    verify_signature,
)
from tests.support.webhook_payloads import build_event, encode

SECRET = "sk-queue-test-Zq8vN3xT1pLw7RbY-0123456789"
OTHER = "sk-another-secret-0123456789-abcdefghij"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def event_json() -> bytes:
    return encode(build_event("review_queue_item.new"))


def lambda_sqs_record(body: str, signature: str | None = None) -> dict[str, Any]:
    attributes = {}
    if signature is not None:
        attributes["x-signature"] = {"stringValue": signature, "dataType": "String"}
    return {"messageId": "m-1", "body": body, "messageAttributes": attributes}


def sns_envelope(message: str, signature: str | None = None) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": "n-1",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:stream",
        "Message": message,
        "Timestamp": "2026-01-01T00:00:00.000Z",
    }
    if signature is not None:
        envelope["MessageAttributes"] = {"X-Signature": {"Type": "String", "Value": signature}}
    return envelope


# --- SQS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["json", "gzip"])
def test_an_sqs_body_is_base64_of_the_json_or_of_its_gzip(compressed: bool) -> None:
    data = event_json()
    body = b64(gzip.compress(data) if compressed else data)
    event = parse_sqs(body)
    assert isinstance(event, ReviewQueueItemNewEvent)
    assert event.to_dict() == parse_event(data).to_dict()
    # the same in every shape the message comes in
    assert parse_sqs(body.encode()).to_dict() == event.to_dict()
    assert parse_sqs({"Body": body}).to_dict() == event.to_dict()
    assert parse_sqs(lambda_sqs_record(body)).to_dict() == event.to_dict()


def test_an_sqs_body_of_plain_json_parses_too() -> None:
    event = parse_sqs(event_json().decode())
    assert isinstance(event, ReviewQueueItemNewEvent)


def test_an_sqs_message_signed_in_its_attributes_verifies() -> None:
    signed = sign_test_payload(build_event("moderation_check.completed"), SECRET, compress=True)
    message = signed.sqs_message()
    event = verify_and_parse_sqs(message, SECRET)
    assert isinstance(event, ModerationCheckCompletedEvent)
    record = lambda_sqs_record(message["Body"], signed.signature.upper())
    assert isinstance(verify_and_parse_sqs(record, SECRET), ModerationCheckCompletedEvent)
    assert isinstance(
        verify_and_parse_sqs(message["Body"], SECRET, signature=signed.signature),
        ModerationCheckCompletedEvent,
    )


def test_an_sqs_message_with_a_wrong_or_no_signature_is_refused() -> None:
    signed = sign_test_payload(build_event("review_queue_item.new"), SECRET)
    with pytest.raises(InvalidSignatureError):
        verify_and_parse_sqs(signed.sqs_message(), OTHER)
    with pytest.raises(InvalidSignatureError, match="not HMAC-signed"):
        verify_and_parse_sqs({"Body": signed.sqs_message()["Body"]}, SECRET)
    tampered = signed.sqs_message()
    tampered["Body"] = b64(signed.body.replace(b"review_queue_item", b"review_queue_itex"))
    with pytest.raises(InvalidSignatureError):
        verify_and_parse_sqs(tampered, SECRET)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("not base64 at all!", "neither JSON nor base64"),
        (b64(b"\x1f\x8b\x08broken"), "does not decompress"),
        (b64(b"[1, 2]"), "JSON object"),
        (b64(b"{not json"), "not JSON"),
        ("", "empty"),
    ],
)
def test_a_bad_sqs_body_is_an_invalid_event(body: str, reason: str) -> None:
    with pytest.raises(InvalidEventError, match=reason):
        parse_sqs(body)


def test_an_sqs_message_without_a_body_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEventError, match="Body"):
        parse_sqs({"MessageId": "m-1"})


def test_an_sns_notification_delivered_to_sqs_is_unwrapped() -> None:
    signed = sign_test_payload(build_event("review_queue_item.new"), SECRET)
    body = json.dumps(signed.sns_notification())
    assert isinstance(parse_sqs(body), ReviewQueueItemNewEvent)
    # the signature travels in the notification's attributes
    assert isinstance(verify_and_parse_sqs(body, SECRET), ReviewQueueItemNewEvent)
    with pytest.raises(InvalidSignatureError):
        verify_and_parse_sqs(body, OTHER)


# --- SNS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["json", "gzip"])
def test_an_sns_notification_carries_the_event_in_message(compressed: bool) -> None:
    data = event_json()
    message = b64(gzip.compress(data) if compressed else data)
    expected = parse_event(data).to_dict()
    envelope = sns_envelope(message)
    for given in (envelope, json.dumps(envelope), json.dumps(envelope).encode(), message):
        event = parse_sns(given)
        assert isinstance(event, ReviewQueueItemNewEvent)
        assert event.to_dict() == expected
    assert parse_sns({"EventSource": "aws:sns", "Sns": envelope}).to_dict() == expected


def test_an_sns_notification_signed_in_its_attributes_verifies() -> None:
    signed = sign_test_payload(build_event("review_queue_item.new"), SECRET, compress=True)
    notification = signed.sns_notification()
    assert isinstance(verify_and_parse_sns(notification, SECRET), ReviewQueueItemNewEvent)
    assert isinstance(
        verify_and_parse_sns(json.dumps(notification), SECRET), ReviewQueueItemNewEvent
    )
    with pytest.raises(InvalidSignatureError):
        verify_and_parse_sns(notification, OTHER)
    del notification["MessageAttributes"]
    with pytest.raises(InvalidSignatureError, match="no X-Signature"):
        verify_and_parse_sns(notification, SECRET)
    event = verify_and_parse_sns(notification, SECRET, signature=signed.signature)
    assert isinstance(event, ReviewQueueItemNewEvent)


def test_a_subscription_confirmation_is_not_an_event() -> None:
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "Message": "You have chosen to subscribe to the topic ...",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:stream",
    }
    with pytest.raises(InvalidEventError, match="SubscribeURL"):
        parse_sns(confirmation)


def test_a_queue_event_of_an_unknown_type_is_kept() -> None:
    message = b64(b'{"type":"moderation.something_new","created_at":1,"x":[1]}')
    event = parse_sns(sns_envelope(message))
    assert isinstance(event, UnknownEvent) and event.payload["x"] == [1]


# --- sign_test_payload ------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_a_signed_test_payload_is_what_stream_sends(compress: bool) -> None:
    payload = build_event("review_queue_item.new")
    signed = sign_test_payload(payload, SECRET, api_key="key-1", compress=compress)
    assert signed.headers["X-Signature"] == signed.signature
    assert signed.headers["X-Api-Key"] == "key-1"
    assert signed.headers["X-Webhook-Attempt"] == "1"
    assert signed.headers["X-Webhook-Id"] == signed.webhook_id
    assert (signed.headers.get("Content-Encoding") == "gzip") is compress
    assert verify_signature(signed.body, signed.headers["X-Signature"], SECRET)
    assert not verify_signature(signed.body, signed.signature, OTHER)
    event = verify_and_parse(signed.body, signed.headers["X-Signature"], SECRET)
    assert event.to_dict() == parse_event(encode(payload)).to_dict()


def test_a_signed_test_payload_of_a_model_or_of_bytes() -> None:
    model = parse_event(event_json())
    signed = sign_test_payload(model, SECRET)
    assert verify_and_parse(signed.body, signed.signature, SECRET).to_dict() == model.to_dict()
    raw = b'{"type":"moderation.flagged"}'
    assert sign_test_payload(raw, SECRET).body == raw


def test_a_signed_test_payload_gets_a_created_at_now_so_max_age_accepts_it() -> None:
    signed = sign_test_payload({"type": "moderation.flagged", "custom": {}}, SECRET)
    verify_and_parse(signed.body, signed.signature, SECRET, max_age=60)
    old = sign_test_payload({"type": "moderation.flagged", "created_at": 10**18}, SECRET)
    with pytest.raises(StaleEventError):
        verify_and_parse(old.body, old.signature, SECRET, max_age=60)


def test_a_signed_test_payload_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_test_payload({"type": "x"}, "")


def test_the_secret_is_in_no_part_of_a_signed_payload() -> None:
    signed = sign_test_payload(build_event("review_queue_item.new"), SECRET)
    assert SECRET not in repr(signed) + json.dumps(signed.sqs_message())
    assert SECRET not in json.dumps(signed.sns_notification())


# --- nesting ------------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"type":"x","a":' + b'{"a":' * (depth - 1) + b"1" + b"}" * (depth - 1) + b"}"


def test_a_body_nested_past_the_limit_is_refused_on_every_python() -> None:
    """json.loads of 3.12+ reads far deeper than 3.11's before a RecursionError: the limit
    is the SDK's, the same everywhere."""
    assert isinstance(parse_event(nested(MAX_DEPTH)), UnknownEvent)
    for depth in (MAX_DEPTH + 1, 2_000, 20_000):
        body = nested(depth)
        with pytest.raises(InvalidEventError, match="nested too deeply"):
            parse_event(body)
        with pytest.raises(InvalidEventError, match="nested too deeply"):
            parse_sqs(b64(body))
        signed = sign_test_payload(body, SECRET)
        with pytest.raises(webhooks.WebhookError, match="nested too deeply"):
            verify_and_parse(signed.body, signed.signature, SECRET)
