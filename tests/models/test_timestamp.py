"""Timestamp: RFC 3339 strings and unix nanoseconds, exactly, both ways."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_moderation._types import (
    optional_timestamp_to_wire,
    timestamp_to_wire,
    wire_to_timestamp,
)
from stream_moderation.models import ModerationFlagResponse, ParseError, Timestamp

NS = 1_715_679_472_123_456_789  # 2024-05-14T09:37:52.123456789Z
UTC = dt.UTC
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
# year 1 to year 9999, in nanoseconds
MIN_NS = -62_135_596_800 * 10**9
MAX_NS = 253_402_300_799 * 10**9 + 999_999_999


def test_from_unix_ns_is_exact() -> None:
    ts = wire_to_timestamp(NS)
    assert type(ts) is Timestamp
    assert ts.unix_ns == NS
    assert (ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second) == (2024, 5, 14, 9, 37, 52)
    assert (ts.microsecond, ts.nanosecond) == (123_456, 789)
    assert ts.tzinfo is UTC
    assert ts.wire == NS
    assert ts.to_wire() == NS
    assert ts.to_rfc3339() == "2024-05-14T09:37:52.123456789Z"
    assert repr(ts) == "Timestamp('2024-05-14T09:37:52.123456789Z')"


def test_numeric_strings_are_nanoseconds() -> None:
    ts = wire_to_timestamp(str(NS))
    assert ts.unix_ns == NS
    assert ts.wire == str(NS)  # sent back as received
    assert wire_to_timestamp(" 1715679472123456789 ").unix_ns == NS
    assert wire_to_timestamp("-1").unix_ns == -1
    assert wire_to_timestamp("0").to_rfc3339() == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "ns", "offset_minutes"),
    [
        ("2024-05-14T09:37:52.123456789Z", NS, 0),
        ("2024-05-14T09:37:52.123456789z", NS, 0),
        ("2024-05-14t09:37:52.123456789Z", NS, 0),
        ("2024-05-14 09:37:52.123456789Z", NS, 0),
        ("2024-05-14T15:07:52.123456789+05:30", NS, 330),
        ("2024-05-14T15:07:52.123456789+0530", NS, 330),
        ("2024-05-14T01:37:52.123456789-08:00", NS, -480),
        ("2024-05-14T09:37:52.123456789+00:00", NS, 0),
        ("2024-05-14T09:37:52.123456789", NS, 0),  # no offset: read as UTC
        ("2024-05-14T09:37:52Z", NS - 123_456_789, 0),
        ("2024-05-14T09:37:52.1Z", NS - 23_456_789, 0),
        ("2024-05-14T09:37:52.123Z", NS - 456_789, 0),
        ("2024-05-14T09:37:52.123456Z", NS - 789, 0),
        ("1969-12-31T23:59:59.999999999Z", -1, 0),
        ("0001-01-01T00:00:00Z", MIN_NS, 0),
        ("9999-12-31T23:59:59.999999999Z", MAX_NS, 0),
    ],
)
def test_rfc3339_is_exact(text: str, ns: int, offset_minutes: int) -> None:
    ts = wire_to_timestamp(text)
    assert ts.unix_ns == ns
    assert ts.utcoffset() == dt.timedelta(minutes=offset_minutes)
    assert ts.wire == text
    assert ts.to_wire() == text
    again = wire_to_timestamp(ts.to_rfc3339())
    assert again.unix_ns == ns
    assert again.utcoffset() == ts.utcoffset()


def test_to_rfc3339_keeps_the_offset_and_only_significant_digits() -> None:
    ts = wire_to_timestamp("2024-05-14T15:07:52.120000000+05:30")
    assert ts.to_rfc3339() == "2024-05-14T15:07:52.12+05:30"
    assert wire_to_timestamp("2024-05-14T01:37:52-08:00").to_rfc3339() == (
        "2024-05-14T01:37:52-08:00"
    )
    assert wire_to_timestamp(MIN_NS).to_rfc3339() == "0001-01-01T00:00:00Z"
    assert wire_to_timestamp(-1).to_rfc3339() == "1969-12-31T23:59:59.999999999Z"


@given(st.integers(min_value=MIN_NS, max_value=MAX_NS))
def test_nanoseconds_round_trip_through_both_encodings(ns: int) -> None:
    ts = Timestamp.from_unix_ns(ns)
    assert ts.unix_ns == ns
    text = ts.to_rfc3339()
    assert Timestamp.from_rfc3339(text).unix_ns == ns
    assert wire_to_timestamp(str(ns)).unix_ns == ns
    inside = MIN_NS + 10**14 < ns < MAX_NS - 10**14  # a day from the ends: room for +05:30
    shifted = wire_to_timestamp(text).astimezone(IST) if inside else ts
    assert shifted.unix_ns == ns
    assert wire_to_timestamp(shifted.to_rfc3339()).unix_ns == ns


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "not an RFC 3339 timestamp: 'yesterday'"),
        ("2024-13-01T00:00:00Z", "month must be in 1..12"),
        ("2024-05-14T09:37:52.1234567891Z", "not an RFC 3339 timestamp"),
        ("2024-05-14T25:00:00Z", "hour must be in 0..23"),
        ("", "not an RFC 3339 timestamp: ''"),
        ("x" * 200, "not an RFC 3339 timestamp: 'xxxxxxxx"),
    ],
)
def test_bad_strings_are_value_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        wire_to_timestamp(value)
    assert len(str(info.value)) < 120  # long input is cut


@pytest.mark.parametrize("value", [None, True, [1], {"at": 1}, b"123"])
def test_other_types_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError, match="expected a timestamp"):
        wire_to_timestamp(value)


def test_integral_floats_are_nanoseconds() -> None:
    assert wire_to_timestamp(1.0e18).unix_ns == 10**18
    assert timestamp_to_wire(1.0e18) == 10**18


def test_fractional_numbers_round_to_whole_nanoseconds() -> None:
    # the spec types these fields `number`: a fraction is spec-valid (issue 14)
    ts = wire_to_timestamp(-87868845.8007584)
    assert ts.unix_ns == -87868846 and ts.wire == -87868845.8007584
    # half to even
    assert wire_to_timestamp(1.5).unix_ns == 2 and wire_to_timestamp(2.5).unix_ns == 2
    assert ts.to_wire() == -87868845.8007584  # given back as received
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="expected a timestamp"):
            wire_to_timestamp(bad)


def test_fractional_numbers_are_refused_on_the_way_out() -> None:
    # sending one is most likely seconds (time.time()) where nanoseconds belong
    with pytest.raises(ValueError, match="likely seconds"):
        timestamp_to_wire(1_715_679_472.5)


def test_huge_values_are_errors_not_crashes() -> None:
    with pytest.raises(OverflowError):
        wire_to_timestamp(10**30)


# --- the way out -------------------------------------------------------------------------


def test_aware_datetimes_are_sent_as_rfc3339() -> None:
    assert timestamp_to_wire(dt.datetime(2024, 5, 14, 9, 37, 52, 123456, UTC)) == (
        "2024-05-14T09:37:52.123456Z"
    )
    paris = dt.datetime(2024, 1, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))
    assert timestamp_to_wire(paris) == "2024-01-01T12:00:00+01:00"
    assert timestamp_to_wire(NS) == NS  # wire values are kept as they are
    assert timestamp_to_wire("2024-05-14T09:37:52Z") == "2024-05-14T09:37:52Z"
    assert timestamp_to_wire(wire_to_timestamp(NS)) == NS
    assert optional_timestamp_to_wire(None) is None


def test_naive_datetimes_are_refused_on_the_way_out() -> None:
    naive = dt.datetime(2024, 5, 14, 9, 37, 52)
    with pytest.raises(ValueError, match="timestamps must be timezone-aware; got naive datetime"):
        timestamp_to_wire(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        Timestamp.from_datetime(naive)
    flag = ModerationFlagResponse.from_dict(
        {
            "created_at": NS,
            "updated_at": NS,
            "entity_id": "e",
            "entity_type": "t",
            "result": [],
            "type": "t",
            "user_id": "u",
        }
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        flag.created_at = naive
    with pytest.raises(ValueError, match="timezone-aware"):
        ModerationFlagResponse(
            created_at=naive,
            updated_at=NS,
            entity_id="e",
            entity_type="t",
            result=[],
            type="t",
            user_id="u",
        )


def test_model_timestamp_fields_accept_datetimes_and_wire_values() -> None:
    at = dt.datetime(2024, 5, 14, 9, 37, 52, tzinfo=UTC)
    flag = ModerationFlagResponse(
        created_at=at,
        updated_at=str(NS),
        entity_id="e",
        entity_type="t",
        result=[],
        type="t",
        user_id="u",
    )
    assert flag.created_at == at
    assert flag.updated_at.unix_ns == NS
    assert flag.to_dict()["created_at"] == "2024-05-14T09:37:52Z"
    assert flag.to_dict()["updated_at"] == str(NS)
    flag.created_at = NS
    assert flag.to_dict()["created_at"] == NS


# --- behaving like a datetime, nanoseconds included --------------------------------------------


def test_comparisons_see_nanoseconds() -> None:
    a, b = wire_to_timestamp(NS), wire_to_timestamp(NS + 1)
    assert a != b
    assert (a == b) is False
    assert a < b and a <= b and b > a and b >= a
    assert not (b < a) and not (a > b)
    assert sorted([b, a]) == [a, b]
    assert max(a, b).unix_ns == NS + 1
    assert a == wire_to_timestamp("2024-05-14T15:07:52.123456789+05:30")  # same instant
    plain = dt.datetime(2024, 5, 14, 9, 37, 52, 123456, UTC)
    assert wire_to_timestamp(NS - 789) == plain == wire_to_timestamp(NS - 789)
    assert hash(wire_to_timestamp(NS - 789)) == hash(plain)
    assert a != plain and a > plain and plain < a and plain <= a
    assert len({wire_to_timestamp(NS), wire_to_timestamp(str(NS))}) == 1
    with pytest.raises(TypeError):
        _ = a < dt.datetime(2024, 1, 1)  # naive and aware do not compare
    assert a != "2024-05-14T09:37:52.123456789Z"


def test_datetime_arithmetic() -> None:
    ts = wire_to_timestamp(NS)
    later = ts + dt.timedelta(days=1)
    assert later.unix_ns == NS - 789 + 86_400 * 10**9  # datetime arithmetic: microseconds
    assert later.wire is None
    assert ts - dt.datetime(2024, 5, 14, tzinfo=UTC) == dt.timedelta(
        hours=9, minutes=37, seconds=52, microseconds=123456
    )
    local = ts.astimezone(IST)
    assert local.unix_ns == NS
    assert local.to_rfc3339() == "2024-05-14T15:07:52.123456789+05:30"
    assert ts.isoformat() == "2024-05-14T09:37:52.123456+00:00"


@pytest.mark.parametrize(
    "ts",
    [
        wire_to_timestamp(NS),
        wire_to_timestamp(str(NS)),
        wire_to_timestamp("2024-05-14T15:07:52.123456789+05:30"),
        Timestamp.from_datetime(dt.datetime(2024, 1, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))),
    ],
    ids=["ns", "numeric", "rfc3339", "zoneinfo"],
)
def test_pickle_and_copy_keep_everything(ts: Timestamp) -> None:
    for clone in (
        pickle.loads(pickle.dumps(ts)),
        pickle.loads(pickle.dumps(ts, protocol=2)),
        copy.copy(ts),
        copy.deepcopy(ts),
    ):
        assert type(clone) is Timestamp
        assert clone == ts
        assert clone.unix_ns == ts.unix_ns
        assert clone.nanosecond == ts.nanosecond
        assert clone.wire == ts.wire
        assert clone.tzinfo == ts.tzinfo
        assert clone.to_rfc3339() == ts.to_rfc3339()


def test_reading_a_bad_stored_value_names_the_field() -> None:
    flag = ModerationFlagResponse.from_dict(
        {
            "created_at": "soon",
            "updated_at": NS,
            "entity_id": "e",
            "entity_type": "t",
            "result": [],
            "type": "t",
            "user_id": "u",
        }
    )
    with pytest.raises(ParseError, match=r"^ModerationFlagResponse\.created_at: not an RFC 3339"):
        _ = flag.created_at
    assert flag.updated_at.unix_ns == NS
