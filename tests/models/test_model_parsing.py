"""from_dict on optional fields: absent, null, present, wrong, unknown; tolerant and strict.

The generated code takes a fast path for optional fields (a key test, then the value);
these pin down what it must keep meaning.
"""

from __future__ import annotations

import pytest

from stream_moderation.models import ParseError, UserResponse
from tests.conftest import load_fixture

REQUIRED = {
    "banned": False,
    "blocked_user_ids": [],
    "created_at": 1_715_679_472_123_456_792,
    "custom": {},
    "id": "u1",
    "invisible": False,
    "language": "en",
    "online": True,
    "role": "user",
    "shadow_banned": False,
    "teams": [],
    "updated_at": "2024-05-14T09:37:52.123456792Z",
}


@pytest.mark.parametrize("strict", [False, True])
def test_absent_null_and_present_optional_fields(strict: bool) -> None:
    absent = UserResponse.from_dict(REQUIRED, strict)
    assert absent.name is None and absent.avg_response_time is None
    assert absent.deactivated_at is None and absent.devices is None
    nulls = UserResponse.from_dict(
        {**REQUIRED, "name": None, "avg_response_time": None, "deactivated_at": None}, strict
    )
    assert nulls.name is None and nulls.avg_response_time is None
    assert nulls.deactivated_at is None
    # absent and null both read None; fields_set tells them apart
    optional = {"name", "avg_response_time", "deactivated_at", "devices"}
    assert absent.fields_set & optional == set()
    assert nulls.fields_set & optional == {"name", "avg_response_time", "deactivated_at"}
    assert {"id", "created_at", "teams"} <= absent.fields_set
    present = UserResponse.from_dict(
        {**REQUIRED, "name": "Ann", "avg_response_time": 3, "deactivated_at": 1_000_000_000},
        strict,
    )
    assert present.name == "Ann" and present.avg_response_time == 3
    assert present.deactivated_at.unix_ns == 1_000_000_000
    assert present.to_dict() == {
        **REQUIRED,
        "name": "Ann",
        "avg_response_time": 3,
        "deactivated_at": 1_000_000_000,
    }
    assert absent.to_dict() == REQUIRED
    assert nulls.to_dict() == {
        **REQUIRED,
        "name": None,
        "avg_response_time": None,
        "deactivated_at": None,
    }


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("name", 7, "UserResponse.name"),
        ("avg_response_time", "3", "UserResponse.avg_response_time"),
        ("avg_response_time", True, "UserResponse.avg_response_time"),
        ("devices", {"id": "d"}, "UserResponse.devices"),
    ],
)
def test_a_wrong_optional_value_names_the_field(field: str, value: object, where: str) -> None:
    with pytest.raises(ParseError, match=where.replace(".", r"\.")):
        UserResponse.from_dict({**REQUIRED, field: value})


def test_unknown_fields_are_kept_and_the_fixtures_round_trip() -> None:
    user = UserResponse.from_dict({**REQUIRED, "brand_new": {"x": 1}})
    assert user.additional_properties == {"brand_new": {"x": 1}}
    assert user.to_dict()["brand_new"] == {"x": 1}
    from stream_moderation.models import CheckResponse, UnknownValue

    for name in ("check_response_heavy_ns.json", "check_response_lean_rfc3339.json"):
        payload = load_fixture(name)
        assert CheckResponse.from_dict(payload).to_dict() == payload
        assert CheckResponse.from_dict(payload, strict=True).to_dict() == payload
        # a value Stream's docs do not list (status "completed") parses, also strictly:
        # the spec does not enumerate it
        assert isinstance(CheckResponse.from_dict(payload, strict=True).status, UnknownValue)
