"""The setup session: the dashboard's onboarding wizard state, one per app, stored as sent
(``setup_data`` is merged step by step: a step's data replaces that step's only)."""

from __future__ import annotations

from typing import Any

from .._wire import ts
from . import Call, handler

__all__ = ["get_setup_session", "upsert_setup_session"]


def _render(session: dict[str, Any]) -> dict[str, Any]:
    out = {
        "current_step": session["current_step"],
        "status": session["status"],
        "setup_data": dict(session["setup_data"]),
        "created_at": ts(session["created_at"]),
        "updated_at": ts(session["updated_at"]),
    }
    if session.get("completed_at") is not None:
        out["completed_at"] = ts(session["completed_at"])
    return out


@handler("get_setup_session")
def get_setup_session(call: Call) -> dict[str, Any]:
    session = call.state.setup_session
    return {"setup_session": _render(session)} if session is not None else {}


@handler("upsert_setup_session")
def upsert_setup_session(call: Call) -> dict[str, Any]:
    body, now = call.body, call.now
    session = call.state.setup_session or {"created_at": now, "setup_data": {}}
    session["setup_data"] = {**session["setup_data"], **(body.get("setup_data") or {})}
    session["current_step"], session["status"] = body["current_step"], body["status"]
    session["updated_at"] = now
    if body["status"] == "completed":
        session.setdefault("completed_at", now)
    else:
        session.pop("completed_at", None)
    call.state.setup_session = session
    return {"setup_session": _render(session)}
