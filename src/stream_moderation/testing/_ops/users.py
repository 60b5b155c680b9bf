"""Bans, mutes and the moderation bypass: what moderators do to users."""

from __future__ import annotations

from typing import Any

from .._render import render_user
from .._state import Ban, Mute
from .._wire import ts
from . import Call, handler

__all__ = [
    "apply_ban",
    "ban",
    "bypass",
    "delete_user_content",
    "lift_bans",
    "mute",
    "unban",
    "unmute",
]

MINUTE_NS = 60 * 1_000_000_000


def delete_user_content(call: Call, user_id: str, mode: str) -> None:
    """Mark every entity of the user the emulator knows (from its queue items) deleted."""
    for item in call.state.items.values():
        if item.entity_creator_id == user_id and item.entity_type != "stream:user":
            call.state.entity(item.entity_type, item.entity_id).deleted = mode


def apply_ban(
    call: Call,
    target: str,
    *,
    banned_by: str | None,
    channel_cid: str | None = None,
    reason: str | None = None,
    timeout: int | None = None,
    shadow: bool = False,
    ip_ban: bool = False,
    delete_messages: str | None = None,
) -> Ban:
    """Ban ``target`` app-wide or in one channel, replacing an earlier ban of the same scope.

    ``timeout`` is in minutes (as the spec says); without it the ban does not expire.
    """
    state = call.state
    state.user(target, call.now)
    state.bans = [
        b for b in state.bans if not (b.target_user_id == target and b.channel_cid == channel_cid)
    ]
    ban = Ban(
        target_user_id=target,
        created_at=call.now,
        seq=state.next_seq(),
        created_by_id=banned_by,
        channel_cid=channel_cid,
        reason=reason,
        shadow=shadow,
        ip_ban=ip_ban,
        expires=call.now + timeout * MINUTE_NS if timeout else None,
    )
    state.bans.append(ban)
    if delete_messages:
        delete_user_content(call, target, "hard" if delete_messages == "hard" else "soft")
    return ban


def lift_bans(
    call: Call, target: str, *, channel_cid: str | None, created_by: str | None = None
) -> int:
    """Remove the app-wide ban (or the channel's, with ``channel_cid``); how many were lifted."""
    state = call.state
    keep = [
        b
        for b in state.bans
        if not (
            b.target_user_id == target
            and b.channel_cid == channel_cid
            and (created_by is None or b.created_by_id == created_by)
        )
    ]
    lifted = len(state.bans) - len(keep)
    state.bans = keep
    return lifted


@handler("ban")
def ban(call: Call) -> dict[str, Any]:
    body = call.body
    banned_by = call.acting_user(id_field="banned_by_id", object_field="banned_by")
    target = body["target_user_id"]
    apply_ban(
        call,
        target,
        banned_by=banned_by,
        channel_cid=body.get("channel_cid"),
        reason=body.get("reason"),
        timeout=body.get("timeout"),
        shadow=bool(body.get("shadow")),
        ip_ban=bool(body.get("ip_ban")),
        delete_messages=body.get("delete_messages"),
    )
    call.log("ban", user_id=banned_by, target_user_id=target, reason=body.get("reason"))
    return {}


@handler("unban")
def unban(call: Call) -> dict[str, Any]:
    target = call.query["target_user_id"]
    unbanned_by = call.acting_user(id_field="unbanned_by_id", object_field="unbanned_by")
    lift_bans(
        call,
        target,
        channel_cid=call.query.get("channel_cid"),
        created_by=call.query.get("created_by"),
    )
    call.log("unban", user_id=unbanned_by, target_user_id=target)
    return {}


def _mute(mute: Mute, call: Call) -> dict[str, Any]:
    state, now = call.state, call.now
    out: dict[str, Any] = {
        "created_at": ts(mute.created_at),
        "updated_at": ts(mute.updated_at),
        "user": render_user(state.users[mute.user_id], state, now),
        "target": render_user(state.users[mute.target_id], state, now),
    }
    if mute.expires is not None:
        out["expires"] = ts(mute.expires)
    return out


@handler("mute")
def mute(call: Call) -> dict[str, Any]:
    body, state = call.body, call.state
    user_id = call.require_user("to mute server-side: the user who mutes")
    timeout = body.get("timeout")
    mutes: list[dict[str, Any]] = []
    missing: list[str] = []
    for target in dict.fromkeys(body["target_ids"]):
        if target not in state.users:
            missing.append(target)
            continue
        existing = state.mutes.get((user_id, target))
        record = Mute(
            user_id=user_id,
            target_id=target,
            created_at=existing.created_at if existing else call.now,
            updated_at=call.now,
            expires=call.now + timeout * MINUTE_NS if timeout else None,
        )
        state.mutes[(user_id, target)] = record
        mutes.append(_mute(record, call))
        call.log("mute", user_id=user_id, target_user_id=target, reporter_type="user")
    return {"mutes": mutes, "non_existing_users": missing}


@handler("unmute")
def unmute(call: Call) -> dict[str, Any]:
    body, state = call.body, call.state
    user_id = call.require_user("to unmute server-side: the user who unmutes")
    missing: list[str] = []
    for target in dict.fromkeys(body["target_ids"]):
        if target not in state.users:
            missing.append(target)
            continue
        if state.mutes.pop((user_id, target), None) is not None:
            call.log("unmute", user_id=user_id, target_user_id=target, reporter_type="user")
    return {"non_existing_users": missing}


@handler("bypass")
def bypass(call: Call) -> dict[str, Any]:
    body = call.body
    user = call.state.user(body["target_user_id"], call.now)
    user.bypass_moderation = bool(body["enabled"])
    user.updated_at = call.now
    call.log(
        "bypass",
        user_id=None,
        target_user_id=user.id,
        custom={"enabled": user.bypass_moderation},
    )
    return {}
