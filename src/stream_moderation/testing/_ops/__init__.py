"""The operation handlers: one function per operation of the spec, on the emulator state.

Giving an operation semantics is one function, in any module of this package:
``@handler("operation_name")`` over ``def f(call: Call) -> dict``. Every module here is
imported; an operation without a handler is answered from its response schema (see
``_fallback``), and a handler for an operation the release does not have is left unused.

A handler gets a ``Call`` (the validated body, query and path parameters, the caller,
the current time, the backend) and returns the response body without ``duration``; it
raises ``EmulatorError`` to answer with an API error and queues webhook events on the call.
Handlers are synchronous and run under the backend's lock.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._auth import Caller
from .._backend import Backend
from .._errors import input_error
from .._spec import OperationSpec
from .._state import ActionLog, State

__all__ = ["HANDLERS", "Call", "Handler", "handler"]


@dataclass(slots=True)
class Call:
    op: OperationSpec
    body: dict[str, Any]
    query: dict[str, Any]
    path: dict[str, str]
    caller: Caller
    now: int
    backend: Backend
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """The file parts of a multipart/form-data body: name -> (filename, content)."""

    @property
    def state(self) -> State:
        return self.backend.state

    def new_id(self) -> str:
        return self.backend.new_id()

    def acting_user(self, *, id_field: str = "user_id", object_field: str = "user") -> str | None:
        """The user the request acts as: a user token, else the body's user_id / user."""
        details = self.body.get(object_field)
        user_id = self.body.get(id_field)
        if user_id is None and isinstance(details, dict):
            user_id = details.get("id")
        if self.caller.user_id is not None:
            user_id = self.caller.user_id
        if user_id is None or user_id == "":
            return None
        self.state.user(user_id, self.now, details if isinstance(details, dict) else None)
        return str(user_id)

    def require_user(self, reason: str) -> str:
        user_id = self.acting_user()
        if user_id is None:
            raise input_error(f"user_id is required {reason}", {"user_id": f"required {reason}"})
        return user_id

    def event(self, event_type: str, payload: dict[str, Any]) -> None:
        self.events.append((event_type, payload))

    def log(
        self,
        action_type: str,
        *,
        user_id: str | None,
        target_user_id: str | None,
        reporter_type: str | None = None,
        reason: str | None = None,
        custom: dict[str, Any] | None = None,
        ai_providers: list[str] | None = None,
        entity: tuple[str, str] | None = None,
        item_id: str | None = None,
    ) -> ActionLog:
        """Record an entry in the moderation log."""
        if reporter_type is None:
            reporter_type = "moderator" if user_id else "api_integration"
        log = ActionLog(
            id=self.new_id(),
            type=action_type,
            created_at=self.now,
            seq=self.state.next_seq(),
            user_id=user_id or "",
            target_user_id=target_user_id or "",
            reporter_type=reporter_type,
            reason=reason or "",
            custom=dict(custom or {}),
            ai_providers=list(ai_providers or []),
            entity_type=entity[0] if entity else None,
            entity_id=entity[1] if entity else None,
            review_queue_item_id=item_id,
        )
        self.state.logs.append(log)
        return log


Handler = Callable[[Call], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(*names: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of the named operations."""

    def register(function: Handler) -> Handler:
        for name in names:
            if name in HANDLERS:
                raise RuntimeError(f"two handlers for {name}")
            HANDLERS[name] = function
        return function

    return register


def load_handlers() -> dict[str, Handler]:
    """Every handler (importing the modules of this package registers them)."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return HANDLERS
