"""The part of Stream's chat API that message moderation uses: get-or-create a channel,
send a message (moderated by the channel's policy, as Stream does), get and delete a
message. Served through ``_surface``; flagging a message is the moderation API's ``flag``
(``entity_type: stream:chat:v1:message``), which knows the messages sent here.

Shapes: the moderation spec's ``MessageResponse``, ``ChannelResponse``,
``ChannelMemberResponse`` and ``ModerationV2Response`` (required fields a release adds are
filled from its schema), in the envelopes of getstream 7.0.0 (``ChannelStateResponse``,
``SendMessageResponse``, ``GetMessageResponse``, ``DeleteMessageResponse``).
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import input_error, not_found
from .._fallback import fill_required
from .._render import render_user
from .._spec import load_spec, operations
from .._state import Channel, Message, State, User
from .._wire import ts
from . import Call
from .users_api import user_request

__all__ = [
    "BLOCKED_TEXT",
    "MESSAGE_ENTITY",
    "delete_message",
    "get_message",
    "get_or_create_channel",
    "render_channel",
    "render_message",
    "send_message",
]

MESSAGE_ENTITY = "stream:chat:v1:message"
BLOCKED_TEXT = "Message was blocked by moderation policies"
"""The text of a message moderation blocked, as its sender gets it back (type ``error``)."""
_NAME = re.compile(r"^[a-zA-Z0-9_!-]{1,64}$")
_MAX_TEXT = 20_000


def _filled(schema: str, out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with the required fields of the release's ``schema`` it lacks filled in."""
    if schema in load_spec()["components"]["schemas"]:
        fill_required(schema, out)
    return out


def _user_json(user_id: str, state: State, now: int) -> dict[str, Any]:
    user = state.users.get(user_id)
    if user is None:  # hard-deleted since: what Stream shows of a user that is gone
        user = User(id=user_id, created_at=0, updated_at=0, deleted_at=now)
    return render_user(user, state, now)


def render_channel(channel: Channel, state: State, now: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": channel.id,
        "type": channel.type,
        "cid": channel.cid,
        "created_at": ts(channel.created_at),
        "updated_at": ts(channel.updated_at),
        "frozen": channel.frozen,
        "disabled": channel.disabled,
        "custom": dict(channel.custom),
        "member_count": len(channel.members),
    }
    if channel.created_by_id:
        out["created_by"] = _user_json(channel.created_by_id, state, now)
    if channel.team:
        out["team"] = channel.team
    return _filled("ChannelResponse", out)


def _member(channel: Channel, user_id: str, state: State, now: int) -> dict[str, Any]:
    user = _user_json(user_id, state, now)
    banned = any(b.channel_cid in (None, channel.cid) for b in state.active_bans(user_id, now))
    out = {
        "user_id": user_id,
        "user": user,
        "custom": {},
        "created_at": ts(channel.created_at),
        "updated_at": ts(channel.updated_at),
        "banned": banned,
        "shadow_banned": bool(user.get("shadow_banned")),
        "channel_role": "channel_moderator"
        if user_id == channel.created_by_id
        else "channel_member",
        "notifications_muted": False,
    }
    return _filled("ChannelMemberResponse", out)


def render_message(message: Message, state: State, now: int) -> dict[str, Any]:
    entity = state.entities.get((MESSAGE_ENTITY, message.id))
    deleted_at = message.deleted_at
    kind = message.type
    if entity is not None and entity.deleted and deleted_at is None:
        kind, deleted_at = "deleted", message.updated_at  # deleted by a moderator action
    out: dict[str, Any] = {
        "id": message.id,
        "text": message.text,
        "html": message.html,
        "type": kind,
        "user": _user_json(message.user_id, state, now),
        "attachments": [dict(a) for a in message.attachments],
        "latest_reactions": [],
        "own_reactions": [],
        "reaction_counts": {},
        "reaction_scores": {},
        "reply_count": 0,
        "deleted_reply_count": 0,
        "cid": message.cid,
        "created_at": ts(message.created_at),
        "updated_at": ts(message.updated_at),
        "custom": dict(message.custom),
        "shadowed": message.shadowed,
        "mentioned_users": [],
        "mentioned_channel": False,
        "mentioned_here": False,
        "silent": message.silent,
        "pinned": False,
        "restricted_visibility": [],
    }
    if message.moderation is not None:
        out["moderation"] = _filled("ModerationV2Response", dict(message.moderation))
    if deleted_at is not None:
        out["deleted_at"] = ts(deleted_at)
    if message.parent_id:
        out["parent_id"] = message.parent_id
    return _filled("MessageResponse", out)


def _path_channel(call: Call) -> tuple[str, str]:
    kind, channel_id = call.path["type"], call.path["id"]
    for name, value in (("type", kind), ("id", channel_id)):
        if not _NAME.match(value):
            raise input_error(
                f"channel {name} {value!r} may only hold letters, digits and _ - ! "
                "(1 to 64 characters)",
                {name: "invalid"},
            )
    return kind, channel_id


def _channel_state(call: Call, channel: Channel) -> dict[str, Any]:
    state, now = call.state, call.now
    messages = [m for m in state.messages.values() if m.cid == channel.cid]
    messages.sort(key=lambda m: (m.created_at, m.seq))
    return {
        "channel": render_channel(channel, state, now),
        "members": [_member(channel, u, state, now) for u in channel.members],
        "messages": [render_message(m, state, now) for m in messages[-100:]],
        "pinned_messages": [],
        "threads": [],
    }


def get_or_create_channel(call: Call) -> dict[str, Any]:
    """POST /api/v2/chat/channels/{type}/{id}/query: the channel, created on first call
    with ``data`` (``created_by_id`` / ``created_by``, ``members``, ``team``, ``custom``)."""
    kind, channel_id = _path_channel(call)
    data = call.body.get("data") or {}
    if not isinstance(data, dict):
        raise input_error("data must be an object (ChannelInput)", {"data": "expected object"})
    state, now = call.state, call.now
    cid = f"{kind}:{channel_id}"
    channel = state.channels.get(cid)
    if channel is None:
        creator = call.caller.user_id or data.get("created_by_id")
        if isinstance(data.get("created_by"), dict):
            details = user_request(data["created_by"], "data.created_by")
            creator = creator or details["id"]
            state.user(details["id"], now, details)
        if creator is None:
            raise input_error(
                "data.created_by_id (or created_by) is required server-side: the user "
                "who creates the channel",
                {"data.created_by_id": "required"},
            )
        members: list[str] = []
        for index, member in enumerate(data.get("members") or []):
            member_id = member.get("user_id") if isinstance(member, dict) else None
            if not isinstance(member_id, str) or not member_id:
                raise input_error(
                    f"data.members[{index}].user_id is required",
                    {f"data.members[{index}].user_id": "required"},
                )
            members.append(member_id)
        custom = data.get("custom") or {}
        if not isinstance(custom, dict):
            raise input_error("data.custom must be an object", {"data.custom": "expected"})
        team = data.get("team")
        state.user(creator, now)
        for member_id in members:
            state.user(member_id, now)
        channel = Channel(
            type=kind,
            id=channel_id,
            created_at=now,
            updated_at=now,
            seq=state.next_seq(),
            created_by_id=creator,
            team=team if isinstance(team, str) and team else None,
            frozen=bool(data.get("frozen")),
            disabled=bool(data.get("disabled")),
            custom=dict(custom),
            members=list(dict.fromkeys([creator, *members])),
        )
        state.channels[cid] = channel
    return _channel_state(call, channel)


def _moderate(call: Call, message: Message, channel: Channel) -> dict[str, Any]:
    """The channel's policy over the message, through ``check`` itself (the default policy
    of chat messages: ``chat:<type>:<id>``, ``chat:<type>``, ``chat``)."""
    from .checks import check

    payload: dict[str, Any] = {"texts": [message.text]} if message.text else {}
    images = [
        a.get("image_url") or a.get("asset_url") or a.get("thumb_url")
        for a in message.attachments
        if a.get("type") in (None, "image") and (a.get("image_url") or a.get("asset_url"))
    ]
    if images:
        payload["images"] = images
    body: dict[str, Any] = {
        "entity_type": MESSAGE_ENTITY,
        "entity_id": message.id,
        "entity_creator_id": message.user_id,
        "moderation_payload": payload,
        "options": {"channel_cid": channel.cid},
    }
    if channel.team:
        body["config_team"] = channel.team
    inner = Call(
        op=operations()["check"],
        body=body,
        query={},
        path={},
        caller=call.caller,
        now=call.now,
        backend=call.backend,
    )
    answer = check(inner)
    call.events.extend(inner.events)
    return answer


def send_message(call: Call) -> dict[str, Any]:
    """POST /api/v2/chat/channels/{type}/{id}/message: stores the message and answers it.
    Moderated (as Stream does) when a user token sends it or with ``force_moderation``:
    ``flag`` keeps it posted with ``moderation.action: flag``; ``remove`` answers it with
    type ``error`` and the text ``BLOCKED_TEXT`` (the original in ``moderation``)."""
    kind, channel_id = _path_channel(call)
    channel = call.state.channels.get(f"{kind}:{channel_id}")
    if channel is None:
        raise not_found(f"channel {kind}:{channel_id!r}", {"id": "create it first"})
    request = call.body.get("message")
    if not isinstance(request, dict):
        raise input_error("message is required (a MessageRequest)", {"message": "required"})
    state, now = call.state, call.now
    user_id = call.caller.user_id or request.get("user_id")
    if isinstance(request.get("user"), dict):
        details = user_request(request["user"], "message.user")
        user_id = user_id or details["id"]
        state.user(details["id"], now, details)
    if not isinstance(user_id, str) or not user_id:
        raise input_error(
            "message.user_id is required server-side: the user who sends it",
            {"message.user_id": "required"},
        )
    text = request.get("text") or ""
    if not isinstance(text, str):
        raise input_error("message.text must be a string", {"message.text": "expected string"})
    if len(text) > _MAX_TEXT:
        raise input_error(
            f"message.text is longer than {_MAX_TEXT} characters", {"message.text": "too long"}
        )
    attachments = request.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise input_error("message.attachments must be objects", {"message.attachments": "x"})
    if not text and not attachments:
        raise input_error("a message needs text or attachments", {"message.text": "empty message"})
    message_id = request.get("id") or call.new_id()
    if not isinstance(message_id, str) or message_id in state.messages:
        raise input_error(
            f"a message with id {message_id!r} exists already", {"message.id": "exists"}
        )
    custom = request.get("custom") or {}
    if not isinstance(custom, dict):
        raise input_error("message.custom must be an object", {"message.custom": "expected"})
    if any(
        b.channel_cid in (None, channel.cid) and not b.shadow
        for b in state.active_bans(user_id, now)
    ):
        raise input_error(f"user {user_id!r} is banned from {channel.cid}", {"user_id": "banned"})
    state.user(user_id, now)
    message = Message(
        id=message_id,
        cid=channel.cid,
        user_id=user_id,
        text=text,
        type="regular",
        created_at=now,
        updated_at=now,
        seq=state.next_seq(),
        html=f"<p>{text}</p>\n" if text else "",
        attachments=[dict(a) for a in attachments],
        custom=dict(custom),
        silent=bool(request.get("silent")),
        parent_id=request.get("parent_id") or None,
        shadowed=any(b.shadow for b in state.active_bans(user_id, now)),
    )
    if call.caller.user_id is not None or call.body.get("force_moderation"):
        answer = _moderate(call, message, channel)
        action = answer["recommended_action"]
        if action != "keep":
            message.moderation = {"action": action, "original_text": text}
        if action == "remove":
            message.type, message.text, message.html = "error", BLOCKED_TEXT, ""
    state.messages[message.id] = message
    if user_id not in channel.members:
        channel.members.append(user_id)
    return {"message": render_message(message, state, now)}


def _message(call: Call) -> Message:
    message = call.state.messages.get(call.path["id"])
    if message is None:
        raise not_found(f"message {call.path['id']!r}", {"id": "no such message"})
    return message


def get_message(call: Call) -> dict[str, Any]:
    """GET /api/v2/chat/messages/{id}: the message and its channel."""
    message = _message(call)
    state, now = call.state, call.now
    out = render_message(message, state, now)
    channel = state.channels.get(message.cid)
    if channel is not None:
        out["channel"] = render_channel(channel, state, now)
    return {"message": out}


def delete_message(call: Call) -> dict[str, Any]:
    """DELETE /api/v2/chat/messages/{id}?hard=: soft (type ``deleted``) or hard (gone);
    the moderation API sees the entity deleted too."""
    message = _message(call)
    state, now = call.state, call.now
    hard = str(call.query.get("hard", "")).lower() in ("true", "1")
    message.type, message.deleted_at, message.updated_at = "deleted", now, now
    out = render_message(message, state, now)
    state.entity(MESSAGE_ENTITY, message.id).deleted = "hard" if hard else "soft"
    if hard:
        del state.messages[message.id]
    return {"message": out}
