"""Appeals: a content author or a banned user asks for a decision to be reversed."""

from __future__ import annotations

from typing import Any

from .._errors import input_error, not_allowed, not_found
from .._query import Field, Query
from .._render import render_appeal
from .._state import Appeal
from . import Call, handler
from ._paging import page_of, with_cursors

__all__ = ["APPEALS", "appeal", "get_appeal", "query_appeals"]


@handler("appeal")
def appeal(call: Call) -> dict[str, Any]:
    body, state, now = call.body, call.state, call.now
    entity_type, entity_id = body["entity_type"], body["entity_id"]
    item = state.item_for(entity_type, entity_id)
    if entity_type == "stream:user":
        if not state.active_bans(entity_id, now):
            raise input_error(
                f"user {entity_id!r} is not banned: a user appeal needs a ban",
                {"entity_id": "no active ban for this user"},
            )
        author = entity_id
    else:
        if item is None:
            raise not_found(
                f"review queue item for {entity_type} {entity_id!r}",
                {"entity_id": "an appeal needs content that is in the review queue"},
            )
        author = item.entity_creator_id or ""
    appellant = call.acting_user() or author
    if appellant != author:
        whose = "the banned user" if entity_type == "stream:user" else "the content's author"
        raise not_allowed(f"only {whose} ({author!r}) may appeal, not {appellant!r}")
    for other in state.appeals.values():
        if (other.entity_type, other.entity_id) == (entity_type, entity_id) and (
            other.status == "submitted"
        ):
            raise input_error(
                f"an appeal for {entity_type} {entity_id!r} is already pending ({other.id})",
                {"entity_id": "appeal already pending"},
            )
    state.user(appellant, now)
    record = Appeal(
        id=call.new_id(),
        user_id=appellant,
        entity_type=entity_type,
        entity_id=entity_id,
        appeal_reason=body["appeal_reason"],
        created_at=now,
        updated_at=now,
        seq=state.next_seq(),
        attachments=list(body.get("attachments") or []),
        entity_content=dict(item.moderation_payload) if item and item.moderation_payload else None,
        review_queue_item_id=item.id if item else None,
    )
    state.appeals[record.id] = record
    if item is not None:
        item.appeal_id = record.id
        item.updated_at = now
    call.event("appeal.created", {"appeal": render_appeal(record, state, now)})
    return {"appeal_id": record.id}


@handler("get_appeal")
def get_appeal(call: Call) -> dict[str, Any]:
    record = call.state.appeals.get(call.path["id"])
    if record is None:
        raise not_found(f"appeal {call.path['id']!r}", {"id": "no appeal with this id"})
    if call.caller.user_id is not None and call.caller.user_id != record.user_id:
        raise not_allowed("a user may only read their own appeals")
    return {"item": render_appeal(record, call.state, call.now)}


APPEALS: Query[Appeal] = Query(
    name="appeals",
    fields={
        "id": Field("string", lambda a: a.id),
        "status": Field("string", lambda a: a.status),
        "entity_type": Field("string", lambda a: a.entity_type),
        "entity_id": Field("string", lambda a: a.entity_id),
        "user_id": Field("string", lambda a: a.user_id),
        "created_at": Field("time", lambda a: a.created_at),
        "updated_at": Field("time", lambda a: a.updated_at),
    },
    default_sort=(("created_at", -1),),
    seq=lambda a: a.seq,
)


@handler("query_appeals")
def query_appeals(call: Call) -> dict[str, Any]:
    page = page_of(call, APPEALS, call.state.appeals.values())
    items = [render_appeal(a, call.state, call.now) for a in page.records]
    return with_cursors({"items": items}, page)
