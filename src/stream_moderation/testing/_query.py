"""Filtering, sorting and cursor pagination for the query endpoints.

A filter is a MongoDB-style object: ``{field: value}`` (equality) or
``{field: {"$op": value}}`` with ``$eq``, ``$ne``, ``$in``, ``$nin``, ``$gt``, ``$gte``,
``$lt``, ``$lte``, ``$exists`` and, for list fields, ``$contains``; ``$and``, ``$or`` and
``$nor`` combine filters. Each collection declares its fields and their kinds; an unknown
field, operator or a value of the wrong type is a 400 naming ``filter.<field>``.

Pages use keyset cursors: ``next``/``prev`` are opaque strings holding the sort key of
the page's last/first record and a fingerprint of the query, so a cursor stays valid while
records are added and is refused with another filter or sort.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ._errors import input_error
from ._wire import parse_time

__all__ = ["DEFAULT_LIMIT", "Field", "Page", "Query", "run_query"]

T = TypeVar("T")
Kind = Literal["string", "bool", "time", "number", "list"]

DEFAULT_LIMIT = 25
"""Page size when ``limit`` is omitted or 0 (the spec allows 0-100)."""

_COMPARISONS = ("$gt", "$gte", "$lt", "$lte")
_OPERATORS = frozenset({"$eq", "$ne", "$in", "$nin", "$exists", "$contains", *_COMPARISONS})


@dataclass(frozen=True, slots=True)
class Field(Generic[T]):
    kind: Kind
    get: Callable[[T], Any]
    sortable: bool = True


@dataclass(frozen=True, slots=True)
class Query(Generic[T]):
    """A collection's query surface: its fields, default order and tie-breaker."""

    name: str
    fields: Mapping[str, Field[T]]
    default_sort: tuple[tuple[str, int], ...]
    seq: Callable[[T], int]
    """Creation order, the final tie-breaker."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    records: list[T]
    next: str | None
    prev: str | None
    matched: list[T]
    """Every record that matched the filter (for stats)."""


# ---------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------

Predicate = Callable[[Any], bool]


def _coerce(kind: Kind, value: Any, where: str) -> Any:
    if kind == "time":
        try:
            return parse_time(value)
        except (TypeError, ValueError, OverflowError):
            raise input_error(
                f"{where} must be a timestamp (RFC 3339 or unix nanoseconds)",
                {where: "expected a timestamp"},
            ) from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise input_error(f"{where} must be a boolean", {where: "expected a boolean"})
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        raise input_error(f"{where} must be a number", {where: "expected a number"})
    if isinstance(value, str):
        return value
    raise input_error(f"{where} must be a string", {where: "expected a string"})


def _element_kind(kind: Kind) -> Kind:
    return "string" if kind == "list" else kind


def _condition(field: Field[Any], op: str, value: Any, where: str) -> Predicate:
    get = field.get
    kind = field.kind
    if op == "$exists":
        if not isinstance(value, bool):
            raise input_error(f"{where} $exists takes a boolean", {where: "expected a boolean"})
        return lambda r: (get(r) not in (None, [], "")) == value
    if op in ("$in", "$nin"):
        if not isinstance(value, list):
            raise input_error(f"{where} {op} takes an array", {where: "expected an array"})
        wanted = [_coerce(_element_kind(kind), v, where) for v in value]
        if kind == "list":
            hit: Predicate = lambda r: any(v in (get(r) or []) for v in wanted)  # noqa: E731
        else:
            hit = lambda r: get(r) in wanted  # noqa: E731
        return hit if op == "$in" else (lambda r: not hit(r))
    if op == "$contains":
        if kind != "list":
            raise input_error(f"{where} $contains only applies to list fields", {where: op})
        wanted_one = _coerce("string", value, where)
        return lambda r: wanted_one in (get(r) or [])
    if op in _COMPARISONS:
        if kind in ("list", "bool"):
            raise input_error(f"{where} {op} does not apply to {kind} fields", {where: op})
        bound = _coerce(kind, value, where)

        def compare(record: Any) -> bool:
            current = get(record)
            if current is None:
                return False
            if op == "$gt":
                return bool(current > bound)
            if op == "$gte":
                return bool(current >= bound)
            if op == "$lt":
                return bool(current < bound)
            return bool(current <= bound)

        return compare
    # $eq / $ne
    expected = _coerce(_element_kind(kind), value, where)
    if kind == "list":
        eq: Predicate = lambda r: expected in (get(r) or [])  # noqa: E731
    else:
        eq = lambda r: get(r) == expected  # noqa: E731
    return eq if op == "$eq" else (lambda r: not eq(r))


def _compile(query: Query[Any], spec: Any, where: str) -> list[Predicate]:
    if not isinstance(spec, dict):
        raise input_error(f"{where} must be an object", {where: "expected an object"})
    predicates: list[Predicate] = []
    for key, value in spec.items():
        path = f"{where}.{key}"
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not value:
                raise input_error(f"{path} takes a non-empty array of filters", {path: key})
            groups = [_compile(query, sub, f"{path}[]") for sub in value]
            if key == "$and":
                predicates.extend(p for group in groups for p in group)
            else:
                any_of: Predicate = functools.partial(_any_group, groups)
                predicates.append(any_of if key == "$or" else _negate(any_of))
            continue
        field = query.fields.get(key)
        if field is None:
            known = ", ".join(sorted(query.fields))
            raise input_error(
                f"{path} is not a filter field of {query.name}; use one of: {known}",
                {path: "unknown filter field"},
            )
        if isinstance(value, dict):
            if not value:
                raise input_error(f"{path} has an empty operator object", {path: "empty"})
            for op, operand in value.items():
                if op not in _OPERATORS:
                    raise input_error(
                        f"{path} uses unknown operator {op!r}; supported: "
                        + ", ".join(sorted(_OPERATORS)),
                        {path: f"unknown operator {op}"},
                    )
                predicates.append(_condition(field, op, operand, path))
        else:
            predicates.append(_condition(field, "$eq", value, path))
    return predicates


def _any_group(groups: list[list[Predicate]], record: Any) -> bool:
    return any(all(p(record) for p in group) for group in groups)


def _negate(predicate: Predicate) -> Predicate:
    return lambda record: not predicate(record)


# ---------------------------------------------------------------------------------------
# Sorting and cursors
# ---------------------------------------------------------------------------------------


def _parse_sort(query: Query[Any], sort: Any) -> tuple[tuple[str, int], ...]:
    if not sort:
        return query.default_sort
    order: list[tuple[str, int]] = []
    for entry in sort:
        name = entry.get("field")
        direction = entry.get("direction", 1)
        if direction in (None, 0):
            direction = 1
        where = "sort[].field"
        field = query.fields.get(name) if isinstance(name, str) else None
        if field is None or not field.sortable:
            sortable = ", ".join(sorted(k for k, f in query.fields.items() if f.sortable))
            raise input_error(
                f"cannot sort {query.name} by {name!r}; sortable fields: {sortable}",
                {where: f"unknown sort field {name!r}"},
            )
        if direction not in (1, -1):
            raise input_error(
                "sort direction must be 1 (ascending) or -1 (descending)",
                {"sort[].direction": f"got {direction!r}"},
            )
        order.append((name, direction))
    return tuple(order)


def _cmp_values(a: Any, b: Any) -> int:
    # None sorts after every value, whatever the direction of the other keys.
    if a is None or b is None:
        return (a is None) - (b is None)
    if a == b:
        return 0
    return -1 if a < b else 1


def _compare_keys(a: Sequence[Any], b: Sequence[Any], directions: Sequence[int]) -> int:
    for left, right, direction in zip(a, b, directions, strict=True):
        result = _cmp_values(left, right)
        if result:
            return result if direction == 1 or left is None or right is None else -result
    return 0


def _fingerprint(filter_: Any, order: tuple[tuple[str, int], ...]) -> str:
    text = json.dumps([filter_ or {}, order], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_cursor(fingerprint: str, key: list[Any]) -> str:
    raw = json.dumps({"q": fingerprint, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str, where: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = data["k"]
        matches = data["q"] == fingerprint
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise input_error(f"{where} is not a valid cursor", {where: "malformed cursor"}) from None
    if not matches or not isinstance(key, list):
        raise input_error(
            f"{where} belongs to another query: pass the same filter and sort as the page "
            "it came from",
            {where: "cursor does not match the filter and sort"},
        )
    return key


def run_query(
    query: Query[T],
    records: Iterable[T],
    *,
    filter: Any = None,
    sort: Any = None,
    limit: int | None = None,
    next: str | None = None,
    prev: str | None = None,
) -> Page[T]:
    """One page of ``records`` matching ``filter`` in ``sort`` order."""
    predicates = _compile(query, filter or {}, "filter")
    order = _parse_sort(query, sort)
    if next and prev:
        raise input_error("pass either next or prev, not both", {"next": "and prev both set"})
    size = limit or DEFAULT_LIMIT
    directions = [direction for _, direction in order] + [1]
    getters = [query.fields[name].get for name, _ in order]

    def key_of(record: T) -> list[Any]:
        return [getter(record) for getter in getters] + [query.seq(record)]

    matched = [r for r in records if all(p(r) for p in predicates)]

    def compare(a: tuple[list[Any], T], b: tuple[list[Any], T]) -> int:
        return _compare_keys(a[0], b[0], directions)

    keyed = sorted(((key_of(r), r) for r in matched), key=functools.cmp_to_key(compare))
    fingerprint = _fingerprint(filter, order)
    start, end = 0, min(size, len(keyed))
    if next:
        anchor = _decode_cursor(next, fingerprint, "next")
        start = next_index(keyed, anchor, directions, strict=True)
        end = min(start + size, len(keyed))
    elif prev:
        anchor = _decode_cursor(prev, fingerprint, "prev")
        end = next_index(keyed, anchor, directions, strict=False)
        start = max(0, end - size)
    page = keyed[start:end]
    next_cursor = _encode_cursor(fingerprint, page[-1][0]) if page and end < len(keyed) else None
    prev_cursor = _encode_cursor(fingerprint, page[0][0]) if page and start > 0 else None
    return Page(
        records=[record for _, record in page],
        next=next_cursor,
        prev=prev_cursor,
        matched=matched,
    )


def next_index(
    keyed: Sequence[tuple[list[Any], Any]],
    anchor: list[Any],
    directions: Sequence[int],
    *,
    strict: bool,
) -> int:
    """The index of the first record after the anchor (``strict``) or at/after it."""
    if len(anchor) != len(directions):
        raise input_error("cursor does not match the sort", {"next": "cursor/sort mismatch"})
    for index, (key, _) in enumerate(keyed):
        result = _compare_keys(key, anchor, directions)
        if result > 0 or (not strict and result == 0):
            return index
    return len(keyed)
