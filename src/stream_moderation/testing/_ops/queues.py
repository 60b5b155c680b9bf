"""Queues: saved views of the review queue (a name, ``filters`` and ``sort``).

Their filters and sort are those of ``query_review_queue`` and run on the same engine
(``REVIEW_QUEUE``), so a filter the review queue refuses is refused here too (400 naming
``filters.<key>``), and ``item_count`` is live: the items matching the filters now.
A ``personal_view`` is listed for its creator only; an ``operational_queue`` for everyone.
Names are unique per app among the queues that exist.
"""

from __future__ import annotations

from typing import Any

from .._errors import EmulatorError, input_error, not_found
from .._query import run_query
from .._state import Queue
from .._wire import ts
from . import Call, handler
from .queue import REVIEW_QUEUE

__all__ = ["create_queue", "delete_queue", "get_queue", "list_queues", "update_queue"]

QUEUE_TYPES = ("personal_view", "operational_queue")


def _matching(call: Call, queue: Queue) -> int:
    page = run_query(
        REVIEW_QUEUE, call.state.items.values(), filter=queue.filters, sort=queue.sort, limit=1
    )
    return len(page.matched)


def _validate(call: Call, filters: dict[str, Any], sort: list[dict[str, Any]]) -> None:
    """Run the filters and sort once, as query_review_queue would: errors name the field."""
    try:
        run_query(REVIEW_QUEUE, (), filter=filters, sort=sort, limit=1)
    except EmulatorError as error:
        fields = {
            ("filters" + key[len("filter") :] if key.startswith("filter") else key): reason
            for key, reason in error.fields.items()
        }
        message = error.message.replace("filter.", "filters.", 1)
        raise EmulatorError(error.status, error.code, message, fields=fields) from None


def render_queue(call: Call, queue: Queue) -> dict[str, Any]:
    return {
        "id": queue.id,
        "name": queue.name,
        "type": queue.type,
        "filters": dict(queue.filters),
        "sort": [dict(entry) for entry in queue.sort],
        "description": queue.description,
        "item_count": _matching(call, queue),
        "created_by": queue.created_by,
        "created_at": ts(queue.created_at),
        "updated_at": ts(queue.updated_at),
    }


def _unique_name(call: Call, name: str, other_than: str | None = None) -> None:
    if not name.strip():
        raise input_error("name must not be empty", {"name": "must not be empty"})
    for queue in call.state.queues.values():
        if queue.name == name and queue.id != other_than:
            raise input_error(
                f"a queue named {name!r} already exists ({queue.id})", {"name": "already taken"}
            )


def _queue(call: Call) -> Queue:
    queue = call.state.queues.get(call.path["id"])
    if queue is None:
        raise not_found(f"queue {call.path['id']!r}", {"id": "no queue with this id"})
    return queue


@handler("create_queue")
def create_queue(call: Call) -> dict[str, Any]:
    body = call.body
    if body["type"] not in QUEUE_TYPES:  # an enum value a later release may add
        raise input_error(
            f"type must be one of {', '.join(QUEUE_TYPES)}", {"type": f"got {body['type']!r}"}
        )
    _unique_name(call, body["name"])
    filters, sort = dict(body.get("filters") or {}), list(body.get("sort") or [])
    _validate(call, filters, sort)
    queue = Queue(
        id=call.new_id(),
        name=body["name"],
        type=body["type"],
        filters=filters,
        sort=sort,
        description=body.get("description") or "",
        created_by=call.acting_user() or "",
        created_at=call.now,
        updated_at=call.now,
        seq=call.state.next_seq(),
    )
    call.state.queues[queue.id] = queue
    return {"queue": render_queue(call, queue)}


def _visible(queue: Queue, user_id: str | None) -> bool:
    return queue.type != "personal_view" or user_id is None or queue.created_by == user_id


@handler("list_queues")
def list_queues(call: Call) -> dict[str, Any]:
    user_id = call.query.get("user_id") or None
    queues = sorted(call.state.queues.values(), key=lambda q: (q.created_at, q.seq))
    return {"queues": [render_queue(call, q) for q in queues if _visible(q, user_id)]}


@handler("get_queue")
def get_queue(call: Call) -> dict[str, Any]:
    return {"queue": render_queue(call, _queue(call))}


@handler("update_queue")
def update_queue(call: Call) -> dict[str, Any]:
    queue, body = _queue(call), call.body
    if body.get("name") is not None:
        _unique_name(call, body["name"], other_than=queue.id)
    filters = dict(body["filters"]) if body.get("filters") is not None else queue.filters
    sort = list(body["sort"]) if body.get("sort") is not None else queue.sort
    _validate(call, filters, sort)
    call.acting_user()
    queue.name = body.get("name") or queue.name
    if body.get("description") is not None:
        queue.description = body["description"]
    queue.filters, queue.sort = filters, sort
    queue.updated_at = call.now
    return {"queue": render_queue(call, queue)}


@handler("delete_queue")
def delete_queue(call: Call) -> dict[str, Any]:
    queue = _queue(call)
    call.acting_user()
    rendered = render_queue(call, queue)
    del call.state.queues[queue.id]
    return {"queue": rendered}
