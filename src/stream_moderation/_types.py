"""The runtime the generated models and endpoint modules are built on (handwritten).

What every generated module relies on: the UNSET marker for fields that were not sent,
the Timestamp type (RFC 3339 strings and unix nanoseconds, exactly), open enums that keep
values the spec does not list yet, the checks ``from_dict`` and the request builders run,
lazy references between models, the operation descriptor, and the response envelope the
SDK returns. The generated code imports it (``stream_moderation._types``); it imports
nothing of the SDK but ``_errors``, so it never reaches back into the client layer.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import logging
import re
import sys
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar

from attrs import define, field

from ._errors import ArgumentTypeError, ArgumentValueError, ParseError, UnknownFieldError

__all__ = [
    "UNSET",
    "Operation",
    "RateLimitInfo",
    "StreamResponse",
    "Timestamp",
    "UnknownValue",
    "Unset",
]

T = TypeVar("T")
_log = logging.getLogger("stream_moderation")


class Unset:
    """The type of UNSET: a field that is absent from the JSON (as opposed to null)."""

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Unset = Unset()

# ---------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------

_UTC = _dt.UTC
_NS_PER_US = 1_000
_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:?\d\d)?"
)


class Timestamp(_dt.datetime):
    """A timezone-aware datetime that keeps what the wire said.

    Stream sends timestamps as RFC 3339 strings or as integers of unix nanoseconds. Both
    parse exactly, with integer arithmetic: ``nanosecond`` holds the part below the
    microsecond that ``datetime`` cannot, and ``wire`` the value as it was received, so
    that serialising a parsed model gives back the same JSON.
    """

    __slots__ = ("_ns", "_wire")
    _ns: int
    _wire: int | float | str | None

    @property
    def nanosecond(self) -> int:
        """Nanoseconds below the microsecond (0-999); 0 after datetime arithmetic."""
        return getattr(self, "_ns", 0)

    @property
    def wire(self) -> int | float | str | None:
        """The value as received; None for a timestamp made here (or by arithmetic)."""
        return getattr(self, "_wire", None)

    @classmethod
    def from_unix_ns(cls, ns: int) -> Timestamp:
        micros, rest = divmod(ns, _NS_PER_US)
        ts: Timestamp = _EPOCH + _dt.timedelta(microseconds=micros)
        ts._ns = rest
        ts._wire = ns
        return ts

    @classmethod
    def from_rfc3339(cls, text: str) -> Timestamp:
        match = _RFC3339.fullmatch(text)
        if match is None:
            raise ValueError(f"not an RFC 3339 timestamp: {_excerpt(text)}")
        date, time, fraction, offset = match.groups()
        fraction = (fraction or "").ljust(9, "0")
        base = _dt.datetime.fromisoformat(f"{date}T{time}")
        if offset is None or offset in "Zz":
            tz = _UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = _dt.timezone(sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        ts = cls(
            base.year,
            base.month,
            base.day,
            base.hour,
            base.minute,
            base.second,
            int(fraction[:6]),
            tzinfo=tz,
        )
        ts._ns = int(fraction[6:])
        ts._wire = text
        return ts

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> Timestamp:
        if isinstance(value, Timestamp):
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"timestamps must be timezone-aware; got naive datetime {value.isoformat()} "
                "(use datetime.now(timezone.utc) or .replace(tzinfo=...))"
            )
        ts = cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo,
            fold=value.fold,
        )
        return ts

    @property
    def unix_ns(self) -> int:
        """Nanoseconds since the unix epoch, exact."""
        delta = self - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros * _NS_PER_US + self.nanosecond

    def to_rfc3339(self) -> str:
        """RFC 3339 text with every significant fractional digit (up to nanoseconds)."""
        base = (
            f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
            f"T{self.hour:02d}:{self.minute:02d}:{self.second:02d}"
        )
        fraction = f"{self.microsecond:06d}{self.nanosecond:03d}".rstrip("0")
        offset = self.utcoffset()
        if not offset:
            zone = "Z"
        else:
            minutes = int(offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return f"{base}.{fraction}{zone}" if fraction else f"{base}{zone}"

    def to_wire(self) -> int | float | str:
        """What to send: the received value when there is one, RFC 3339 text otherwise."""
        return self.wire if self.wire is not None else self.to_rfc3339()

    def astimezone(self, tz: _dt.tzinfo | None = None) -> Timestamp:
        """The same instant in another timezone, nanoseconds included."""
        ts: Timestamp = super().astimezone(tz)
        ts._ns = self.nanosecond
        return ts

    # Comparisons include the nanoseconds datetime does not hold; the hash stays datetime's
    # (timestamps that differ only below the microsecond are unequal but may share a hash).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return _dt.datetime.__eq__(self, other) is True and self.nanosecond == _nanos(other)

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return not self.__eq__(other)

    def __lt__(self, other: _dt.datetime) -> bool:  # type: ignore[override]
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return _dt.datetime.__lt__(self, other) or (
            _dt.datetime.__eq__(self, other) is True and self.nanosecond < _nanos(other)
        )

    def __le__(self, other: _dt.datetime) -> bool:  # type: ignore[override]
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return self.__lt__(other) or self.__eq__(other)

    def __gt__(self, other: _dt.datetime) -> bool:  # type: ignore[override]
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return not self.__le__(other)

    def __ge__(self, other: _dt.datetime) -> bool:  # type: ignore[override]
        if not isinstance(other, _dt.datetime):
            return NotImplemented
        return not self.__lt__(other)

    __hash__ = _dt.datetime.__hash__

    # datetime pickles (and copies) through __reduce_ex__, which would drop the nanoseconds
    # and the wire value; a Timestamp is rebuilt from its fields, timezone object included.
    def __reduce_ex__(self, protocol: Any) -> Any:
        fields = (
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.microsecond,
            self.tzinfo,
            self.fold,
        )
        return (_restore_timestamp, (fields, self.nanosecond, self.wire))

    def __reduce__(self) -> Any:
        return self.__reduce_ex__(2)

    def __repr__(self) -> str:
        return f"Timestamp({self.to_rfc3339()!r})"


def _nanos(value: _dt.datetime) -> int:
    return value.nanosecond if isinstance(value, Timestamp) else 0


def _restore_timestamp(
    fields: tuple[int, int, int, int, int, int, int, _dt.tzinfo | None, int],
    ns: int,
    wire: int | float | str | None,
) -> Timestamp:
    year, month, day, hour, minute, second, microsecond, tzinfo, fold = fields
    ts = Timestamp(year, month, day, hour, minute, second, microsecond, tzinfo=tzinfo, fold=fold)
    ts._ns = ns
    if wire is not None:
        ts._wire = wire
    return ts


_EPOCH = Timestamp(1970, 1, 1, tzinfo=_UTC)


def _float_ns(value: float) -> int:
    """Unix nanoseconds from a JSON number with a fraction: rounded to the nearest whole
    nanosecond (half to even). The spec types these fields ``number``; a float holds only
    about 16 significant digits, so today's instants are exact to a few hundred ns."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a timestamp, got number {value!r}")
    return round(value)


def wire_to_timestamp(value: Any) -> Timestamp:
    """Parse a wire timestamp: unix nanoseconds (an integer, a number with a fraction, or
    digits in a string) or RFC 3339."""
    if value.__class__ is int:
        return Timestamp.from_unix_ns(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            ts = Timestamp.from_unix_ns(int(text))
            ts._wire = value
            return ts
        return Timestamp.from_rfc3339(text)
    if isinstance(value, _dt.datetime):
        return Timestamp.from_datetime(value)
    if isinstance(value, float):
        ts = Timestamp.from_unix_ns(_float_ns(value))
        ts._wire = value
        return ts
    raise TypeError(
        f"expected a timestamp (RFC 3339 string or unix nanoseconds), got {_describe(value)}"
    )


def received_timestamp_wire(value: Any) -> int | float | str:
    """What from_dict keeps of a timestamp it received: the value itself (parsed when the
    field is read), or the wire form of a datetime given in a mapping."""
    if value.__class__ is int or value.__class__ is str or value.__class__ is float:
        return value
    return timestamp_to_wire(value)


def timestamp_to_wire(value: Any) -> int | float | str:
    """The wire form of a timestamp given as a datetime, or as a wire value (kept as is).
    A number with a fraction is refused here (a constructor or a request argument), where
    it is most likely seconds: send a datetime or whole nanoseconds."""
    if value.__class__ is int or value.__class__ is str:
        return value
    if isinstance(value, _dt.datetime):
        try:
            return Timestamp.from_datetime(value).to_wire()
        except ValueError as exc:
            raise ArgumentValueError(str(exc)) from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        raise ArgumentValueError(
            f"expected a timestamp (datetime, RFC 3339 string or unix nanoseconds as an "
            f"integer), got number {value!r}: a fraction is likely seconds, not nanoseconds"
        )
    raise ArgumentTypeError(
        "expected a timestamp (datetime, RFC 3339 string or unix nanoseconds), "
        f"got {_describe(value)}"
    )


def optional_timestamp_to_wire(value: Any) -> int | float | str | None:
    if value is None:
        return None
    return timestamp_to_wire(value)


def checked_timestamp_wire(value: Any) -> int | float | str:
    """Strict parsing: the value must be a valid timestamp; returns its wire form."""
    return wire_to_timestamp(value).to_wire()


def read_timestamp(value: Any, where: str) -> Timestamp:
    """The Timestamp of a stored wire value; a value that does not parse is a ParseError.

    A required timestamp that the response lacked (read leniently: see missing_fields) is
    None, as its other fields are."""
    if value is None:
        return None  # type: ignore[return-value]  # the lenient exception to the type
    try:
        return wire_to_timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ParseError(where, str(exc)) from None


def read_optional_timestamp(value: Any, where: str) -> Timestamp | None:
    if value is None:
        return None
    return read_timestamp(value, where)


# ---------------------------------------------------------------------------------------
# Enums
# ---------------------------------------------------------------------------------------


@typing.final
class UnknownValue:
    """A value of an enum-typed field that the SDK does not list: the API added it since.

    Enum fields are typed ``Literal[...] | UnknownValue``: a listed value is the plain
    string, any other string is kept as ``UnknownValue(value)``, which serialises back
    unchanged (``str()`` or ``.value`` give the string). It never equals a plain string,
    so that a type checker can report a comparison against a value that is not listed
    (``if action == "flagg":`` is an error under ``mypy --strict``): handle it with
    ``isinstance(value, UnknownValue)``, or compare ``str(value)``.
    """

    __slots__ = ("value",)
    value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {_describe(value)}")
        object.__setattr__(self, "value", value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("UnknownValue is immutable")

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"UnknownValue({self.value!r})"

    def __reduce__(self) -> Any:
        return (UnknownValue, (self.value,))

    # Equality by value, for the runtime only: a ``__eq__`` that mypy sees makes it skip its
    # --strict-equality check on every field typed with this class (so a typo would pass).
    if not TYPE_CHECKING:

        def __eq__(self, other):
            if other.__class__ is UnknownValue:
                return self.value == other.value
            return NotImplemented

        def __hash__(self):
            return hash((UnknownValue, self.value))


_set_unknown_value = UnknownValue.__dict__["value"].__set__  # the slot's descriptor


def _unknown_value(value: str) -> UnknownValue:
    """``UnknownValue(value)`` for a value known to be a str, without the checks."""
    unknown = object.__new__(UnknownValue)
    _set_unknown_value(unknown, value)
    return unknown


def read_enum(values: frozenset[str], value: Any) -> Any:
    """Tolerant: a listed value is itself, another string an UnknownValue."""
    if value.__class__ is str:
        return value if value in values else _unknown_value(value)
    if isinstance(value, UnknownValue):
        return value
    if isinstance(value, str):
        return str(value) if value in values else UnknownValue(str(value))
    raise TypeError(f"expected a string, got {_describe(value)}")


def read_enum_strict(values: frozenset[str], value: Any) -> Any:
    """Strict: the value must be one that is listed (returned as a plain string)."""
    if isinstance(value, str) and value in values:
        return str(value)
    allowed = ", ".join(repr(v) for v in sorted(values))
    text = value.value if isinstance(value, UnknownValue) else value
    close = closest(text, values) if isinstance(text, str) else None
    hint = f" (did you mean {close!r}?)" if close else ""
    raise ValueError(f"{_describe(text)} is not one of {allowed}{hint}")


def enum_to_wire(value: Any) -> Any:
    """The JSON string of an enum field's value (a listed string or an UnknownValue)."""
    return value.value if isinstance(value, UnknownValue) else value


# ---------------------------------------------------------------------------------------
# Null elements: arrays (and maps) whose items the spec declares nullable
# ---------------------------------------------------------------------------------------


def null_positions(value: Any, shape: str) -> Any:
    """Where ``value`` (JSON of a field of that container ``shape``: "list", "map",
    "map.list", ...) holds null elements, or None when it holds none. A list gives the
    indexes of its nulls; a map its keys, each with None (the value was null) or the
    positions inside it. from_dict drops those nulls (a model field never holds None in
    a list) and keeps this, so that to_dict puts them back where they were."""
    container, _, inner = shape.partition(".")
    if container == "list":
        if value.__class__ is not list:
            return None
        if not inner:
            return tuple(i for i, x in enumerate(value) if x is None) if None in value else None
        nested = {i: null_positions(x, inner) for i, x in enumerate(value) if x is not None}
        found: dict[Any, Any] = {i: None for i, x in enumerate(value) if x is None}
        found.update((i, p) for i, p in nested.items() if p is not None)
        return found or None
    if value.__class__ is not dict:
        return None
    found = {}
    for key, x in value.items():
        if x is None:
            found[key] = None
        elif inner:
            positions = null_positions(x, inner)
            if positions is not None:
                found[key] = positions
    return found or None


def restore_nulls(wire: Any, positions: Any) -> Any:
    """The JSON ``wire`` of a field with the null elements ``null_positions`` found put
    back (a list's at their indexes, a map's at their keys)."""
    if isinstance(positions, tuple):
        out = list(wire)
        for index in positions:
            out.insert(index, None)
        return out
    if isinstance(wire, list):  # a list of containers: {index: positions or None}
        items = list(wire)
        for index in sorted(i for i, p in positions.items() if p is None):
            items.insert(index, None)
        for index, inner in positions.items():
            if inner is not None and index < len(items):
                items[index] = restore_nulls(items[index], inner)
        return items
    mapping = dict(wire)
    for key, inner in positions.items():
        if inner is None:
            mapping[key] = None
        elif key in mapping:
            mapping[key] = restore_nulls(mapping[key], inner)
    return mapping


def count_nulls(positions: Any) -> int:
    """How many null elements ``null_positions`` found."""
    if isinstance(positions, tuple):
        return len(positions)
    return sum(1 if inner is None else count_nulls(inner) for inner in positions.values())


# ---------------------------------------------------------------------------------------
# Required fields a response lacks
# ---------------------------------------------------------------------------------------

_warned_missing: set[tuple[str, str]] = set()
"""The (model, field) pairs already warned about in this process."""


def _release_of(cls: type) -> str:
    """The spec release a generated model class comes from (its package's SPEC_VERSION)."""
    package = sys.modules.get(cls.__module__.partition(".models.")[0])
    return str(getattr(package, "SPEC_VERSION", "unknown"))


def missing_fields(
    cls: type,
    required: Mapping[str, str],
    data: Mapping[str, Any],
    missing: tuple[str, ...],
    complete: bool,
) -> tuple[str, ...]:
    """What from_dict does with the required fields (``missing``: attribute names; their
    JSON names in ``required``) that it found absent or null in ``data``.

    With ``complete`` the first one is a ParseError: the spec requires it. Otherwise the
    model keeps them as None and a warning names each model and field once per process:
    servers send less than a newer spec requires (or null for an empty list), and a check
    whose recommended action arrived must not fail for a field the caller may never read.
    Returns the fields that were absent (not null), which to_dict leaves out again.
    """
    if complete:
        name = missing[0]
        state = "null" if required[name] in data else "missing"
        raise ParseError(f"{cls.__name__}.{required[name]}", f"required field is {state}") from None
    for name in missing:
        key = (cls.__name__, required[name])
        if key not in _warned_missing:
            _warned_missing.add(key)
            state = "null" if required[name] in data else "absent"
            _log.warning(
                "%s.%s is required by the spec (release %s) but was %s; it reads as None "
                "(strict_response_validation=True on the client, or strict_validation=True "
                "for webhooks, makes this an error)",
                key[0],
                key[1],
                _release_of(cls),
                state,
                extra={"stream_model": key[0], "stream_field": key[1]},
            )
    return tuple(name for name in missing if required[name] not in data)


# ---------------------------------------------------------------------------------------
# Checks used by from_dict (each returns the value or raises with what was expected)
# ---------------------------------------------------------------------------------------


def _excerpt(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"string {_excerpt(value)}"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__}"


def type_error(expected: str, value: Any) -> NoReturn:
    raise TypeError(f"expected {expected}, got {_describe(value)}")


def check_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    type_error("a string", value)


def check_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    type_error("an integer", value)


def check_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    type_error("a number", value)


def check_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    type_error("a boolean", value)


def check_dict(value: Any) -> dict[str, Any]:
    if value.__class__ is dict:
        return value
    if isinstance(value, Mapping):
        return dict(value)
    type_error("an object", value)


def check_list(value: Any) -> list[Any]:
    if value.__class__ is list:
        return value
    if isinstance(value, tuple):
        return list(value)
    type_error("an array", value)


def model_to_wire(cls: Any, value: Any) -> dict[str, Any]:
    """The JSON object for a model given as an instance or as a plain mapping (the models'
    own ``to_dict``; what a call sends goes through ``request_model``)."""
    if isinstance(value, cls):
        return value.to_dict()  # type: ignore[no-any-return]
    if isinstance(value, Mapping):
        return read_all(cls.from_dict(value)).to_dict()  # type: ignore[no-any-return]
    raise ArgumentTypeError(f"expected {cls.__name__} or a dict, got {_describe(value)}")


# ---------------------------------------------------------------------------------------
# What a request sends: checked against the spec before it leaves
# ---------------------------------------------------------------------------------------


def closest(name: str, candidates: typing.Iterable[str]) -> str | None:
    """The candidate nearest to a mistyped ``name``, if one is near enough."""
    import difflib

    matches = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def check_request_keys(cls: Any, data: Mapping[str, Any], where: str) -> None:
    """Every key of ``data``, and of the dicts nested in it for model fields, is a field of
    its model; else UnknownFieldError naming the key, its path and the closest field."""
    fields: frozenset[str] = cls._wire_fields
    for key in data:
        if key not in fields:
            raise UnknownFieldError(where, str(key), closest(str(key), fields))
    for key, shape in cls._model_fields().items():
        value = data.get(key)
        if value is not None:
            _check_shape_keys(shape, value, f"{where}.{key}")


def _check_shape_keys(shape: Any, value: Any, where: str) -> None:
    if shape.__class__ is tuple:
        container, inner = shape
        if container == "list" and isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                _check_shape_keys(inner, item, f"{where}[{index}]")
        elif container == "map" and isinstance(value, Mapping):
            for key, item in value.items():
                _check_shape_keys(inner, item, f"{where}.{key}")
        return  # a value of the wrong kind is reported by from_dict
    if isinstance(value, Mapping):
        check_request_keys(shape, value, where)


def request_model(cls: Any, value: Any, where: str) -> dict[str, Any]:
    """The JSON object a call sends for argument ``where``: a model instance, or a mapping
    whose keys are all fields of the model (at any depth); every value is checked strictly
    (types, array elements, enum values, timestamps). Raises ParseError (UnknownFieldError
    for a key the spec does not have) or ArgumentTypeError; nothing is sent."""
    if isinstance(value, cls):
        data = value.to_dict()
    elif isinstance(value, Mapping):
        check_request_keys(cls, value, where)
        data = value
    else:
        raise ArgumentTypeError(
            f"{where}: expected {cls.__name__} or a dict, got {_describe(value)}"
        )
    try:
        return cls.from_dict(data, True).to_dict()  # type: ignore[no-any-return]
    except ParseError as exc:
        raise exc.rooted(where) from None


_ARGUMENT_TYPES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
}


def request_value(value: Any, kind: type, where: str) -> Any:
    """A plain argument (string, integer, number, boolean) of the type the spec says."""
    if value.__class__ is kind:
        return value
    try:
        if kind is str:
            return check_str(value)
        if kind is int:
            return check_int(value)
        if kind is float:
            return check_float(value)
        return check_bool(value)
    except TypeError:
        raise ArgumentTypeError(
            f"{where}: expected {_ARGUMENT_TYPES[kind]}, got {_describe(value)}"
        ) from None


def request_enum(values: frozenset[str], value: Any, where: str) -> str:
    """An enum argument: one of the values that are listed."""
    try:
        return str(read_enum_strict(values, value))
    except ValueError as exc:
        raise ArgumentValueError(f"{where}: {exc}") from None


def request_timestamp(value: Any, where: str) -> int | float | str:
    try:
        return timestamp_to_wire(value)
    except (TypeError, ValueError) as exc:
        error = ArgumentTypeError if isinstance(exc, TypeError) else ArgumentValueError
        raise error(f"{where}: {exc}") from None


def check_init_arguments(
    cls: type, args: tuple[Any, ...], kwargs: Mapping[str, Any], names: frozenset[str]
) -> None:
    """A model's constructor takes only its fields, by keyword; else the error says which
    name is unknown and the closest field."""
    if args:
        raise ArgumentTypeError(
            f"{cls.__name__} takes keyword arguments only, got {len(args)} positional"
        )
    for key in kwargs:
        if key not in names:
            raise UnknownFieldError(cls.__name__, key, closest(key, names))


class Unparsed:
    """A nested model's JSON as received, read into its model when its field is first read.

    ``from_dict`` (lenient, the default for responses) keeps the JSON of each field that
    holds models in one of these instead of reading the whole tree up front: a check
    response carries a queue item of some 85 objects that most callers never look at. The
    field's property calls ``read`` (the JSON and where the owner sits in its response),
    keeps the result, and a ParseError names the whole path; strict reading stays eager.
    """

    __slots__ = ("read", "value")

    def __init__(self, value: Any, read: typing.Callable[[Any, str | None], Any]) -> None:
        self.value = value
        self.read = read

    def __repr__(self) -> str:
        return f"Unparsed({self.read.__qualname__})"


def parsed(value: Any) -> Any:
    """What a model field holds once read: models compare equal whether or not their
    nested fields have been read yet."""
    return value.read(value.value, None) if value.__class__ is Unparsed else value


def _each_model(value: Any, visit: typing.Callable[[Any], object]) -> None:
    """``visit`` each model of ``value``: a model, or a list or map of them (nested)."""
    if value.__class__ is list:
        for item in value:
            _each_model(item, visit)
    elif value.__class__ is dict:
        for item in value.values():
            _each_model(item, visit)
    elif value is not None:
        visit(value)


def placed(value: T, where: str) -> T:
    """``value`` (a model, or a list or map of them) read lazily at ``where`` in its
    response: each model remembers it, so an error in its own lazy fields names it."""
    _each_model(value, lambda model: model._place(where))
    return value


def read_all(value: T) -> T:
    """``value`` (a model, or a list or map of them) with every nested model read now, as
    strict parsing would, but tolerantly: where a response must be whole before it is
    handed on (a webhook event). Raises the ParseError of the first that does not fit."""
    _each_model(value, lambda model: model._read_all())
    return value


def read_error(exc: Exception, model: str, field: str, at: str | None) -> ParseError:
    """The ParseError of a lazily read field: its path from the response's root, and no
    secret (the value it quotes came from a server, which may echo a token)."""
    from ._logs import redact  # the error path only; _logs imports nothing of the client

    if isinstance(exc, ParseError):
        error = exc.within(model, field)
    else:
        error = ParseError.from_exception(model, field, exc)
    error = error.rooted(at) if at else error
    reason = redact(error.reason)
    return error if reason == error.reason else ParseError(error.location, reason)


def coerce_models(value: Any, shape: Any, where: str) -> Any:
    """Constructor side: plain mappings given for model fields become models.

    ``shape`` is the model class, or ``("list", shape)`` / ``("map", shape)`` for
    containers of models. A mapping must fit its model as a request argument does (no
    unknown key at any depth, every value of its type), so a model never holds a dict
    where its type says model, nor a typo; a value of another kind is an ArgumentTypeError.
    """
    if value is None or value.__class__ is Unparsed:  # attrs.evolve passes it on
        return value
    if shape.__class__ is tuple:
        container, inner = shape
        if container == "list":
            if isinstance(value, (list, tuple)):
                return [coerce_models(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
            raise ArgumentTypeError(f"{where}: expected an array, got {_describe(value)}")
        if isinstance(value, Mapping):
            return {k: coerce_models(v, inner, f"{where}.{k}") for k, v in value.items()}
        raise ArgumentTypeError(f"{where}: expected an object, got {_describe(value)}")
    if isinstance(value, shape):
        return value
    if isinstance(value, Mapping):
        check_request_keys(shape, value, where)
        try:
            return shape.from_dict(value, True)
        except ParseError as exc:
            raise exc.rooted(where) from None
    raise ArgumentTypeError(
        f"{where}: expected {shape.__name__} or a mapping, got {_describe(value)}"
    )


def to_wire(value: Any) -> Any:
    """The JSON form of a value of any field type: models, enums, timestamps, containers."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, UnknownValue):
        return value.value
    if isinstance(value, _dt.datetime):
        return timestamp_to_wire(value)
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, Mapping):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    raise ArgumentTypeError(f"cannot send {_describe(value)} as JSON")


def request_any(value: Any, where: str) -> Any:
    """A free-form argument (an object, a list, a map) as JSON."""
    try:
        return to_wire(value)
    except (TypeError, ValueError) as exc:
        error = ArgumentTypeError if isinstance(exc, TypeError) else ArgumentValueError
        raise error(f"{where}: {exc}") from None


# ---------------------------------------------------------------------------------------
# Lazy references between generated modules
# ---------------------------------------------------------------------------------------


class _Lazy:
    """A model or enum class that a generated module refers to, imported on first use.

    Models refer to each other in cycles and in large graphs (a CheckResponse reaches about
    90 models), and each class costs its import (attrs builds it) whether or not a payload
    ever holds one. A module binds each class it refers to to one of these instead; the
    first use imports the class and binds it in that module in place of this, so that
    later uses are as cheap as a plain import's.
    """

    __slots__ = ()
    _module: str
    _name: str
    _owner: str

    def __init__(self, owner: str, module: str, name: str) -> None:
        if isinstance(self, typing.ForwardRef):
            typing.ForwardRef.__init__(self, name)
        # the slots are the subclass's (below), which mypy does not see from here
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_name", name)

    def resolve(self) -> Any:
        cls = getattr(importlib.import_module(self._module), self._name)
        if isinstance(cls, _Lazy):
            raise ImportError(f"{self._module}.{self._name} is not defined there")
        owner = sys.modules.get(self._owner)
        if owner is not None and vars(owner).get(self._name) is self:
            setattr(owner, self._name, cls)
        return cls

    def __getattr__(self, name: str) -> Any:
        if name in _OWN or name.startswith("__forward"):  # not set yet
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    def _evaluate(self, *args: Any, **kwargs: Any) -> Any:  # typing.get_type_hints
        return self.resolve()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self.resolve())

    def __iter__(self) -> Any:
        return iter(self.resolve())

    def __or__(self, other: Any) -> Any:
        return self.resolve() | other

    def __ror__(self, other: Any) -> Any:
        return other | self.resolve()

    def __repr__(self) -> str:
        return f"<lazy {self._module}.{self._name}>"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


# A lazy reference is also a typing.ForwardRef, so that typing.get_type_hints (and what is
# built on it: attrs.resolve_types, cattrs, ...) resolves it to the class, inside list[...]
# and dict[...] too. typing marks its classes final; on a Python whose typing does not let
# itself be subclassed this way, lazy references work the same, only hints do not resolve.
try:

    class LazyModel(_Lazy, typing.ForwardRef, _root=True):  # type: ignore[call-arg, misc]
        __slots__ = ("_module", "_name", "_owner")

except TypeError:  # pragma: no cover - depends on the Python version

    class LazyModel(_Lazy):  # type: ignore[no-redef]
        __slots__ = ("_module", "_name", "_owner")


_OWN = frozenset(("_module", "_name", "_owner"))


# ---------------------------------------------------------------------------------------
# Operations and responses
# ---------------------------------------------------------------------------------------


@define(frozen=True, slots=True)
class Operation(Generic[T]):
    """One API operation, as the spec describes it."""

    name: str
    method: str
    path: str
    success_status: int
    response_type: type[T] | None
    """The model of a successful response; None for a free-form JSON object."""
    items_field: str | None = None
    """For cursor-paginated queries (`next`/`prev`), the response field holding the page."""
    resendable: bool = False
    """Whether the request may be sent again after it may have been processed (a read, or
    a write that leaves the same state however often it runs). Set by codegen from the
    spec (``codegen/resend.py``); the client's retry policy reads it."""
    resend_reason: str = "write"
    """Why: the rule (or the override) that classified the operation."""


@define(frozen=True, slots=True)
class RateLimitInfo:
    """The X-RateLimit-* headers of a response."""

    limit: int | None
    remaining: int | None
    reset: _dt.datetime | None
    """When the current window resets (the header is unix seconds)."""


@define(frozen=True, slots=True, repr=False)
class StreamResponse(Generic[T]):
    """A successful API response: the parsed model and what came with it."""

    data: T
    status_code: int
    headers: Any = field(eq=False)
    """The response headers, case-insensitive: an httpx.Headers, or aiohttp's
    CIMultiDictProxy on the aiohttp transport."""
    rate_limit: RateLimitInfo | None
    duration: float
    """Seconds from sending the request to reading the whole response, retries included."""

    @property
    def request_id(self) -> str | None:
        value = self.headers.get("x-amz-cf-id") or self.headers.get("x-request-id")
        return str(value) if value is not None else None

    def __repr__(self) -> str:
        return (
            f"StreamResponse(status_code={self.status_code}, duration={self.duration:.3f}, "
            f"data={self.data!r})"
        )
