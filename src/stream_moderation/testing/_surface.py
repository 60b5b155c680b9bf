"""What the emulator serves beyond the moderation spec, in one table; the rest is refused.

The moderation spec (``_spec.operations()``) is served whole. Of Stream's other APIs the
emulator serves only what moderation flows use: the users API and the chat endpoints of
message moderation, listed in ``SURFACE``. Their request and response shapes are not
pinned by a spec file of this project (Stream's common/chat spec is not materialised here):
each envelope follows getstream 7.0.0's models (the ``source`` column), and the objects in
them are the moderation spec's own schemas where it has one (``UserResponse``,
``MessageResponse``, ``ChannelResponse``, ``ChannelMemberResponse``, ``ModerationV2Response``,
filled from the release under test). Every other path answers 404 (code 16) with the header
``X-Stream-Emulator: not-served``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from ._spec import OperationSpec

if TYPE_CHECKING:
    from ._ops import Call

__all__ = ["NOT_SERVED", "SURFACE", "SurfaceEndpoint", "surface_operations"]

NOT_SERVED = "not-served"
"""``X-Stream-Emulator`` on the answer to a path the emulator does not serve."""


@dataclass(frozen=True, slots=True)
class SurfaceEndpoint:
    name: str
    """getstream 7.0.0's method name (also the operation name in ``emulator.calls``)."""
    method: str
    path: str
    status: int
    handler: str
    """``module:function`` in ``_ops``."""
    source: str
    """Where the shapes come from: getstream 7.0.0's request / response models."""
    user_token: bool = False
    """Whether a user token may call it (else a server token is needed, 403 otherwise)."""


SURFACE: tuple[SurfaceEndpoint, ...] = (
    SurfaceEndpoint(
        "update_users", "POST", "/api/v2/users", 201, "users_api:update_users",
        "UpdateUsersRequest -> UpdateUsersResponse (users: id -> FullUserResponse)",
    ),
    SurfaceEndpoint(
        "update_users_partial", "PATCH", "/api/v2/users", 200, "users_api:update_users_partial",
        "UpdateUsersPartialRequest -> UpdateUsersResponse",
    ),
    SurfaceEndpoint(
        "query_users", "GET", "/api/v2/users", 200, "users_api:query_users",
        "payload=QueryUsersPayload (JSON) -> QueryUsersResponse",
    ),
    SurfaceEndpoint(
        "delete_users", "POST", "/api/v2/users/delete", 201, "users_api:delete_users",
        "DeleteUsersRequest -> DeleteUsersResponse (task_id)",
    ),
    SurfaceEndpoint(
        "get_async_task", "GET", "/api/v2/tasks/{id}", 200, "users_api:get_task",
        "-> GetTaskResponse (getstream's get_task; the automod spec has a get_task of its own)",
    ),
    SurfaceEndpoint(
        "block_users", "POST", "/api/v2/users/block", 201, "users_api:block_users",
        "BlockUsersRequest -> BlockUsersResponse", user_token=True,
    ),
    SurfaceEndpoint(
        "get_blocked_users", "GET", "/api/v2/users/block", 200, "users_api:get_blocked_users",
        "user_id= -> GetBlockedUsersResponse (blocks: BlockedUserResponse)", user_token=True,
    ),
    SurfaceEndpoint(
        "unblock_users", "POST", "/api/v2/users/unblock", 201, "users_api:unblock_users",
        "UnblockUsersRequest -> UnblockUsersResponse", user_token=True,
    ),
    SurfaceEndpoint(
        "query_banned_users", "GET", "/api/v2/chat/query_banned_users", 200,
        "users_api:query_banned_users",
        "payload=QueryBannedUsersPayload (JSON) -> QueryBannedUsersResponse (bans: BanResponse)",
    ),
    SurfaceEndpoint(
        "get_or_create_channel", "POST", "/api/v2/chat/channels/{type}/{id}/query", 201,
        "chat:get_or_create_channel",
        "ChannelGetOrCreateRequest -> ChannelStateResponse", user_token=True,
    ),
    SurfaceEndpoint(
        "send_message", "POST", "/api/v2/chat/channels/{type}/{id}/message", 201,
        "chat:send_message", "SendMessageRequest -> SendMessageResponse", user_token=True,
    ),
    SurfaceEndpoint(
        "get_message", "GET", "/api/v2/chat/messages/{id}", 200, "chat:get_message",
        "-> GetMessageResponse (MessageWithChannelResponse)", user_token=True,
    ),
    SurfaceEndpoint(
        "delete_message", "DELETE", "/api/v2/chat/messages/{id}", 200, "chat:delete_message",
        "hard=, deleted_by= -> DeleteMessageResponse",
    ),
)  # fmt: skip


def _title(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@cache
def surface_operations() -> tuple[tuple[OperationSpec, Callable[[Call], dict[str, Any]]], ...]:
    """Each endpoint of ``SURFACE`` as an operation of the app's pipeline (auth, rate
    limits, JSON bodies, the state lock, the journal), with its handler. The handlers check
    their own input (there is no generated model to validate it with)."""
    import importlib

    out = []
    for endpoint in SURFACE:
        module, function = endpoint.handler.split(":")
        handler = getattr(importlib.import_module(f"._ops.{module}", __package__), function)
        op = OperationSpec(
            name=endpoint.name,
            title=_title(endpoint.name),
            method=endpoint.method,
            path=endpoint.path,
            aliases=(),
            success_status=endpoint.status,
            params=(),
            request_schema=None,
            body_required=False,
            request_model=None,
            response_model=None,
            response_schema=None,
        )
        out.append((op, handler))
    return tuple(out)


def user_token_operations() -> frozenset[str]:
    """The surface's operations a user token may call."""
    return frozenset(e.name for e in SURFACE if e.user_token)
