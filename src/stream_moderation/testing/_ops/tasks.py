"""The automod task API (``/api/v1/moderation``): stateless tasks, chat message tasks and
the dashboard endpoints that have no schema in the spec.

Evaluations: ``spam_commercial`` scores the classifier's SPAM/SCAM labels,
``platform_circumvention`` its PLATFORM_BYPASS/PII labels, ``semantic_filter`` matches the
evaluation's ``phrases``. A task is ``completed`` at once; a score of 0.5 or more adds a
``flag`` trigger.
"""

from __future__ import annotations

from typing import Any

from .._errors import not_found
from .._render import render_log
from .._wire import parse_time, ts
from . import Call, handler

__all__ = [
    "accept",
    "get_task",
    "list_blocked_messages",
    "list_moderation_logs",
    "list_tasks",
    "submit_chat_message_task",
    "submit_task",
    "update_task",
]

_LABELS = {
    "spam_commercial": ("SPAM", "SCAM"),
    "platform_circumvention": ("PLATFORM_BYPASS", "PII"),
}
TRIGGER_SCORE = 0.5


def _text(payload: dict[str, Any]) -> str:
    text = payload.get("text")
    if isinstance(text, str):
        return text
    return " ".join(v for v in payload.values() if isinstance(v, str))


def _evaluate(
    call: Call, text: str, requested: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    specs = requested or [{"type": name} for name in _LABELS]
    detections = {d.label: d for d in call.backend.classifier(text)} if text else {}
    results: list[dict[str, Any]] = []
    for spec in specs:
        kind = spec["type"]
        matches: list[dict[str, Any]] = []
        score = 0.0
        if kind in _LABELS:
            for label in _LABELS[kind]:
                found = detections.get(label)
                if found is not None:
                    score = max(score, found.confidence)
                    matches.extend({"type": label, "text": m} for m in found.matches)
        else:
            lowered = text.lower()
            for phrase in spec.get("phrases") or []:
                if phrase and phrase.lower() in lowered:
                    score = 1.0
                    matches.append({"type": "phrase", "text": phrase})
        if spec.get("score") is not None:
            score = float(spec["score"])
        if spec.get("matches"):
            matches = [
                {"type": m.get("type") or "", "text": m.get("text") or ""} for m in spec["matches"]
            ]
        results.append({"type": kind, "score": score, "matches": matches})
    return results


def _triggers(evaluations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "flag", "options": {"evaluation": e["type"], "score": e["score"]}}
        for e in evaluations
        if e["score"] >= TRIGGER_SCORE
    ]


def _render_task(task: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in task.items() if k not in ("seq", "kind", "chat")}
    for name in ("created_at", "updated_at", "reviewed_at"):
        if task.get(name) is not None:
            out[name] = ts(task[name])
    return out


def _render_chat_task(task: dict[str, Any]) -> dict[str, Any]:
    out = _render_task(task)
    out.pop("payload", None)
    out.update(task["chat"])
    return out


@handler("submit_task")
def submit_task(call: Call) -> dict[str, Any]:
    body = call.body
    payload = dict(body["payload"])
    evaluations = _evaluate(call, _text(payload), body.get("evaluations"))
    task: dict[str, Any] = {
        "id": call.new_id(),
        "status": "completed",
        "content_type": body["content_type"],
        "payload": payload,
        "evaluations": evaluations,
        "triggers": _triggers(evaluations),
        "created_at": call.now,
        "updated_at": call.now,
        "seq": call.state.next_seq(),
    }
    if body.get("extra") is not None:
        task["extra"] = body["extra"]
    call.state.tasks[task["id"]] = task
    return {"task": _render_task(task)}


@handler("submit_chat_message_task")
def submit_chat_message_task(call: Call) -> dict[str, Any]:
    body = call.body
    evaluations = _evaluate(call, body["text"], body.get("evaluations"))
    chat = {
        "message_id": body["message_id"],
        "user_id": body["user_id"],
        "channel_id": body["channel_id"],
        "user_name": body.get("user_name") or body["user_id"],
        "channel_name": body.get("channel_name") or body["channel_id"],
        "text": body["text"],
    }
    task: dict[str, Any] = {
        "id": call.new_id(),
        "status": "completed",
        "content_type": "text",
        "payload": dict(chat),
        "evaluations": evaluations,
        "triggers": _triggers(evaluations),
        "created_at": call.now,
        "updated_at": call.now,
        "seq": call.state.next_seq(),
        "chat": chat,
    }
    if body.get("extra") is not None:
        task["extra"] = body["extra"]
    call.state.tasks[task["id"]] = task
    return {"task": _render_chat_task(task)}


def _task(call: Call) -> dict[str, Any]:
    task = call.state.tasks.get(call.path["id"])
    if task is None:
        raise not_found(f"task {call.path['id']!r}", {"id": "no task with this id"})
    return task


@handler("get_task")
def get_task(call: Call) -> dict[str, Any]:
    return {"task": _render_task(_task(call))}


@handler("update_task")
def update_task(call: Call) -> dict[str, Any]:
    task, body = _task(call), call.body
    for name in ("assigned_to", "reviewed_by"):
        if body.get(name) is not None:
            task[name] = body[name]
    if body.get("reviewed_at") is not None:
        task["reviewed_at"] = parse_time(body["reviewed_at"])
    if body.get("evaluations") is not None:
        task["evaluations"] = _evaluate(call, _text(task["payload"]), body["evaluations"])
    if body.get("triggers") is not None:
        task["triggers"] = [
            {"type": t.get("type") or "", "options": dict(t.get("options") or {})}
            for t in body["triggers"]
        ]
    task["updated_at"] = call.now
    return {"task": _render_task(task)}


@handler("list_tasks")
def list_tasks(call: Call) -> dict[str, Any]:
    tasks = sorted(call.state.tasks.values(), key=lambda t: int(t["seq"]))
    return {"tasks": [_render_task(t) for t in tasks]}


# The dashboard endpoints: the spec gives them neither a body nor a response schema.


@handler("list_blocked_messages")
def list_blocked_messages(call: Call) -> dict[str, Any]:
    tasks = sorted(
        (t for t in call.state.tasks.values() if "chat" in t and t["triggers"]),
        key=lambda t: int(t["seq"]),
    )
    return {"blocked_messages": [_render_chat_task(t) for t in tasks]}


@handler("list_moderation_logs")
def list_moderation_logs(call: Call) -> dict[str, Any]:
    logs = sorted(call.state.logs, key=lambda log: -log.seq)
    return {"logs": [render_log(log, call.state, call.now) for log in logs[:100]]}


@handler("flag_feedback", "update_flags")
def accept(call: Call) -> dict[str, Any]:
    call.state.feedback.append({"operation": call.op.name, "body": call.body})
    return {}
