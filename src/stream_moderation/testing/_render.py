"""State records -> the JSON objects of the spec's response schemas.

Timestamps are rendered as ``Timestamp`` objects; the encoder writes them in the selected
mode. Optional fields are left out rather than sent as null.
"""

from __future__ import annotations

from typing import Any

from ._state import ActionLog, Appeal, Ban, Config, Flag, ReviewItem, State, User
from ._wire import ts

__all__ = [
    "SUPPORTED_VIDEO_CALL_HARM_TYPES",
    "render_appeal",
    "render_ban",
    "render_config",
    "render_entity_creator",
    "render_flag",
    "render_item",
    "render_log",
    "render_user",
]

SUPPORTED_VIDEO_CALL_HARM_TYPES = [
    "nudity",
    "violence",
    "weapons",
    "drugs",
    "hate_symbols",
    "self_harm",
]


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        out[name] = value


def render_user(user: User, state: State, now: int) -> dict[str, Any]:
    bans = [ban for ban in state.active_bans(user.id, now) if ban.channel_cid is None]
    out: dict[str, Any] = {
        "id": user.id,
        "custom": dict(user.custom),
        "language": user.language,
        "role": user.role,
        "teams": list(user.teams),
        "created_at": ts(user.created_at),
        "updated_at": ts(user.updated_at),
        "banned": bool(bans),
        "online": False,
        "blocked_user_ids": [b for (u, b) in state.blocks if u == user.id],
        "shadow_banned": any(ban.shadow for ban in bans),
        "invisible": user.invisible,
        "bypass_moderation": user.bypass_moderation,
    }
    _put(out, "name", user.name)
    _put(out, "image", user.image)
    if user.deleted_at is not None:
        out["deleted_at"] = ts(user.deleted_at)
    expiries = [ban.expires for ban in bans]
    if bans and None not in expiries:
        out["ban_expires"] = ts(max(e for e in expiries if e is not None))
    return out


def _user_by_id(user_id: str | None, state: State, now: int) -> dict[str, Any] | None:
    if not user_id:
        return None
    user = state.users.get(user_id)
    return render_user(user, state, now) if user is not None else None


def render_entity_creator(user: User, state: State, now: int) -> dict[str, Any]:
    out = render_user(user, state, now)
    out["flagged_count"] = state.flag_counts.get(user.id, 0)
    out["ban_count"] = sum(1 for ban in state.bans if ban.target_user_id == user.id)
    deleted = 0
    for key, entity in state.entities.items():  # only entities a moderator acted on
        if entity.deleted is not None:
            item = state.item_for(*key)
            deleted += item is not None and item.entity_creator_id == user.id
    out["deleted_content_count"] = deleted
    return out


def render_flag(flag: Flag, state: State, now: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": flag.type,
        "entity_type": flag.entity_type,
        "entity_id": flag.entity_id,
        "user_id": flag.user_id,
        "result": [dict(entry) for entry in flag.result],
        "created_at": ts(flag.created_at),
        "updated_at": ts(flag.updated_at),
        "labels": list(flag.labels),
    }
    _put(out, "entity_creator_id", flag.entity_creator_id)
    _put(out, "reason", flag.reason)
    _put(out, "custom", flag.custom)
    _put(out, "moderation_payload", flag.moderation_payload)
    _put(out, "review_queue_item_id", flag.review_queue_item_id)
    _put(out, "user", _user_by_id(flag.user_id, state, now))
    return out


def render_log(log: ActionLog, state: State, now: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": log.id,
        "type": log.type,
        "created_at": ts(log.created_at),
        "reason": log.reason,
        "custom": dict(log.custom),
        "user_id": log.user_id,
        "target_user_id": log.target_user_id,
        "reporter_type": log.reporter_type,
        "ai_providers": list(log.ai_providers),
    }
    _put(out, "user", _user_by_id(log.user_id, state, now))
    _put(out, "target_user", _user_by_id(log.target_user_id, state, now))
    return out


def render_ban(ban: Ban, state: State, now: int) -> dict[str, Any]:
    out: dict[str, Any] = {"created_at": ts(ban.created_at), "shadow": ban.shadow}
    if ban.expires is not None:
        out["expires"] = ts(ban.expires)
    _put(out, "reason", ban.reason)
    _put(out, "user", _user_by_id(ban.target_user_id, state, now))
    _put(out, "created_by", _user_by_id(ban.created_by_id, state, now))
    return out


def render_appeal(appeal: Appeal, state: State, now: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": appeal.id,
        "appeal_reason": appeal.appeal_reason,
        "entity_type": appeal.entity_type,
        "entity_id": appeal.entity_id,
        "status": appeal.status,
        "created_at": ts(appeal.created_at),
        "updated_at": ts(appeal.updated_at),
        "attachments": list(appeal.attachments),
    }
    _put(out, "decision_reason", appeal.decision_reason)
    _put(out, "entity_content", appeal.entity_content)
    _put(out, "user", _user_by_id(appeal.user_id, state, now))
    return out


def render_item(item: ReviewItem, state: State, now: int) -> dict[str, Any]:
    bans = state.active_bans(item.entity_creator_id, now) if item.entity_creator_id else []
    out: dict[str, Any] = {
        "id": item.id,
        "created_at": ts(item.created_at),
        "updated_at": ts(item.updated_at),
        "entity_type": item.entity_type,
        "entity_id": item.entity_id,
        "status": item.status,
        "recommended_action": item.recommended_action,
        "reviewed_by": item.reviewed_by,
        "latest_moderator_action": item.latest_moderator_action,
        "severity": item.severity,
        "ai_text_severity": item.ai_text_severity,
        "languages": list(item.languages),
        "flags": [render_flag(flag, state, now) for flag in item.flags],
        "flags_count": len(item.flags),
        "actions": [render_log(log, state, now) for log in item.actions],
        "bans": [render_ban(ban, state, now) for ban in bans],
        "escalated": item.escalated,
        "teams": list(item.teams),
    }
    _put(out, "entity_creator_id", item.entity_creator_id)
    if item.entity_creator_id and item.entity_creator_id in state.users:
        creator = state.users[item.entity_creator_id]
        out["entity_creator"] = render_entity_creator(creator, state, now)
    _put(out, "moderation_payload", item.moderation_payload)
    _put(out, "config_key", item.config_key)
    for name in ("completed_at", "reviewed_at", "escalated_at"):
        value = getattr(item, name)
        if value is not None:
            out[name] = ts(value)
    _put(out, "escalated_by", item.escalated_by)
    _put(out, "escalation_metadata", item.escalation_metadata)
    if item.assigned_to is not None and (item.lock_expires is None or item.lock_expires > now):
        _put(out, "assigned_to", _user_by_id(item.assigned_to, state, now))
    if item.appeal_id is not None and item.appeal_id in state.appeals:
        out["appeal"] = render_appeal(state.appeals[item.appeal_id], state, now)
    return out


def render_config(config: Config) -> dict[str, Any]:
    out: dict[str, Any] = dict(config.sections)
    audio = config.sections.get("ai_audio_config")
    if isinstance(audio, dict):  # stored as sent; the response has these three required
        out["ai_audio_config"] = {
            "enabled": audio.get("enabled", True) is not False,
            "profile": audio.get("profile") or "",
            "rules": list(audio.get("rules") or []),
        }
    out.update(
        {
            "key": config.key,
            "team": config.team,
            "async": bool(config.sections.get("async", False)),
            "created_at": ts(config.created_at),
            "updated_at": ts(config.updated_at),
            "supported_video_call_harm_types": list(SUPPORTED_VIDEO_CALL_HARM_TYPES),
        }
    )
    return out
