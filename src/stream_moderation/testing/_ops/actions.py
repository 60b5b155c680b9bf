"""submit_action: a moderator acts on a review queue item (or directly on a user/entity).

Every action is recorded in the moderation log and in the item's ``actions``, sets the
item's ``latest_moderator_action`` (except ``flag``), and all but ``flag``, ``escalate``,
``de_escalate``, ``custom`` and ``bypass`` mark the item reviewed (``reviewed_at``,
``reviewed_by``, ``completed_at``). With an ``appeal_id``, ``restore``, ``unban``,
``unblock`` and ``mark_reviewed`` accept the appeal and ``reject_appeal`` rejects it.
``bulk_action_appeals`` runs the same path once per appeal.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._errors import EmulatorError, input_error, not_found
from .._render import render_appeal, render_item
from .._state import Appeal, ReviewItem
from . import Call, handler
from ._items import item_event
from .queue import flag_entity
from .users import apply_ban, delete_user_content, lift_bans

__all__ = ["ACTION_TYPES", "bulk_action_appeals", "submit_action"]

NOT_REVIEWING = frozenset({"flag", "escalate", "de_escalate", "custom", "bypass"})
ACCEPTS_APPEAL = frozenset({"restore", "unban", "unblock", "mark_reviewed"})
DELETES = frozenset({"delete_message", "delete_activity", "delete_comment", "delete_reaction"})
NEEDS_ITEM = frozenset(
    {
        "flag",
        "mark_reviewed",
        "unban",
        "restore",
        "unblock",
        "block",
        "shadow_block",
        "unmask",
        "kick_user",
        "end_call",
        "escalate",
        "de_escalate",
        "bypass",
        "custom",
    }
)
PRIORITIES = ("low", "medium", "high")
ACTION_TYPES = frozenset(
    {
        *NOT_REVIEWING,
        *ACCEPTS_APPEAL,
        *DELETES,
        *NEEDS_ITEM,
        "ban",
        "delete_user",
        "delete_user_messages",
        "reject_appeal",
    }
)
"""The action types the emulator has semantics for (any other is refused with a 400)."""


def _target_user(item: ReviewItem | None) -> str | None:
    if item is None:
        return None
    if item.entity_type == "stream:user":
        return item.entity_id
    return item.entity_creator_id


def _require_target(item: ReviewItem | None, action: str) -> str:
    target = _target_user(item)
    if target is None:
        raise input_error(
            f"{action} needs a user: the item has no entity_creator_id",
            {"item_id": "item without a user"},
        )
    return target


def _appeal(call: Call, action: str) -> Appeal | None:
    appeal_id = call.body.get("appeal_id")
    if appeal_id is None:
        if action == "reject_appeal":
            raise input_error("reject_appeal needs appeal_id", {"appeal_id": "required"})
        return None
    appeal = call.state.appeals.get(appeal_id)
    if appeal is None:
        raise not_found(f"appeal {appeal_id!r}", {"appeal_id": "no appeal with this id"})
    if action in ACCEPTS_APPEAL | {"reject_appeal"} and appeal.status != "submitted":
        raise input_error(
            f"appeal {appeal_id!r} was already {appeal.status}", {"appeal_id": appeal.status}
        )
    return appeal


def _item(
    call: Call, action: str, payload: dict[str, Any], appeal: Appeal | None
) -> ReviewItem | None:
    state = call.state
    item_id = call.body.get("item_id")
    if item_id is not None:
        item = state.items.get(item_id)
        if item is None:
            raise not_found(f"review queue item {item_id!r}", {"item_id": "no item with this id"})
        return item
    if action in DELETES or action == "delete_user":
        if payload.get("entity_id") and payload.get("entity_type"):
            return state.item_for(payload["entity_type"], payload["entity_id"])
        if action == "delete_user" and payload.get("entity_id"):
            return state.item_for("stream:user", payload["entity_id"])
    if action == "delete_user_messages":
        if payload.get("entity_id"):
            return state.item_for("stream:user", payload["entity_id"])
        raise input_error(
            "delete_user_messages needs item_id or delete_user_messages.entity_id (the user)",
            {"item_id": "required"},
        )
    if appeal is not None and appeal.review_queue_item_id is not None:
        return state.items.get(appeal.review_queue_item_id)
    if action == "unban" and (payload.get("target_user_id") or _ban_appeal(appeal)):
        return None
    if action in NEEDS_ITEM or action in DELETES:
        raise input_error(f"{action} needs item_id", {"item_id": "required"})
    return None


def _ban_appeal(appeal: Appeal | None) -> str | None:
    """The banned user of an appeal against a ban."""
    return appeal.entity_id if appeal is not None and appeal.entity_type == "stream:user" else None


def _is_message(entity_type: str) -> bool:
    return entity_type.startswith("stream:chat:") and "message" in entity_type


def delete_user_messages(call: Call, user_id: str, payload: dict[str, Any]) -> int:
    """Delete the user's messages the emulator knows (from review queue items), in one
    channel with ``channel_cid``, and their reactions with ``delete_reactions``."""
    channel = payload.get("channel_cid")
    deleted = 0
    for item in call.state.items.values():
        if item.entity_creator_id != user_id:
            continue
        kind = item.entity_type
        wanted = _is_message(kind) or (bool(payload.get("delete_reactions")) and "reaction" in kind)
        if not wanted or (channel and item.channel_cid != channel):
            continue
        call.state.entity(kind, item.entity_id).deleted = payload["delete_messages"]
        deleted += 1
    return deleted


def _decide_appeal(call: Call, appeal: Appeal, status: str, reason: str | None) -> None:
    appeal.status = status
    appeal.decision_reason = reason
    appeal.updated_at = call.now
    call.event(f"appeal.{status}", {"appeal": render_appeal(appeal, call.state, call.now)})


@handler("submit_action")
def submit_action(call: Call) -> dict[str, Any]:
    body, state, now = call.body, call.state, call.now
    action = body["action_type"]
    if action not in ACTION_TYPES:  # an action type a later release added
        raise input_error(
            f"the emulator does not know the action {action!r}", {"action_type": "not emulated"}
        )
    raw_payload = body.get(action)
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    moderator = call.acting_user()
    appeal = _appeal(call, action)
    item = _item(call, action, payload, appeal)
    entity = (item.entity_type, item.entity_id) if item else None
    target: str | None = _target_user(item)
    reason = payload.get("reason") or payload.get("decision_reason")
    custom: dict[str, Any] = {}

    if action == "flag":
        assert item is not None
        spec = {**payload, "entity_type": item.entity_type, "entity_id": item.entity_id}
        spec.setdefault("entity_creator_id", item.entity_creator_id)
        flag_entity(call, spec, moderator or "")
        return {"item": render_item(item, state, now)}
    if action in DELETES:
        entity = entity or (payload["entity_type"], payload["entity_id"])
        state.entity(*entity).deleted = "hard" if payload.get("hard_delete") else "soft"
    elif action == "delete_user":
        target = payload.get("entity_id") or _require_target(item, action)
        user = state.user(target, now)
        user.deleted_at = now
        if payload.get("mark_messages_deleted") or payload.get("delete_feeds_content"):
            delete_user_content(call, target, "hard" if payload.get("hard_delete") else "soft")
    elif action == "ban":
        target = payload.get("target_user_id") or target
        if target is None:
            raise input_error(
                "ban needs item_id or ban.target_user_id", {"ban.target_user_id": "required"}
            )
        apply_ban(
            call,
            target,
            banned_by=moderator,
            channel_cid=payload.get("channel_cid"),
            reason=payload.get("reason"),
            timeout=payload.get("timeout"),
            shadow=bool(payload.get("shadow")),
            ip_ban=bool(payload.get("ip_ban")),
            delete_messages=payload.get("delete_messages"),
        )
    elif action == "delete_user_messages":
        if payload.get("delete_messages") is None:
            raise input_error(
                "delete_user_messages needs delete_messages (soft, pruning or hard)",
                {"delete_messages": "required"},
            )
        target = payload.get("entity_id") or _require_target(item, action)
        state.user(target, now)
        count = delete_user_messages(call, target, payload)
        custom = {"deleted": count, "delete_messages": payload["delete_messages"]}
        if payload.get("channel_cid"):
            custom["channel_cid"] = payload["channel_cid"]
    elif action == "unban":
        target = payload.get("target_user_id") or _target_user(item) or _ban_appeal(appeal)
        if target is None:
            target = _require_target(item, action)
        lift_bans(call, target, channel_cid=payload.get("channel_cid"))
        if payload.get("remove_future_channels_ban"):
            lift_bans(call, target, channel_cid=None)
    elif action == "restore":
        assert entity is not None
        entity_state = state.entity(*entity)
        entity_state.deleted = None
        entity_state.blocked = False
        entity_state.shadow_blocked = False
    elif action == "block":
        assert entity is not None
        state.entity(*entity).blocked = True
    elif action == "unblock":
        assert entity is not None
        state.entity(*entity).blocked = False
    elif action == "shadow_block":
        assert entity is not None
        state.entity(*entity).shadow_blocked = True
    elif action == "unmask":
        assert entity is not None
        state.entity(*entity).masked = False
    elif action == "escalate":
        assert item is not None
        priority = payload.get("priority")
        if priority is not None and priority not in PRIORITIES:
            raise input_error(
                "escalate.priority must be low, medium or high",
                {"escalate.priority": f"got {priority!r}"},
            )
        item.escalated = True
        item.escalated_at = now
        item.escalated_by = moderator
        item.escalation_metadata = {
            k: payload[k] for k in ("reason", "notes", "priority") if payload.get(k) is not None
        }
    elif action == "de_escalate":
        assert item is not None
        item.escalated = False
        item.escalated_at = None
        item.escalated_by = None
        item.escalation_metadata = None
    elif action == "bypass":
        target = _require_target(item, action)
        user = state.user(target, now)
        user.bypass_moderation = payload.get("enabled", True) is not False
        custom = {"enabled": user.bypass_moderation}
    elif action == "custom":
        assert item is not None
        action_id = payload.get("id")
        if not action_id:
            raise input_error(
                "custom needs custom.id (the custom action)", {"custom.id": "required"}
            )
        custom = {"id": action_id, "options": dict(payload.get("options") or {})}
    elif action == "reject_appeal" and not payload.get("decision_reason"):
        raise input_error(
            "reject_appeal needs reject_appeal.decision_reason",
            {"reject_appeal.decision_reason": "required"},
        )
    # kick_user / end_call: video-call actions, recorded in the log only.

    log = call.log(
        action,
        user_id=moderator,
        target_user_id=target,
        reporter_type="moderator",
        reason=reason,
        custom=custom,
        entity=entity,
        item_id=item.id if item else None,
    )
    if appeal is not None:
        if action == "reject_appeal":
            _decide_appeal(call, appeal, "rejected", payload.get("decision_reason"))
        elif action in ACCEPTS_APPEAL:
            _decide_appeal(call, appeal, "accepted", payload.get("decision_reason"))

    out: dict[str, Any] = {}
    if item is not None:
        item.actions.append(log)
        item.updated_at = now
        item.latest_moderator_action = action
        if action not in NOT_REVIEWING:
            item.reviewed_at = now
            item.reviewed_by = moderator or ""
            item.completed_at = now
        item_event(call, item, created=False, action=log)
        rendered = render_item(item, state, now)
        if action == "mark_reviewed":
            call.event("moderation.mark_reviewed", {"item": rendered})
        if action == "custom":
            call.event(
                "moderation.custom_action",
                {
                    "action_id": custom["id"],
                    "action_options": custom["options"],
                    "review_queue_item": rendered,
                },
            )
        out["item"] = rendered
    if appeal is not None:
        out["appeal_item"] = render_appeal(appeal, state, now)
    return out


@handler("bulk_action_appeals")
def bulk_action_appeals(call: Call) -> dict[str, Any]:
    """``action_type`` on each appeal, as ``submit_action`` with its ``appeal_id`` would: a
    result (the appeal as it is now) or an error (the message the single call would give)
    per appeal, in the order given; one appeal's error does not stop the others."""
    body = call.body
    action = body["action_type"]
    shared = {k: body[k] for k in (action, "user_id", "user") if k in body}
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for appeal_id in dict.fromkeys(body["appeal_ids"]):
        single = {"action_type": action, "appeal_id": appeal_id, **shared}
        try:
            out = submit_action(dataclasses.replace(call, body=single))
        except EmulatorError as error:
            errors.append({"appeal_id": appeal_id, "error": error.message})
            continue
        results.append({"appeal_id": appeal_id, "appeal_item": out["appeal_item"]})
    return {"results": results, "errors": errors}
