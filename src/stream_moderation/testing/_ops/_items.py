"""Review queue items: creating or updating the item of an entity, and the events that go
with it. Used by check, custom_check, flag and submit_action.
"""

from __future__ import annotations

from typing import Any

from .._render import render_flag, render_item, render_log
from .._state import ActionLog, Flag, ReviewItem
from . import Call

__all__ = ["ACTION_ORDER", "add_to_queue", "item_event", "more_severe", "new_flag"]

ACTION_ORDER = {"keep": 0, "flag": 1, "remove": 2}


def more_severe(a: str, b: str) -> str:
    return a if ACTION_ORDER.get(a, 1) >= ACTION_ORDER.get(b, 1) else b


def new_flag(
    call: Call,
    *,
    flag_type: str,
    entity_type: str,
    entity_id: str,
    user_id: str,
    entity_creator_id: str | None = None,
    reason: str | None = None,
    labels: list[str] | None = None,
    result: list[dict[str, Any]] | None = None,
    custom: dict[str, Any] | None = None,
    moderation_payload: dict[str, Any] | None = None,
) -> Flag:
    return Flag(
        id=call.new_id(),
        type=flag_type,
        entity_type=entity_type,
        entity_id=entity_id,
        user_id=user_id,
        created_at=call.now,
        updated_at=call.now,
        seq=call.state.next_seq(),
        entity_creator_id=entity_creator_id,
        reason=reason,
        labels=list(labels or []),
        result=list(result or []),
        custom=custom,
        moderation_payload=moderation_payload,
    )


def add_to_queue(
    call: Call,
    *,
    entity_type: str,
    entity_id: str,
    entity_creator_id: str | None,
    recommended_action: str,
    flags: list[Flag],
    moderation_payload: dict[str, Any] | None = None,
    config_key: str | None = None,
    teams: list[str] | None = None,
    severity: int = 0,
    ai_text_severity: str = "",
    channel_cid: str | None = None,
) -> tuple[ReviewItem, bool]:
    """The item of the entity, created or updated with new flags; True when it is new.

    A new flag on an item a moderator already reviewed puts it back in the inbox
    (``reviewed_at``/``reviewed_by``/``completed_at`` are cleared).
    """
    state = call.state
    item = state.item_for(entity_type, entity_id)
    created = item is None
    if item is None:
        item = ReviewItem(
            id=call.new_id(),
            entity_type=entity_type,
            entity_id=entity_id,
            created_at=call.now,
            updated_at=call.now,
            seq=state.next_seq(),
            recommended_action=recommended_action,
            entity_creator_id=entity_creator_id,
        )
        state.items[item.id] = item
        state.items_by_entity[(entity_type, entity_id)] = item.id
    else:
        item.updated_at = call.now
        item.recommended_action = more_severe(item.recommended_action, recommended_action)
        if flags and item.reviewed_at is not None:
            item.reviewed_at = None
            item.reviewed_by = ""
            item.completed_at = None
    if entity_creator_id and not item.entity_creator_id:
        item.entity_creator_id = entity_creator_id
    if moderation_payload:
        item.moderation_payload = dict(moderation_payload)
        if moderation_payload.get("texts") and not item.languages:
            item.languages = ["en"]
    if config_key:
        item.config_key = config_key
    if channel_cid:
        item.channel_cid = channel_cid
    if teams:
        item.teams = sorted(set(item.teams) | set(teams))
    item.severity = max(item.severity, severity)
    if ai_text_severity:
        item.ai_text_severity = ai_text_severity
    for flag in flags:
        flag.review_queue_item_id = item.id
        item.flags.append(flag)
        state.flags.append(flag)
        if item.entity_creator_id:
            counts = state.flag_counts
            counts[item.entity_creator_id] = counts.get(item.entity_creator_id, 0) + 1
    return item, created


def item_event(
    call: Call,
    item: ReviewItem,
    *,
    created: bool,
    flags: list[Flag] | None = None,
    action: ActionLog | None = None,
) -> None:
    """Queue review_queue_item.new (first time) or .updated, with the new flags/action."""
    state, now = call.state, call.now
    payload: dict[str, Any] = {"review_queue_item": render_item(item, state, now)}
    payload["flags"] = [render_flag(flag, state, now) for flag in flags or []]
    if action is not None:
        payload["action"] = render_log(action, state, now)
    call.event("review_queue_item.new" if created else "review_queue_item.updated", payload)
