"""The paging loop behind ``client.moderation.<query>.iter(...)``, async and sync.

The generated method objects know, per operation, how to build the request of the page
after a cursor; the operation's ``items_field`` says where a page's items are. This module
follows ``next`` from page to page and hands out the items one by one. A page is fetched
only when the previous one has been consumed, so breaking out of the loop leaves nothing
in flight. The iterators are plain objects (not generators): nothing needs closing when a
loop stops early.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Generic, Self, TypeVar, Unpack

from ._errors import ArgumentValueError
from ._generated.resources import AsyncRequester, PageRequest, SyncRequester
from ._options import RequestOptions, check_options
from ._types import Operation

__all__ = ["AsyncItems", "Items"]

ItemT = TypeVar("ItemT")
RequesterT = TypeVar("RequesterT", AsyncRequester, SyncRequester)

logger = logging.getLogger("stream_moderation")


class _Pager(Generic[RequesterT, ItemT]):
    """What both iterators share: the cursor, the buffered page and the item count."""

    def __init__(
        self,
        requester: RequesterT,
        operation: Operation[Any],
        request: PageRequest,
        *,
        max_items: int | None,
        **options: Unpack[RequestOptions],
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ArgumentValueError("max_items must be >= 0")
        check_options(options)
        if operation.items_field is None:
            raise ValueError(f"{operation.name} is not a cursor-paginated query")
        self._requester: RequesterT = requester
        self._operation: Operation[Any] = operation
        self._build = request
        self._items_field: str = operation.items_field
        self._max_items = max_items
        self._options = options
        # Built now, so that bad arguments fail at the call, not at the first iteration.
        self._next_request: tuple[str, dict[str, Any], dict[str, Any] | None] | None = request(None)
        self._cursor: str | None = None
        self._buffer: deque[ItemT] = deque()
        self._yielded = 0
        self.pages = 0
        """How many pages have been fetched so far."""

    def _pop(self) -> ItemT | None:
        """The next buffered item, or None when a page must be fetched (or it is the end)."""
        if self._buffer and (self._max_items is None or self._yielded < self._max_items):
            self._yielded += 1
            return self._buffer.popleft()
        return None

    @property
    def _exhausted(self) -> bool:
        limit_reached = self._max_items is not None and self._yielded >= self._max_items
        return limit_reached or (not self._buffer and self._next_request is None)

    def _take_page(self, page: Any) -> None:
        self.pages += 1
        self._buffer.extend(getattr(page, self._items_field) or ())
        cursor = getattr(page, "next", None)
        if not isinstance(cursor, str) or not cursor:
            self._next_request = None
        elif cursor == self._cursor:
            logger.warning(
                "%s returned the cursor it was given; stopping to avoid a loop",
                self._operation.name,
            )
            self._next_request = None
        else:
            self._cursor = cursor
            self._next_request = self._build(cursor)


class AsyncItems(_Pager[AsyncRequester, ItemT]):
    """Every item of a cursor-paginated query: ``async for item in ...``."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ItemT:
        while True:
            item = self._pop()
            if item is not None:
                return item
            if self._exhausted or self._next_request is None:
                raise StopAsyncIteration
            url, params, body = self._next_request
            response = await self._requester.request(
                self._operation, url, params=params, body=body, **self._options
            )
            self._take_page(response.data)


class Items(_Pager[SyncRequester, ItemT]):
    """Every item of a cursor-paginated query: ``for item in ...``."""

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> ItemT:
        while True:
            item = self._pop()
            if item is not None:
                return item
            if self._exhausted or self._next_request is None:
                raise StopIteration
            url, params, body = self._next_request
            response = self._requester.request(
                self._operation, url, params=params, body=body, **self._options
            )
            self._take_page(response.data)
