"""Nothing bad is ever stored in the served emulator.

Text no API stores (a lone surrogate, which has no UTF-8 form, or a NUL character) is
refused at the edge with 400 code 4 naming the field, anywhere in any request; so are
strings past the lengths the spec declares. A refused request changes nothing, for every
operation that writes, and every query answers after it. The operations come from the
spec the SDK was generated from (``tests.support.emulator_support``), so new ones are covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stream_moderation.testing import Emulator
from stream_moderation.testing._spec import operations
from tests.support.emulator_support import (
    KEY,
    SCHEMAS,
    SECRET,
    error_of,
    headers,
    minimal_instance,
    minimal_request,
    query_operations,
    raw_json,
    state_snapshot,
    write_operations,
)

SURROGATE = "x\udfff"
NUL = "x\x00y"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Emulator, httpx.Client]]:
    emulator = Emulator(KEY, SECRET)
    with (
        emulator.serve() as url,
        httpx.Client(base_url=url, params={"api_key": KEY}, headers=headers()) as http,
    ):
        populate(http)
        yield emulator, http


def populate(http: httpx.Client) -> None:
    """A config, a flagged message, a user's flag and an appeal: records for handlers to
    find before they refuse."""
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "/api/v2/moderation/config",
            {"key": "policy", "ai_text_config": {"rules": [{"label": "SPAM", "action": "flag"}]}},
        ),
        (
            "/api/v2/moderation/check",
            {
                "entity_type": "stream:chat:v1:message",
                "entity_id": "m1",
                "entity_creator_id": "u1",
                "moderation_payload": {"texts": ["buy now"]},
                "config_key": "policy",
            },
        ),
        (
            "/api/v2/moderation/flag",
            {"entity_type": "stream:chat:v1:message", "entity_id": "m2", "user_id": "u2"},
        ),
        (
            "/api/v2/moderation/appeal",
            {
                "entity_type": "stream:chat:v1:message",
                "entity_id": "m1",
                "appeal_reason": "not spam",
                "user_id": "u1",
            },
        ),
    ]
    for path, body in calls:
        response = http.post(path, json=body)
        assert response.status_code == 201, response.text


def send(
    http: httpx.Client,
    name: str,
    body: Any = None,
    path: str | None = None,
    query: dict[str, str] | None = None,
) -> httpx.Response:
    op = operations()[name]
    default_path, default_query, _ = minimal_request(name)
    return http.request(
        op.method,
        path or default_path,
        params={"api_key": KEY, **(default_query if query is None else query)},
        content=raw_json(body) if body is not None else None,
        headers={"Content-Type": "application/json"} if body is not None else None,
    )


def assert_every_query_answers(http: httpx.Client) -> None:
    for name in query_operations():
        op = operations()[name]
        response = send(http, name, {} if op.request_schema else None)
        assert response.status_code == op.success_status, (name, response.text[:300])


def test_a_lone_surrogate_in_a_flag_reason_is_refused_and_every_query_answers(
    served: tuple[Emulator, httpx.Client],
) -> None:
    """Stored with 201, it made every unfiltered query_review_queue and
    query_moderation_flags answer 500 from then on (the answer could not be encoded)."""
    emulator, http = served
    before = state_snapshot(emulator)
    flag = {"entity_type": "stream:chat:v1:message", "entity_id": "m9", "user_id": "u2"}
    response = send(http, "flag", {**flag, "reason": SURROGATE})
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == 4
    assert list(error["exception_fields"]) == ["reason"]
    assert "lone surrogate" in error["exception_fields"]["reason"]
    assert state_snapshot(emulator) == before
    assert_every_query_answers(http)


def test_raw_utf8_surrogates_and_a_nul_in_a_nested_text_are_refused(
    served: tuple[Emulator, httpx.Client],
) -> None:
    emulator, http = served
    before = state_snapshot(emulator)
    # json.loads reads the UTF-8 form of a surrogate (ED BF BF) without complaint, too
    body = b'{"entity_type":"t","entity_id":"m9","user_id":"u2","reason":"x\xed\xbf\xbf"}'
    response = http.post(
        "/api/v2/moderation/flag", content=body, headers={"Content-Type": "application/json"}
    )
    assert error_of(response)["exception_fields"].keys() == {"reason"}
    check = {
        "entity_type": "stream:chat:v1:message",
        "entity_id": "m9",
        "entity_creator_id": "u1",
        "moderation_payload": {"texts": ["fine", NUL]},
        "config_key": "policy",
    }
    response = send(http, "check", check)
    assert response.status_code == 400
    assert error_of(response)["exception_fields"].keys() == {"moderation_payload.texts[]"}
    assert state_snapshot(emulator) == before
    assert_every_query_answers(http)


def _string_fields(name: str) -> list[str]:
    schema = SCHEMAS[operations()[name].request_schema or ""]
    return sorted(
        field
        for field, sub in schema.get("properties", {}).items()
        if sub.get("type") == "string" and "enum" not in sub and "format" not in sub
    )


CASES = [
    (name, field, kind)
    for name in write_operations()
    if operations()[name].request_schema
    for field in [*_string_fields(name), "<key>"]
    for kind in ("surrogate", "nul")
]


@pytest.mark.parametrize(("name", "field", "kind"), CASES)
def test_text_no_api_stores_is_refused_naming_the_field(
    served: tuple[Emulator, httpx.Client], name: str, field: str, kind: str
) -> None:
    """In every string field of every body (and in a key, named as ``body``)."""
    emulator, http = served
    _, _, body = minimal_request(name)
    bad = SURROGATE if kind == "surrogate" else NUL
    body = {**body, bad: "x"} if field == "<key>" else {**body, field: bad}
    before = state_snapshot(emulator)
    response = send(http, name, body)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == 4
    assert list(error["exception_fields"]) == ["body" if field == "<key>" else field]
    assert state_snapshot(emulator) == before


def test_nul_in_a_path_or_query_parameter_is_refused(
    served: tuple[Emulator, httpx.Client],
) -> None:
    emulator, http = served
    before = state_snapshot(emulator)
    response = send(http, "delete_config", path="/api/v2/moderation/config/x%00y")
    assert (response.status_code, error_of(response)["exception_fields"]) == (
        400,
        {"key": "holds a NUL"},
    )
    response = send(http, "unban", {}, query={"target_user_id": "u\x00"})
    assert response.status_code == 400
    assert state_snapshot(emulator) == before


def _max_length_fields() -> list[tuple[str, str, int]]:
    """(operation, field path, maxLength) for every declared maxLength in a request body,
    at the top level or in the objects of a top-level array."""
    found = []
    for name in write_operations():
        schema_name = operations()[name].request_schema
        if schema_name is None:
            continue
        for field, sub in SCHEMAS[schema_name].get("properties", {}).items():
            if "maxLength" in sub:
                found.append((name, field, sub["maxLength"]))
            ref = sub.get("items", {}).get("$ref", "")
            for inner, inner_sub in (
                SCHEMAS.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}).items()
            ):
                if "maxLength" in inner_sub:
                    found.append((name, f"{field}[].{inner}", inner_sub["maxLength"]))
    return found


@pytest.mark.parametrize(("name", "field", "limit"), _max_length_fields())
def test_strings_past_the_declared_length_are_refused(
    served: tuple[Emulator, httpx.Client], name: str, field: str, limit: int
) -> None:
    emulator, http = served
    _, _, body = minimal_request(name)
    long = "x" * (limit + 1)
    if "[]." in field:
        outer, inner = field.split("[].")
        items_ref = SCHEMAS[operations()[name].request_schema or ""]["properties"][outer]
        body = {**body, outer: [{**minimal_instance(items_ref["items"]), inner: long}]}
    else:
        body = {**body, field: long}
    before = state_snapshot(emulator)
    response = send(http, name, body)
    assert response.status_code == 400, response.text
    assert list(error_of(response)["exception_fields"]) == [field]
    assert state_snapshot(emulator) == before


@pytest.mark.parametrize("name", write_operations())
def test_a_request_either_succeeds_or_changes_nothing(
    served: tuple[Emulator, httpx.Client], name: str
) -> None:
    """The smallest valid request of every operation that writes, against a populated
    emulator: the handlers refuse most of them (unknown ids, missing users...), and a
    refusal leaves the state as it was; either way every query answers after it."""
    emulator, http = served
    path, query, body = minimal_request(name)
    before = state_snapshot(emulator)
    response = send(http, name, body, path=path, query=query)
    op = operations()[name]
    assert response.status_code in (op.success_status, 400, 403, 404), response.text
    if response.status_code != op.success_status:
        assert error_of(response)["code"] in (4, 16, 17)
        assert state_snapshot(emulator) == before, response.text
    assert_every_query_answers(http)
