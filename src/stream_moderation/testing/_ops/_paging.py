"""The common part of the query endpoints: filter/sort/limit/next/prev from the body."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from .._query import Page, Query, run_query
from . import Call

__all__ = ["page_of", "with_cursors"]

T = TypeVar("T")


def page_of(call: Call, query: Query[T], records: Iterable[T]) -> Page[T]:
    body = call.body
    return run_query(
        query,
        records,
        filter=body.get("filter"),
        sort=body.get("sort"),
        limit=body.get("limit"),
        next=body.get("next"),
        prev=body.get("prev"),
    )


def with_cursors(out: dict[str, Any], page: Page[Any]) -> dict[str, Any]:
    if page.next:
        out["next"] = page.next
    if page.prev:
        out["prev"] = page.prev
    return out
