"""``client.moderation`` of ``AsyncStream``: the generated resource, plus what is not one
operation of the spec (``Stream``'s is in ``_sync_resources``, which an async app never loads).

The generated classes hold one method per operation (and ``.iter()`` on the paginated
ones); these handwritten subclasses add ``check_many``. The clients instantiate these, so
that the generated code never imports handwritten code.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ._generated.resources import AsyncModerationResource
from ._types import UNSET, StreamResponse, Unset

if TYPE_CHECKING:
    from ._bulk import AsyncCheckBatch, CheckResult, ItemT, _Batch
    from ._client import AsyncStream, Stream
    from ._generated.models.check_response import CheckResponse

__all__ = ["AsyncModeration"]

DEFAULT_CONCURRENCY = 10
DEFAULT_RATE_LIMIT_RETRIES = 8


def _new_batch(
    client: AsyncStream | Stream, items: Iterable[ItemT] | AsyncIterable[ItemT], **settings: Any
) -> _Batch[ItemT]:
    """A batch that follows the client's retry policy and waits for its coordinator (its
    own ``LocalRateLimits`` when the client has none). The batch machinery loads here, on
    first use: a client that never calls check_many does not import it."""
    from ._bulk import new_batch

    return new_batch(
        items,
        policy=client._core.retry_policy,
        rate_limits=client.rate_limits,
        key=client._rate_limit_key("check"),
        **settings,
    )


class AsyncModeration(AsyncModerationResource):
    """The Moderation API: ``await client.moderation.check(...)``, ``check_many`` and the rest."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncStream) -> None:
        super().__init__(client)
        self._client = client

    def check_many(
        self,
        items: Iterable[ItemT] | AsyncIterable[ItemT],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        config_key: str | None = None,
        ordered: bool = False,
        progress: Callable[[int, int | None, CheckResult[ItemT]], object] | None = None,
        total: int | None = None,
        defaults: Mapping[str, Any] | None = None,
        rate_limit_retries: int = DEFAULT_RATE_LIMIT_RETRIES,
        timeout: float | httpx.Timeout | Unset | None = UNSET,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncCheckBatch[ItemT]:
        """Check many items with at most ``concurrency`` requests in flight.

        ``items``: an iterable or async iterable of ``CheckItem`` or mappings of ``check``
        arguments, read as the batch goes. Yields one ``CheckResult`` per item (its item and
        response, or its error: a failure does not stop the batch), as they complete, or in
        input order with ``ordered=True``::

            async for result in client.moderation.check_many(items, concurrency=20):
                print(result.item, result.recommended_action or result.error)

        ``config_key`` and ``defaults`` (other ``check`` arguments) apply to every item;
        an item's own values win. ``progress(done, total, result)`` is called as each item
        completes (``total``: the ``total`` given, else ``len(items)`` when it has one).

        A 429 pauses the whole batch until the moment the API names (``Retry-After``), then
        the item is sent again, up to ``rate_limit_retries`` times; with the client's
        ``rate_limits``, the pause is that coordinator's (shared with the client's other
        calls, or with a fleet of workers through Redis). ``timeout``,
        ``max_retries`` (for the other retryable failures) and ``extra_headers`` apply to
        each call.

        ``async with client.moderation.check_many(...) as results: async for ...`` keeps the
        requests going while the loop body runs; leaving the block, like breaking out of a
        plain ``async for``, leaves no request running.
        """
        batch = _new_batch(
            self._client,
            items,
            concurrency=concurrency,
            config_key=config_key,
            ordered=ordered,
            defaults=defaults,
            progress=progress,
            total=total,
            rate_limit_retries=rate_limit_retries,
        )
        check = self._client._pausing_client().moderation.check

        async def send(kwargs: dict[str, Any]) -> StreamResponse[CheckResponse]:
            return await check(
                **kwargs, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
            )

        from ._bulk import AsyncCheckBatch

        return AsyncCheckBatch(batch, send)
