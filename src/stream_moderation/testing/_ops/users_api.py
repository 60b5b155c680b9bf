"""Stream's users API (outside the moderation spec), as moderation flows use it: upsert,
partial update, query, delete (a task), block / unblock / list blocks, and the banned-users
query. Served through ``_surface`` (the table of what is served beyond the spec); the
shapes follow getstream 7.0.0's models and the moderation spec's ``UserResponse``.

Users live in the same ``State.users`` the moderation operations use: a user upserted here
is known to ``mute``, ``ban``, ``check`` and the rest, and one they name is queryable here.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import input_error, not_found
from .._query import Field, Query, run_query
from .._render import render_user
from .._state import Ban, Block, State, User
from .._wire import ts
from . import Call
from .users import delete_user_content

__all__ = [
    "block_users",
    "delete_users",
    "get_blocked_users",
    "get_task",
    "json_payload",
    "query_banned_users",
    "query_users",
    "render_full_user",
    "unblock_users",
    "update_users",
    "update_users_partial",
    "user_request",
]

MAX_QUERY_LIMIT = 100
DEFAULT_QUERY_LIMIT = 30
MAX_DELETE = 100
_STRING_FIELDS = ("name", "image", "role", "language")
USER_FIELDS = frozenset(
    {"id", *_STRING_FIELDS, "invisible", "teams", "custom", "teams_role", "privacy_settings"}
)
"""The fields of a UserRequest (getstream 7.0.0, and the moderation spec's UserRequest)."""
MESSAGE_MODES = ("soft", "pruning", "hard")


def _kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def user_request(value: Any, where: str) -> dict[str, Any]:
    """A checked UserRequest: 400 naming the field for anything malformed or unknown."""
    if not isinstance(value, dict):
        raise input_error(f"{where} must be an object (a UserRequest)", {where: "expected object"})
    user = {k: v for k, v in value.items() if v is not None}
    unknown = sorted(set(user) - USER_FIELDS)
    if unknown:
        raise input_error(
            f"{where}.{unknown[0]} is not a field of a user; the fields are "
            + ", ".join(sorted(USER_FIELDS))
            + " (put your own data in custom)",
            {f"{where}.{unknown[0]}": "unknown field"},
        )
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id.strip():
        raise input_error(f"{where}.id must be a non-empty string", {f"{where}.id": "required"})
    if len(user_id) > 255:
        raise input_error(f"{where}.id is longer than 255 characters", {f"{where}.id": "too long"})
    for name in _STRING_FIELDS:
        if name in user and not isinstance(user[name], str):
            raise input_error(
                f"{where}.{name} must be a string, got {_kind(user[name])}",
                {f"{where}.{name}": "expected a string"},
            )
    if "invisible" in user and not isinstance(user["invisible"], bool):
        raise input_error(
            f"{where}.invisible must be a boolean", {f"{where}.invisible": "expected a boolean"}
        )
    teams = user.get("teams")
    if teams is not None and (
        not isinstance(teams, list) or not all(isinstance(t, str) for t in teams)
    ):
        raise input_error(
            f"{where}.teams must be an array of strings", {f"{where}.teams": "expected strings"}
        )
    for name in ("custom", "teams_role", "privacy_settings"):
        if name in user and not isinstance(user[name], dict):
            raise input_error(
                f"{where}.{name} must be an object, got {_kind(user[name])}",
                {f"{where}.{name}": "expected an object"},
            )
    roles = user.get("teams_role") or {}
    if not all(isinstance(r, str) for r in roles.values()):
        raise input_error(
            f"{where}.teams_role maps teams to role names (strings)",
            {f"{where}.teams_role": "expected strings"},
        )
    return user


def json_payload(call: Call, required: bool = True) -> dict[str, Any]:
    """The ``payload`` query parameter (a JSON object), as the GET queries take it."""
    raw = call.query.get("payload")
    if raw is None or raw == "":
        if required:
            raise input_error(
                "the payload query parameter (a JSON object) is required",
                {"payload": "required"},
            )
        return {}
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise input_error(f"payload is not valid JSON: {exc}", {"payload": "not JSON"}) from None
    if not isinstance(payload, dict):
        raise input_error("payload must be a JSON object", {"payload": "expected an object"})
    return payload


def render_full_user(user: User, state: State, now: int) -> dict[str, Any]:
    """A FullUserResponse: the UserResponse plus the user's mutes and counters."""
    out = render_user(user, state, now)
    mutes = []
    for (muter, target), mute in state.mutes.items():
        if muter != user.id or target not in state.users:
            continue
        entry: dict[str, Any] = {
            "created_at": ts(mute.created_at),
            "updated_at": ts(mute.updated_at),
            "user": render_user(user, state, now),
            "target": render_user(state.users[target], state, now),
        }
        if mute.expires is not None:
            entry["expires"] = ts(mute.expires)
        mutes.append(entry)
    out.update(
        mutes=mutes,
        channel_mutes=[],
        devices=[],
        total_unread_count=0,
        unread_channels=0,
        unread_count=0,
        unread_threads=0,
    )
    if user.teams_role:
        out["teams_role"] = dict(user.teams_role)
    return out


def _apply(user: User, details: dict[str, Any], now: int, *, replace: bool) -> None:
    if replace:  # an upsert replaces the user's data (created_at, bans and mutes stay)
        user.name = user.image = None
        user.role, user.language, user.invisible = "user", "", False
        user.teams, user.custom, user.teams_role = [], {}, {}
    for name in (*_STRING_FIELDS, "invisible"):
        if name in details:
            setattr(user, name, details[name])
    if "teams" in details:
        user.teams = list(details["teams"])
    if "custom" in details:
        user.custom = dict(details["custom"])
    if "teams_role" in details:
        user.teams_role = dict(details["teams_role"])
    user.updated_at = now


def update_users(call: Call) -> dict[str, Any]:
    """POST /api/v2/users: ``{"users": {id: UserRequest}}`` creates or replaces each user."""
    users = call.body.get("users")
    if not isinstance(users, dict) or not users:
        raise input_error(
            'users must be a non-empty object of id -> user ({"users": {"ann": {"id": "ann"}}})',
            {"users": "required"},
        )
    checked: list[dict[str, Any]] = []
    for key, value in users.items():
        details = user_request(
            {"id": key, **value} if isinstance(value, dict) else value, f"users.{key}"
        )
        if details["id"] != key:
            raise input_error(
                f"users.{key}.id is {details['id']!r}: the key must be the user's id",
                {f"users.{key}.id": "does not match its key"},
            )
        checked.append(details)
    state, now = call.state, call.now
    out: dict[str, Any] = {}
    for details in checked:
        user = state.user(details["id"], now)
        _apply(user, details, now, replace=True)
        out[user.id] = render_full_user(user, state, now)
    return {"users": out, "membership_deletion_task_id": ""}


def update_users_partial(call: Call) -> dict[str, Any]:
    """PATCH /api/v2/users: ``{"users": [{"id", "set": {...}, "unset": [...]}]}``; a key of
    ``set`` that is not a user field goes into ``custom`` (as Stream does)."""
    users = call.body.get("users")
    if not isinstance(users, list) or not users:
        raise input_error(
            'users must be a non-empty array of {"id", "set", "unset"}', {"users": "required"}
        )
    state, now = call.state, call.now
    plans: list[tuple[User, dict[str, Any], dict[str, Any], list[str]]] = []
    for index, change in enumerate(users):
        where = f"users[{index}]"
        if not isinstance(change, dict) or not isinstance(change.get("id"), str):
            raise input_error(f"{where}.id is required", {f"{where}.id": "required"})
        user = state.users.get(change["id"])
        if user is None:
            raise not_found(f"user {change['id']!r}", {f"{where}.id": "no such user"})
        set_ = change.get("set") or {}
        unset = change.get("unset") or []
        if not isinstance(set_, dict):
            raise input_error(f"{where}.set must be an object", {f"{where}.set": "expected"})
        if not isinstance(unset, list) or not all(isinstance(u, str) for u in unset):
            raise input_error(f"{where}.unset must be an array of field names", {})
        if "id" in set_ or "id" in unset:
            raise input_error(f"{where}: a user's id cannot change", {f"{where}.set.id": "id"})
        known = {k: v for k, v in set_.items() if k in USER_FIELDS}
        custom = {k: v for k, v in set_.items() if k not in USER_FIELDS}
        user_request({"id": user.id, **known}, f"{where}.set")
        plans.append((user, known, custom, unset))
    out: dict[str, Any] = {}
    for user, known, custom, unset in plans:
        _apply(user, known, now, replace=False)
        user.custom.update(custom)
        for name in unset:
            if name in ("name", "image"):
                setattr(user, name, None)
            elif name == "teams":
                user.teams = []
            elif name == "custom":
                user.custom = {}
            elif name == "language":
                user.language = ""
            elif name == "role":
                user.role = "user"
            else:
                user.custom.pop(name, None)
        out[user.id] = render_full_user(user, state, now)
    return {"users": out, "membership_deletion_task_id": ""}


def _banned(state: State, now: int) -> Any:
    return lambda u: any(b.channel_cid is None for b in state.active_bans(u.id, now))


def _users_query(state: State, now: int) -> Query[User]:
    return Query(
        name="users",
        fields={
            "id": Field("string", lambda u: u.id),
            "name": Field("string", lambda u: u.name),
            "role": Field("string", lambda u: u.role),
            "language": Field("string", lambda u: u.language),
            "teams": Field("list", lambda u: u.teams, sortable=False),
            "banned": Field("bool", _banned(state, now)),
            "invisible": Field("bool", lambda u: u.invisible),
            "created_at": Field("time", lambda u: u.created_at),
            "updated_at": Field("time", lambda u: u.updated_at),
        },
        default_sort=(("created_at", -1),),
        seq=lambda u: u.seq,
    )


def _limit_offset(payload: dict[str, Any], default: int) -> tuple[int, int]:
    limit, offset = payload.get("limit") or default, payload.get("offset") or 0
    for name, value in (("limit", limit), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise input_error(f"{name} must be a whole number >= 0", {name: "expected a number"})
    if limit > MAX_QUERY_LIMIT:
        raise input_error(f"limit must be at most {MAX_QUERY_LIMIT}", {"limit": "too large"})
    return limit, offset


def _page(query: Query[Any], records: list[Any], payload: dict[str, Any]) -> list[Any]:
    filters = payload.get("filter_conditions")
    if filters is None:
        raise input_error("payload.filter_conditions is required", {"filter_conditions": "req"})
    limit, offset = _limit_offset(payload, DEFAULT_QUERY_LIMIT)
    page = run_query(query, records, filter=filters, sort=payload.get("sort"), limit=10**9)
    return page.records[offset : offset + limit]


def query_users(call: Call) -> dict[str, Any]:
    """GET /api/v2/users?payload={"filter_conditions": ..., "sort", "limit", "offset"}:
    the users (not deleted ones), newest first by default; 30 a page, at most 100."""
    payload = json_payload(call)
    state, now = call.state, call.now
    users = [u for u in state.users.values() if u.deleted_at is None]
    found = _page(_users_query(state, now), users, payload)
    return {"users": [render_full_user(u, state, now) for u in found]}


def delete_users(call: Call) -> dict[str, Any]:
    """POST /api/v2/users/delete: runs at once and answers a completed task's id; ``user``
    soft (default), pruning or hard; ``messages`` soft, pruning or hard."""
    body, state, now = call.body, call.state, call.now
    ids = body.get("user_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise input_error("user_ids must be a non-empty array of ids", {"user_ids": "required"})
    if len(ids) > MAX_DELETE:
        raise input_error(f"user_ids takes at most {MAX_DELETE} ids", {"user_ids": "too many"})
    modes: dict[str, str | None] = {}
    for name in ("user", "messages", "conversations", "calls"):
        value = body.get(name) or None
        if value is not None and value not in MESSAGE_MODES:
            raise input_error(
                f"{name} must be one of {', '.join(MESSAGE_MODES)}, got {value!r}",
                {name: "unknown mode"},
            )
        modes[name] = value
    user_mode = modes["user"] or "soft"
    if user_mode == "hard" and (modes["messages"] != "hard" or modes["conversations"] != "hard"):
        raise input_error(
            "user: hard needs messages: hard and conversations: hard as well",
            {"user": "hard needs messages and conversations hard"},
        )
    result: dict[str, Any] = {}
    for user_id in dict.fromkeys(ids):
        user = state.users.get(user_id)
        if user is None:
            result[user_id] = {"status": "error", "error": f"user {user_id!r} does not exist"}
            continue
        if modes["messages"]:
            _delete_messages(call, user_id, modes["messages"])
        if user_mode == "hard":
            _forget(state, user_id)
        else:
            user.deleted_at = now
            user.updated_at = now
            if user_mode == "pruning":
                user.name = user.image = None
                user.custom, user.teams = {}, []
        call.log("delete_user", user_id=None, target_user_id=user_id, custom={"mode": user_mode})
        result[user_id] = {"status": "ok"}
    task_id = call.new_id()
    state.user_tasks[task_id] = {
        "task_id": task_id,
        "status": "completed",
        "created_at": now,
        "updated_at": now,
        "result": result,
    }
    return {"task_id": task_id}


def _delete_messages(call: Call, user_id: str, mode: str) -> None:
    state = call.state
    for message in list(state.messages.values()):
        if message.user_id != user_id:
            continue
        if mode == "hard":
            del state.messages[message.id]
        else:
            message.type, message.deleted_at, message.updated_at = "deleted", call.now, call.now
            if mode == "pruning":
                message.text, message.html, message.attachments = "", "", []
        call.state.entity("stream:chat:v1:message", message.id).deleted = mode
    delete_user_content(call, user_id, mode)


def _forget(state: State, user_id: str) -> None:
    """A hard delete: the user and the moderation records about them (bans, mutes, blocks,
    remembered texts); review queue items stay (their content is marked deleted)."""
    state.users.pop(user_id, None)
    state.bans = [b for b in state.bans if b.target_user_id != user_id]
    state.mutes = {k: m for k, m in state.mutes.items() if user_id not in k}
    state.blocks = {k: b for k, b in state.blocks.items() if user_id not in k}
    state.sent_texts.pop(user_id, None)


def get_task(call: Call) -> dict[str, Any]:
    """GET /api/v2/tasks/{id}: the tasks ``delete_users`` started (completed at once)."""
    task = call.state.user_tasks.get(call.path["id"])
    if task is None:
        raise not_found(f"task {call.path['id']!r}", {"id": "no such task"})
    return {
        **task,
        "created_at": ts(task["created_at"]),
        "updated_at": ts(task["updated_at"]),
        "result": json.loads(json.dumps(task["result"])),
    }


def _blocker(call: Call) -> str:
    user_id = call.acting_user()
    if user_id is None:
        raise input_error(
            "user_id is required server-side: the user who blocks", {"user_id": "required"}
        )
    return user_id


def _blocked(call: Call) -> str:
    blocked = call.body.get("blocked_user_id")
    if not isinstance(blocked, str) or not blocked:
        raise input_error("blocked_user_id is required", {"blocked_user_id": "required"})
    if blocked not in call.state.users:
        raise not_found(f"user {blocked!r}", {"blocked_user_id": "no such user"})
    return blocked


def block_users(call: Call) -> dict[str, Any]:
    """POST /api/v2/users/block: ``user_id`` (or the user token's) blocks ``blocked_user_id``."""
    if call.body.get("user") is not None:
        user_request(call.body["user"], "user")
    blocked = _blocked(call)
    user_id = _blocker(call)
    if blocked == user_id:
        raise input_error("a user cannot block themselves", {"blocked_user_id": "self"})
    block = call.state.blocks.get((user_id, blocked))
    if block is None:
        block = call.state.blocks[(user_id, blocked)] = Block(user_id, blocked, call.now)
    return {
        "blocked_by_user_id": user_id,
        "blocked_user_id": blocked,
        "created_at": ts(block.created_at),
    }


def unblock_users(call: Call) -> dict[str, Any]:
    """POST /api/v2/users/unblock: lifts the block (unblocking a user not blocked is fine)."""
    blocked = _blocked(call)
    user_id = _blocker(call)
    call.state.blocks.pop((user_id, blocked), None)
    return {}


def get_blocked_users(call: Call) -> dict[str, Any]:
    """GET /api/v2/users/block?user_id=: the users ``user_id`` blocked, oldest first."""
    user_id = call.caller.user_id or call.query.get("user_id")
    if not user_id:
        raise input_error("user_id is required server-side", {"user_id": "required"})
    state, now = call.state, call.now
    blocks = []
    for (owner, blocked), block in state.blocks.items():
        if owner != user_id or owner not in state.users or blocked not in state.users:
            continue
        blocks.append(
            {
                "user_id": owner,
                "blocked_user_id": blocked,
                "created_at": ts(block.created_at),
                "user": render_user(state.users[owner], state, now),
                "blocked_user": render_user(state.users[blocked], state, now),
            }
        )
    return {"blocks": blocks}


BANS: Query[Ban] = Query(
    name="banned users",
    fields={
        "user_id": Field("string", lambda b: b.target_user_id),
        "banned_by_id": Field("string", lambda b: b.created_by_id),
        "channel_cid": Field("string", lambda b: b.channel_cid),
        "reason": Field("string", lambda b: b.reason),
        "shadow": Field("bool", lambda b: b.shadow),
        "created_at": Field("time", lambda b: b.created_at),
        "expires": Field("time", lambda b: b.expires),
    },
    default_sort=(("created_at", -1),),
    seq=lambda b: b.seq,
)


def render_ban_response(ban: Ban, state: State, now: int) -> dict[str, Any]:
    """A BanResponse (getstream 7.0.0): the ban, its user, who banned, and the channel."""
    from .chat import render_channel

    out: dict[str, Any] = {"created_at": ts(ban.created_at), "shadow": ban.shadow}
    if ban.expires is not None:
        out["expires"] = ts(ban.expires)
    if ban.reason is not None:
        out["reason"] = ban.reason
    user = state.users.get(ban.target_user_id)
    if user is not None:
        out["user"] = render_user(user, state, now)
    by = state.users.get(ban.created_by_id or "")
    if by is not None:
        out["banned_by"] = render_user(by, state, now)
    channel = state.channels.get(ban.channel_cid or "")
    if channel is not None:
        out["channel"] = render_channel(channel, state, now)
    return out


def query_banned_users(call: Call) -> dict[str, Any]:
    """GET /api/v2/chat/query_banned_users?payload={"filter_conditions": ...}: the bans
    (app-wide and channel), newest first; ``exclude_expired_bans`` leaves out expired ones."""
    payload = json_payload(call)
    state, now = call.state, call.now
    bans = list(state.bans)
    if payload.get("exclude_expired_bans"):
        bans = [b for b in bans if b.active(now)]
    found = _page(BANS, bans, payload)
    return {"bans": [render_ban_response(b, state, now) for b in found]}
