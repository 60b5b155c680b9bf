"""The review queue, flags and the moderation log."""

from __future__ import annotations

from typing import Any

from .._errors import input_error, not_found
from .._query import Field, Query
from .._render import render_flag, render_item, render_log
from .._state import ActionLog, Flag, ReviewItem
from . import Call, handler
from ._items import add_to_queue, item_event, new_flag
from ._paging import page_of, with_cursors
from .configs import action_configs, default_action_configs

__all__ = [
    "FLAGS",
    "LOGS",
    "REVIEW_QUEUE",
    "flag",
    "flag_entity",
    "get_flag_count",
    "get_review_queue_item",
    "insert_action_log",
    "query_moderation_flags",
    "query_moderation_logs",
    "query_review_queue",
]

DEFAULT_LOCK_MINUTES = 5
_MINUTE_NS = 60 * 1_000_000_000


def _payload_has(item: ReviewItem, kind: str) -> bool:
    return bool((item.moderation_payload or {}).get(kind))


def _labels(item: ReviewItem) -> list[str]:
    return sorted({label for flag in item.flags for label in flag.labels})


REVIEW_QUEUE: Query[ReviewItem] = Query(
    name="the review queue",
    fields={
        "id": Field("string", lambda i: i.id),
        "created_at": Field("time", lambda i: i.created_at),
        "updated_at": Field("time", lambda i: i.updated_at),
        "status": Field("string", lambda i: i.status),
        "entity_type": Field("string", lambda i: i.entity_type),
        "entity_id": Field("string", lambda i: i.entity_id),
        "entity_creator_id": Field("string", lambda i: i.entity_creator_id),
        "recommended_action": Field("string", lambda i: i.recommended_action),
        "latest_moderator_action": Field("string", lambda i: i.latest_moderator_action),
        "reviewed": Field("bool", lambda i: i.reviewed_at is not None),
        "reviewed_by": Field("string", lambda i: i.reviewed_by),
        "reviewed_at": Field("time", lambda i: i.reviewed_at),
        "completed_at": Field("time", lambda i: i.completed_at),
        "has_text": Field("bool", lambda i: _payload_has(i, "texts")),
        "has_image": Field("bool", lambda i: _payload_has(i, "images")),
        "has_video": Field("bool", lambda i: _payload_has(i, "videos")),
        "config_key": Field("string", lambda i: i.config_key),
        "teams": Field("list", lambda i: i.teams, sortable=False),
        "labels": Field("list", _labels, sortable=False),
        "escalated": Field("bool", lambda i: i.escalated),
        "escalated_by": Field("string", lambda i: i.escalated_by),
        "severity": Field("number", lambda i: i.severity),
        "ai_text_severity": Field("string", lambda i: i.ai_text_severity),
        "flags_count": Field("number", lambda i: len(i.flags)),
        "assigned_to": Field("string", lambda i: i.assigned_to),
        "has_appeal": Field("bool", lambda i: i.appeal_id is not None),
    },
    default_sort=(("created_at", -1),),
    seq=lambda i: i.seq,
)


def _locked_by_other(item: ReviewItem, user_id: str | None, now: int) -> bool:
    return (
        item.assigned_to is not None
        and item.assigned_to != user_id
        and item.lock_expires is not None
        and item.lock_expires > now
    )


def _stats(items: list[ReviewItem]) -> dict[str, Any]:
    by_action: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for item in items:
        by_action[item.recommended_action] = by_action.get(item.recommended_action, 0) + 1
        by_type[item.entity_type] = by_type.get(item.entity_type, 0) + 1
    reviewed = sum(1 for item in items if item.reviewed_at is not None)
    return {
        "total": len(items),
        "reviewed": reviewed,
        "unreviewed": len(items) - reviewed,
        "escalated": sum(1 for item in items if item.escalated),
        "by_recommended_action": by_action,
        "by_entity_type": by_type,
    }


def _filter_config(call: Call) -> dict[str, Any]:
    llm: set[str] = set()
    text: set[str] = set()
    for config in call.state.configs.values():
        for rule in (config.sections.get("llm_config") or {}).get("rules") or []:
            llm.add(str(rule.get("label")))
        for name in ("ai_text_config", "bodyguard_config"):
            for rule in (config.sections.get(name) or {}).get("rules") or []:
                text.add(str(rule.get("label")))
    return {
        "llm_labels": sorted(llm),
        "ai_text_labels": sorted(text),
        "config_keys": sorted({key for key, _ in call.state.configs}),
    }


@handler("query_review_queue")
def query_review_queue(call: Call) -> dict[str, Any]:
    body, state, now = call.body, call.state, call.now
    lock = body.get("lock_items")
    user_id = call.acting_user()
    if lock is not None and user_id is None:
        raise input_error("lock_items needs the moderator's user_id", {"user_id": "required"})
    records: list[ReviewItem] = list(state.items.values())
    if lock:
        records = [item for item in records if not _locked_by_other(item, user_id, now)]
    page = page_of(call, REVIEW_QUEUE, records)
    items = page.records
    if lock:
        items = items[: body.get("lock_count") or len(items)]
        minutes = body.get("lock_duration") or DEFAULT_LOCK_MINUTES
        for item in items:
            item.assigned_to = user_id
            item.lock_expires = now + minutes * _MINUTE_NS
    elif lock is False:
        for item in items:
            if item.assigned_to == user_id:
                item.assigned_to = None
                item.lock_expires = None
    if body.get("stats_only"):
        items = []
    entity_types = sorted({item.entity_type for item in items})
    out: dict[str, Any] = {
        "items": [render_item(item, state, now) for item in items],
        "stats": _stats(page.matched),
        "action_config": action_configs(
            call, entity_types, include_defaults=not body.get("exclude_default_action_config")
        ),
        "default_action_config": default_action_configs(entity_types),
        "filter_config": _filter_config(call),
    }
    return with_cursors(out, page)


@handler("get_review_queue_item")
def get_review_queue_item(call: Call) -> dict[str, Any]:
    item = call.state.items.get(call.path["id"])
    if item is None:
        raise not_found(f"review queue item {call.path['id']!r}", {"id": "no item with this id"})
    return {"item": render_item(item, call.state, call.now)}


# ---------------------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------------------


def flag_entity(call: Call, spec: dict[str, Any], reporter: str) -> tuple[ReviewItem, Flag]:
    """Add a user's or moderator's flag to the entity's review queue item."""
    entity_type, entity_id = spec["entity_type"], spec["entity_id"]
    creator = spec.get("entity_creator_id")
    if creator is None and entity_type == "stream:user":
        creator = entity_id
    message = call.state.messages.get(entity_id) if "message" in entity_type else None
    if message is not None:  # a message sent through the chat surface: its author and text
        creator = creator or message.user_id
        if spec.get("moderation_payload") is None:
            text = (message.moderation or {}).get("original_text", message.text)
            spec = {**spec, "moderation_payload": {"texts": [text]} if text else {}}
    if creator:
        call.state.user(creator, call.now)
    flag = new_flag(
        call,
        flag_type="flag",
        entity_type=entity_type,
        entity_id=entity_id,
        user_id=reporter,
        entity_creator_id=creator,
        reason=spec.get("reason"),
        result=[{"engine": "user_flag", "reason": spec.get("reason") or ""}],
        custom=spec.get("custom"),
        moderation_payload=spec.get("moderation_payload"),
    )
    item, created = add_to_queue(
        call,
        entity_type=entity_type,
        entity_id=entity_id,
        entity_creator_id=creator,
        recommended_action="flag",
        flags=[flag],
        moderation_payload=spec.get("moderation_payload"),
    )
    log = call.log(
        "flag",
        user_id=reporter,
        target_user_id=creator,
        reporter_type="user" if not call.caller.is_server else "moderator",
        reason=spec.get("reason"),
        custom=spec.get("custom"),
        entity=(entity_type, entity_id),
        item_id=item.id,
    )
    item.actions.append(log)
    item_event(call, item, created=created, flags=[flag], action=log)
    return item, flag


@handler("flag")
def flag(call: Call) -> dict[str, Any]:
    reporter = call.require_user("to flag server-side: the user who reports the content")
    item, _ = flag_entity(call, call.body, reporter)
    return {"item_id": item.id}


FLAGS: Query[Flag] = Query(
    name="moderation flags",
    fields={
        "entity_type": Field("string", lambda f: f.entity_type),
        "entity_id": Field("string", lambda f: f.entity_id),
        "entity_creator_id": Field("string", lambda f: f.entity_creator_id),
        "user_id": Field("string", lambda f: f.user_id),
        "type": Field("string", lambda f: f.type),
        "reason": Field("string", lambda f: f.reason),
        "labels": Field("list", lambda f: f.labels, sortable=False),
        "review_queue_item_id": Field("string", lambda f: f.review_queue_item_id),
        "created_at": Field("time", lambda f: f.created_at),
        "updated_at": Field("time", lambda f: f.updated_at),
    },
    default_sort=(("created_at", -1),),
    seq=lambda f: f.seq,
)


@handler("query_moderation_flags")
def query_moderation_flags(call: Call) -> dict[str, Any]:
    page = page_of(call, FLAGS, call.state.flags)
    flags = [render_flag(f, call.state, call.now) for f in page.records]
    return with_cursors({"flags": flags}, page)


@handler("get_flag_count")
def get_flag_count(call: Call) -> dict[str, Any]:
    creator = call.body["entity_creator_id"]
    entity_type = call.body.get("entity_type")
    count = sum(
        1
        for f in call.state.flags
        if f.entity_creator_id == creator and (entity_type is None or f.entity_type == entity_type)
    )
    return {"count": count}


# ---------------------------------------------------------------------------------------
# Moderation log
# ---------------------------------------------------------------------------------------

LOGS: Query[ActionLog] = Query(
    name="moderation logs",
    fields={
        "id": Field("string", lambda a: a.id),
        "type": Field("string", lambda a: a.type),
        "user_id": Field("string", lambda a: a.user_id),
        "target_user_id": Field("string", lambda a: a.target_user_id),
        "reporter_type": Field("string", lambda a: a.reporter_type),
        "entity_type": Field("string", lambda a: a.entity_type),
        "entity_id": Field("string", lambda a: a.entity_id),
        "review_queue_item_id": Field("string", lambda a: a.review_queue_item_id),
        "created_at": Field("time", lambda a: a.created_at),
    },
    default_sort=(("created_at", -1),),
    seq=lambda a: a.seq,
)


@handler("query_moderation_logs")
def query_moderation_logs(call: Call) -> dict[str, Any]:
    page = page_of(call, LOGS, call.state.logs)
    logs = [render_log(log, call.state, call.now) for log in page.records]
    return with_cursors({"logs": logs}, page)


@handler("insert_action_log")
def insert_action_log(call: Call) -> dict[str, Any]:
    body = call.body
    entity = (body["entity_type"], body["entity_id"])
    reporter = body.get("reporter_user_id") or None
    if reporter:
        call.state.user(reporter, call.now)
    call.state.user(body["entity_creator_id"], call.now)
    item = call.state.item_for(*entity)
    log = call.log(
        body["action_type"],
        user_id=reporter,
        target_user_id=body["entity_creator_id"],
        reporter_type=body.get("reporter_type") or ("moderator" if reporter else "api_integration"),
        reason=body.get("reason"),
        custom=body.get("custom"),
        entity=entity,
        item_id=item.id if item else None,
    )
    if item is not None:
        item.actions.append(log)
    return {}
