"""Checking many items: bounded concurrency, a backoff shared by the batch, progress, order.

``client.moderation.check_many(items)`` returns a batch (``AsyncCheckBatch`` or, on the
sync client, ``CheckBatch``) that yields one ``CheckResult`` per item. The machinery:

- a fixed pool of ``concurrency`` workers pulls items one at a time from the input (an
  iterable or an async iterable, never read ahead by more than a bounded window), so at
  most ``concurrency`` requests are in flight and a huge input is never held in memory;
- each result carries its item and either the response or the error: one item's failure
  does not stop the others;
- a 429 pauses the key (the app's API key and ``check``) in a rate-limit coordinator: every
  worker waits for the same moment, then the item is sent again; other retryable failures
  are retried by the call itself, as for any call. The coordinator is the client's
  (``AsyncStream(rate_limits=...)``: shared with its other calls, or a whole fleet's), else
  one of the batch's own (``LocalRateLimits``); every answer's X-RateLimit-* headers go to
  it too (``Remaining: 0`` pauses until the reset; a pacing coordinator counts the window);
- results come out as they complete, or in input order with ``ordered=True`` (completed
  results wait, within the window, for the ones before them).

How it runs depends on how it is used, so that no request outlives the loop consuming it:

- ``async with client.moderation.check_many(...) as results: async for r in results``:
  the workers run in a task group for the whole block, also while the loop body runs;
  leaving the block (the end, ``break``, an error, a cancellation) cancels what is in
  flight and waits for it.
- ``async for r in client.moderation.check_many(...)``: the workers run only while the
  loop waits for its next result. A round fills the window (``WINDOW_PER_WORKER`` items
  per worker), then the results are handed out; between two iterations nothing is in
  flight, so breaking out of the loop leaves nothing running (and nothing lost: the
  loop can be resumed), and a cancellation reaches the requests of the round. An
  ``async for`` cannot tell its iterator that it stopped early, and a task group must not
  stay open across iterations of a caller's loop: rounds are what keeps that form safe,
  at the cost of a little throughput.
- the sync batch runs the same rounds in an event loop of its own (``anyio.run``) in the
  calling thread, sending each request with the sync client in a worker thread.
"""

from __future__ import annotations

import enum
import functools
import logging
import sys
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeAlias, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup

from ._exceptions import (
    APIStatusError,
    ArgumentTypeError,
    ArgumentValueError,
    RateLimitError,
    StreamError,
)
from ._rate_limits import LocalRateLimits, RateLimitCoordinator
from ._retry import RetryPolicy
from ._types import StreamResponse

if TYPE_CHECKING:
    from datetime import datetime

    from ._generated.models.check_response import CheckResponse
    from ._generated.models.check_response_recommended_action import (
        CheckResponseRecommendedAction,
    )
    from ._generated.models.moderation_payload import ModerationPayload
    from ._types import UnknownValue

__all__ = [
    "WINDOW_PER_WORKER",
    "AsyncCheckBatch",
    "CheckBatch",
    "CheckItem",
    "CheckResult",
    "new_batch",
]

logger = logging.getLogger("stream_moderation")

WINDOW_PER_WORKER = 8
"""Items pulled from the input but not yet handed out, per worker: bounds the memory of a
batch, how far ``ordered=True`` runs ahead of a slow item, and the size of a round."""


@attrs.frozen
class CheckItem:
    """One entity to check, with its payload: the arguments of ``check`` as a value.

    ``CheckItem("stream:chat:v1:message", "msg-1", "user-1", {"texts": ["hi"]})``. Any other
    argument of ``check`` goes in ``extra``. A plain mapping of ``check`` arguments works
    as an item too.
    """

    entity_type: str
    entity_id: str
    entity_creator_id: str
    moderation_payload: ModerationPayload | Mapping[str, Any] | None = None
    config_key: str | None = attrs.field(default=None, kw_only=True)
    """Overrides the batch's ``config_key`` for this item."""
    user_id: str | None = attrs.field(default=None, kw_only=True)
    content_published_at: datetime | int | str | None = attrs.field(default=None, kw_only=True)
    options: Mapping[str, Any] | None = attrs.field(default=None, kw_only=True)
    extra: Mapping[str, Any] = attrs.field(factory=dict, kw_only=True)
    """Any other argument of ``check`` (``config``, ``config_team``, ``test_mode``, ...)."""

    def to_kwargs(self) -> dict[str, Any]:
        """The arguments of ``check`` for this item (fields left as None are not sent)."""
        kwargs: dict[str, Any] = {
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "entity_creator_id": self.entity_creator_id,
        }
        optional = {
            "moderation_payload": self.moderation_payload,
            "config_key": self.config_key,
            "user_id": self.user_id,
            "content_published_at": self.content_published_at,
            "options": self.options,
        }
        kwargs.update((k, v) for k, v in optional.items() if v is not None)
        kwargs.update(self.extra)
        return kwargs


ItemT = TypeVar("ItemT", bound="CheckItem | Mapping[str, Any]")


@attrs.frozen(repr=False)
class CheckResult(Generic[ItemT]):
    """The outcome of one item of a batch: its response, or the error it ended with."""

    index: int
    """The item's position in the input (0-based)."""
    item: ItemT
    """The item, as it was given."""
    response: StreamResponse[CheckResponse] | None = None
    error: Exception | None = None
    """A ``StreamError`` (the API's error, a timeout, ...), or the ``TypeError`` or
    ``ValueError`` of an item that no request could be built from."""
    rate_limited: int = 0
    """How many times this item was answered 429 (and sent again after the pause)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def data(self) -> CheckResponse | None:
        """The parsed ``CheckResponse``, or None when the item failed."""
        return self.response.data if self.response is not None else None

    @property
    def recommended_action(self) -> CheckResponseRecommendedAction | UnknownValue | None:
        """``keep``, ``flag`` or ``remove``; None when the item failed."""
        return self.response.data.recommended_action if self.response is not None else None

    def unwrap(self) -> StreamResponse[CheckResponse]:
        """The response; raises the item's error when it failed."""
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response

    def __repr__(self) -> str:
        outcome = (
            f"recommended_action={self.recommended_action!r}"
            if self.error is None
            else f"error={type(self.error).__name__}"
        )
        return f"CheckResult(index={self.index}, {outcome})"


Send: TypeAlias = Callable[[dict[str, Any]], Awaitable["StreamResponse[CheckResponse]"]]
"""Sends one ``check`` with these arguments (the call's own retries, 429 excepted)."""
SyncSend: TypeAlias = Callable[[dict[str, Any]], "StreamResponse[CheckResponse]"]
"""The same, blocking: the sync batch runs it in a worker thread."""


class _Batch(Generic[ItemT]):
    """The state of a batch and the workers' loop; the drivers decide when it runs."""

    def __init__(
        self,
        items: Iterable[ItemT] | AsyncIterable[ItemT],
        *,
        concurrency: int,
        ordered: bool,
        defaults: Mapping[str, Any],
        progress: Callable[[int, int | None, CheckResult[ItemT]], object] | None,
        total: int | None,
        policy: RetryPolicy,
        rate_limit_retries: int,
        rate_limits: RateLimitCoordinator | None = None,
        key: str = "check",
    ) -> None:
        if concurrency < 1:
            raise ArgumentValueError("concurrency must be >= 1")
        if rate_limit_retries < 0:
            raise ArgumentValueError("rate_limit_retries must be >= 0")
        self._sync_items: Iterator[ItemT] | None = None
        self._async_items: AsyncIterator[ItemT] | None = None
        if isinstance(items, AsyncIterable):
            self._async_items = aiter(items)
        elif isinstance(items, Iterable):
            self._sync_items = iter(items)
        else:
            raise ArgumentTypeError(
                f"items must be an iterable or an async iterable, got {type(items).__name__}"
            )
        if total is None and isinstance(items, Sized):
            total = len(items)
        self.total = total
        self.concurrency = concurrency
        self._ordered = ordered
        self._defaults = dict(defaults)
        self._progress = progress
        self._policy = policy
        self._rate_limit_retries = rate_limit_retries
        self._window = WINDOW_PER_WORKER * concurrency
        self.limits = rate_limits if rate_limits is not None else LocalRateLimits()
        self._key = key
        self.pauses = 0
        self.paused_seconds = 0.0

        self.done = 0
        self.failed = 0
        self._next_index = 0
        self._exhausted = False
        self._fatal: Exception | None = None
        self._outstanding = 0  # pulled from the input, not yet handed out
        self._ready: deque[CheckResult[ItemT]] = deque()
        self._pending: dict[int, CheckResult[ItemT]] = {}  # ordered: waiting for earlier ones
        self._next_out = 0
        # Event-loop objects exist only while a run is going on: the sync batch runs each
        # round in an event loop of its own.
        self._changed: anyio.Event | None = None
        self._pull_lock: anyio.Lock | None = None

    # -- what the drivers use --------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Every item has been pulled, checked and handed out."""
        return self._exhausted and self._outstanding == 0

    def take(self) -> CheckResult[ItemT] | None:
        """The next result to hand out, if there is one."""
        if not self._ready:
            return None
        self._outstanding -= 1
        self._pulse()
        return self._ready.popleft()

    def raise_fatal(self) -> None:
        """Raise the input's (or the progress callback's) error, once, if there was one."""
        if self._fatal is not None:
            error, self._fatal = self._fatal, None
            raise error

    def open(self) -> None:
        """Create what a run waits on; called in the event loop that runs it."""
        self._changed = anyio.Event()
        self._pull_lock = anyio.Lock()

    def close(self) -> None:
        self._changed = None
        self._pull_lock = None

    async def wait_for_change(self) -> None:
        """Sleep until a result completes, one is handed out or the input ends."""
        assert self._changed is not None, "the batch is not running"
        await self._changed.wait()

    async def run_round(self, send: Send) -> None:
        """Fill the window and drain it: on return, nothing is in flight."""
        self.open()
        try:
            await self.run(send, wait_for_room=False)
        finally:
            self.close()

    async def run(self, send: Send, *, wait_for_room: bool) -> None:
        """Run the workers until the input ends (or, without ``wait_for_room``, until the
        window is full)."""
        async with anyio.create_task_group() as tg:
            for _ in range(self.concurrency):
                tg.start_soon(self._work, send, wait_for_room)
        self._pulse()

    # -- the workers -----------------------------------------------------------------

    def _pulse(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = anyio.Event()

    async def _work(self, send: Send, wait_for_room: bool) -> None:
        while not self._exhausted:
            if self._outstanding >= self._window:
                if not wait_for_room:
                    return
                await self.wait_for_change()
                continue
            pulled = await self._pull()
            if pulled is None:
                return
            index, item = pulled
            self._complete(await self._check(send, index, item))

    async def _pull(self) -> tuple[int, ItemT] | None:
        self._outstanding += 1  # reserved before awaiting, so the window holds
        try:
            if self._sync_items is not None:
                item = next(self._sync_items)
                index = self._next_index
                self._next_index += 1
                return index, item
            assert self._async_items is not None and self._pull_lock is not None
            async with self._pull_lock:
                if self._exhausted:
                    raise StopAsyncIteration
                item = await anext(self._async_items)
                index = self._next_index
                self._next_index += 1
                return index, item
        except (StopIteration, StopAsyncIteration):
            self._end_input(None)
        except Exception as exc:  # noqa: BLE001 - the input's own error: raised to the consumer
            self._end_input(exc)
        except BaseException:
            self._outstanding -= 1
            raise
        return None

    def _end_input(self, error: Exception | None) -> None:
        self._outstanding -= 1
        self._exhausted = True
        if error is not None and self._fatal is None:
            self._fatal = error
        self._pulse()

    async def _check(self, send: Send, index: int, item: ItemT) -> CheckResult[ItemT]:
        try:
            kwargs = self._kwargs(item)
        except (TypeError, ValueError) as exc:
            return CheckResult(index, item, error=exc)
        rate_limited = 0
        limits, key = self.limits, self._key
        while True:
            await limits.acquire(key)
            try:
                response = await send(kwargs)
            except RateLimitError as exc:
                delay = self._policy.delay(
                    rate_limited,
                    self._rate_limit_retries,
                    status=429,
                    headers=exc.headers,
                    unrecoverable=exc.unrecoverable,
                )
                paused = await limits.report(key, 429, exc.headers, pause=delay)
                if delay is None:
                    return CheckResult(index, item, error=exc, rate_limited=rate_limited + 1)
                rate_limited += 1
                if paused.added > 0:
                    logger.info("rate limited: pausing the batch for %.2f s", delay)
                self.pauses += paused.started
                self.paused_seconds += paused.added
            except APIStatusError as exc:
                await limits.report(key, exc.status_code, exc.headers)
                return CheckResult(index, item, error=exc, rate_limited=rate_limited)
            except (StreamError, TypeError, ValueError) as exc:
                return CheckResult(index, item, error=exc, rate_limited=rate_limited)
            else:
                await limits.report(key, response.status_code, response.headers)
                return CheckResult(index, item, response=response, rate_limited=rate_limited)

    def _kwargs(self, item: ItemT) -> dict[str, Any]:
        if isinstance(item, CheckItem):
            own = item.to_kwargs()
        elif isinstance(item, Mapping):
            own = dict(item)
        else:
            raise ArgumentTypeError(
                f"expected a CheckItem or a mapping of check() arguments, got {type(item).__name__}"
            )
        return {**self._defaults, **own}

    def _complete(self, result: CheckResult[ItemT]) -> None:
        self.done += 1
        if result.error is not None:
            self.failed += 1
        if self._ordered:
            self._pending[result.index] = result
            while self._next_out in self._pending:
                self._ready.append(self._pending.pop(self._next_out))
                self._next_out += 1
        else:
            self._ready.append(result)
        if self._progress is not None:
            # A failing callback stops the batch: its error reaches the consumer once the
            # results already completed have been handed out.
            try:
                self._progress(self.done, self.total, result)
            except Exception as exc:  # noqa: BLE001 - raised to the consumer; the batch stops
                self._exhausted = True
                if self._fatal is None:
                    self._fatal = exc
        self._pulse()


class _BatchView(Generic[ItemT]):
    """Counters of a batch, the same on both drivers."""

    _batch: _Batch[ItemT]

    @property
    def total(self) -> int | None:
        """The number of items, when known."""
        return self._batch.total

    @property
    def done(self) -> int:
        """Items checked so far (successes and failures)."""
        return self._batch.done

    @property
    def failed(self) -> int:
        """Items that ended with an error so far."""
        return self._batch.failed

    @property
    def pauses(self) -> int:
        """How many times a 429 of this batch paused its key (which was not paused)."""
        return self._batch.pauses

    @property
    def paused_seconds(self) -> float:
        """For how long, in total, this batch's 429s paused its key."""
        return self._batch.paused_seconds


class _State(enum.Enum):
    """Where an ``AsyncCheckBatch`` is in its life (the way httpx's ``ClientState`` is)."""

    NEW = "new"
    """Neither entered nor iterated yet."""
    ROUNDS = "rounds"
    """Iterated outside ``async with``: requests run in rounds, while the loop waits."""
    BLOCK = "block"
    """Entered with ``async with``: requests run for the whole block."""
    CLOSED = "closed"
    """The block was left, or a round failed or was cancelled: no more results."""


class AsyncCheckBatch(_BatchView[ItemT]):
    """The results of ``check_many`` on ``AsyncStream``, one ``CheckResult`` per item.

    ``async for result in batch`` (requests run while the loop waits for the next result),
    or ``async with batch as results: async for result in results`` (requests run for the
    whole block, also while the loop body runs: the higher throughput when it awaits).
    """

    def __init__(self, batch: _Batch[ItemT], send: Send) -> None:
        self._batch = batch
        self._send = send
        self._task_group: TaskGroup | None = None
        self._state = _State.NEW

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise RuntimeError("a check_many batch is entered once, before iterating it")
        self._state = _State.BLOCK
        self._batch.open()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(functools.partial(self._batch.run, self._send, wait_for_room=True))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, self._task_group = self._task_group, None
        self._state = _State.CLOSED
        assert task_group is not None
        task_group.cancel_scope.cancel()
        try:
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                await task_group.__aexit__(exc_type, exc, tb)
            else:
                # The block's own error propagates as it is, not in an exception group.
                await task_group.__aexit__(None, None, None)
        finally:
            self._batch.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> CheckResult[ItemT]:
        batch = self._batch
        if self._state is _State.NEW:
            self._state = _State.ROUNDS
        elif self._state is _State.CLOSED:
            raise RuntimeError("this check_many batch was closed or cancelled")
        while True:
            result = batch.take()
            if result is not None:
                return result
            if batch.finished:
                batch.raise_fatal()
                raise StopAsyncIteration
            if self._state is _State.BLOCK:
                await batch.wait_for_change()
                continue
            try:
                await batch.run_round(self._send)
            except BaseException:
                self._state = _State.CLOSED
                raise


class CheckBatch(_BatchView[ItemT]):
    """The results of ``check_many`` on ``Stream``, one ``CheckResult`` per item.

    ``for result in batch``. Each time results are needed, a round runs in an event loop of
    its own in the calling thread (requests go out from worker threads through the sync
    client); between iterations nothing is in flight, so breaking out of the loop leaves
    nothing running. Also a context manager, for symmetry with the async batch.
    """

    def __init__(self, batch: _Batch[ItemT], send: SyncSend) -> None:
        self._batch = batch
        self._send = send
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop: later iterations raise. (Nothing runs between iterations anyway.)"""
        self._closed = True

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> CheckResult[ItemT]:
        batch = self._batch
        if self._closed:
            raise RuntimeError("this check_many batch was closed or interrupted")
        while True:
            result = batch.take()
            if result is not None:
                return result
            if batch.finished:
                batch.raise_fatal()
                raise StopIteration
            try:
                _run_in_own_loop(self._round)
            except BaseException:
                self._closed = True
                raise

    async def _round(self) -> None:
        limiter = anyio.CapacityLimiter(self._batch.concurrency)
        send_blocking = self._send

        async def send(kwargs: dict[str, Any]) -> StreamResponse[CheckResponse]:
            call = functools.partial(send_blocking, kwargs)
            return await anyio.to_thread.run_sync(call, limiter=limiter)

        await self._batch.run_round(send)


def _run_in_own_loop(func: Callable[[], Awaitable[None]]) -> None:
    """``anyio.run(func)``; from a thread already running an event loop (a notebook), in a
    helper thread, since a second loop cannot run in that thread."""
    if not _event_loop_running():
        anyio.run(func)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="stream-moderation-batch") as pool:
        pool.submit(anyio.run, func).result()


def _event_loop_running() -> bool:
    # Looked up rather than imported: no loop of a library that was never imported runs,
    # and the sync client need not pay for importing asyncio.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return True
    trio = sys.modules.get("trio")
    return trio is not None and bool(trio.lowlevel.in_trio_run())


def new_batch(
    items: Iterable[ItemT] | AsyncIterable[ItemT],
    *,
    concurrency: int,
    config_key: str | None,
    ordered: bool,
    defaults: Mapping[str, Any] | None,
    progress: Callable[[int, int | None, CheckResult[ItemT]], object] | None,
    total: int | None,
    policy: RetryPolicy,
    rate_limit_retries: int,
    rate_limits: RateLimitCoordinator | None = None,
    key: str = "check",
) -> _Batch[ItemT]:
    """The state of a new batch; the resource wraps it in the driver of its client."""
    merged = dict(defaults or {})
    if config_key is not None:
        merged["config_key"] = config_key
    return _Batch(
        items,
        concurrency=concurrency,
        ordered=ordered,
        defaults=merged,
        progress=progress,
        total=total,
        policy=policy,
        rate_limit_retries=rate_limit_retries,
        rate_limits=rate_limits,
        key=key,
    )
