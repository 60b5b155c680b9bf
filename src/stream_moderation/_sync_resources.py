"""``client.moderation`` of the blocking ``Stream``: the generated resource plus
``check_many``, as ``_resources`` has them for ``AsyncStream``. Loaded by the first
``Stream``: an async app never imports it nor the generated sync resource."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ._errors import ArgumentTypeError
from ._generated.sync_resources import ModerationResource
from ._resources import DEFAULT_CONCURRENCY, DEFAULT_RATE_LIMIT_RETRIES, _new_batch
from ._types import UNSET, StreamResponse, Unset

if TYPE_CHECKING:
    from ._bulk import CheckBatch, CheckResult, ItemT
    from ._client import Stream
    from ._generated.models.check_response import CheckResponse

__all__ = ["Moderation"]


class Moderation(ModerationResource):
    """The Moderation API, blocking: ``client.moderation.check(...)``, ``check_many``, ..."""

    __slots__ = ("_client",)

    def __init__(self, client: Stream) -> None:
        super().__init__(client)
        self._client = client

    def check_many(
        self,
        items: Iterable[ItemT],
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
    ) -> CheckBatch[ItemT]:
        """Check many items with at most ``concurrency`` requests in flight.

        The same as on ``AsyncStream`` (see there), with a plain iterable and ``for``::

            for result in client.moderation.check_many(items, concurrency=20):
                print(result.item, result.recommended_action or result.error)

        The requests go out from worker threads through this client's connection pool;
        ``progress`` is called in the calling thread. Between two iterations nothing is in
        flight. On an interrupt (Ctrl-C), requests already sent are waited for (at most
        the timeout); none is started.
        """
        if isinstance(items, AsyncIterable):
            raise ArgumentTypeError("an async iterable of items needs AsyncStream's check_many")
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

        def send(kwargs: dict[str, Any]) -> StreamResponse[CheckResponse]:
            return check(
                **kwargs, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
            )

        from ._bulk import CheckBatch

        return CheckBatch(batch, send)
