"""The standalone moderation rules API (rule builder rules scoped to configs)."""

from __future__ import annotations

from typing import Any

from .._classifier import DEFAULT_TRIGGERS
from .._errors import input_error, not_found
from .._query import Field, Query
from .._spec import declares
from .._wire import ts
from . import Call, handler
from ._paging import page_of, with_cursors

__all__ = [
    "RULES",
    "delete_moderation_rule",
    "get_moderation_rule",
    "query_moderation_rules",
    "upsert_moderation_rule",
]

RULE_TYPES = ("user", "content", "call")
_OPTIONAL = ("action", "action_sequences", "conditions", "groups", "logic", "cooldown_period")

LABEL_DESCRIPTIONS = {
    "SPAM": "Unsolicited promotion, bulk or repetitive commercial content",
    "SCAM": "Attempts to defraud: fake prizes, credential or payment phishing",
    "HARASSMENT": "Insults, bullying and threats aimed at a person",
    "HATE": "Attacks on people for a protected characteristic",
    "SEXUAL_HARASSMENT": "Unwanted sexual requests or comments",
    "SELF_HARM": "Content about hurting or killing oneself",
    "PII": "Personal data such as email addresses and phone numbers",
    "PLATFORM_BYPASS": "Attempts to move the conversation to another platform",
}


def _render(rule: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": rule["id"],
        "name": rule["name"],
        "description": rule.get("description") or "",
        "config_keys": list(rule.get("config_keys") or []),
        "team": rule.get("team") or "",
        "rule_type": rule["rule_type"],
        "enabled": rule.get("enabled", True) is not False,
        "created_at": ts(rule["created_at"]),
        "updated_at": ts(rule["updated_at"]),
    }
    for name in _OPTIONAL:
        if rule.get(name) is not None:
            out[name] = rule[name]
    return out


@handler("upsert_moderation_rule")
def upsert_moderation_rule(call: Call) -> dict[str, Any]:
    body, store = call.body, call.state.rules
    if body["rule_type"] not in RULE_TYPES:
        raise input_error(
            f"rule_type must be one of {', '.join(RULE_TYPES)}",
            {"rule_type": f"got {body['rule_type']!r}"},
        )
    if not body["name"].strip():
        raise input_error("name must not be empty", {"name": "must not be empty"})
    if body.get("logic") is not None and body["logic"] not in ("AND", "OR"):
        raise input_error("logic must be AND or OR", {"logic": f"got {body['logic']!r}"})
    call.acting_user()
    team = body.get("team") or ""
    existing = next(
        (r for r in store.values() if r["name"] == body["name"] and (r.get("team") or "") == team),
        None,
    )
    rule = {k: v for k, v in body.items() if k not in ("user", "user_id")}
    rule["id"] = existing["id"] if existing else call.new_id()
    rule["created_at"] = existing["created_at"] if existing else call.now
    rule["seq"] = existing["seq"] if existing else call.state.next_seq()
    rule["updated_at"] = call.now
    store[rule["id"]] = rule
    return {"rule": _render(rule)}


def _rule(call: Call) -> dict[str, Any]:
    rule = call.state.rules.get(call.path["id"])
    if rule is None:
        raise not_found(f"moderation rule {call.path['id']!r}", {"id": "no rule with this id"})
    return rule


@handler("get_moderation_rule")
def get_moderation_rule(call: Call) -> dict[str, Any]:
    return {"rule": _render(_rule(call))}


@handler("delete_moderation_rule")
def delete_moderation_rule(call: Call) -> dict[str, Any]:
    del call.state.rules[_rule(call)["id"]]
    return {}


def _field(name: str, kind: Any = "string") -> Field[dict[str, Any]]:
    return Field(kind, lambda r: r.get(name))


RULES: Query[dict[str, Any]] = Query(
    name="moderation rules",
    fields={
        "id": _field("id"),
        "name": _field("name"),
        "rule_type": _field("rule_type"),
        "description": _field("description"),
        "team": Field("string", lambda r: r.get("team") or ""),
        "enabled": Field("bool", lambda r: r.get("enabled", True) is not False),
        "config_keys": Field("list", lambda r: r.get("config_keys") or [], sortable=False),
        "created_at": _field("created_at", "time"),
        "updated_at": _field("updated_at", "time"),
    },
    default_sort=(("created_at", 1),),
    seq=lambda r: int(r["seq"]),
)


@handler("query_moderation_rules")
def query_moderation_rules(call: Call) -> dict[str, Any]:
    page = page_of(call, RULES, call.state.rules.values())
    labels = getattr(call.backend.classifier, "labels", sorted(DEFAULT_TRIGGERS))
    out: dict[str, Any] = {
        "rules": [_render(rule) for rule in page.records],
        "default_llm_labels": {
            label: LABEL_DESCRIPTIONS.get(label, label.replace("_", " ").capitalize())
            for label in labels
        },
        "keyframe_labels": [],
        "keyframe_label_classifications": {},
        "closed_caption_labels": list(labels),
        "ai_image_label_definitions": [],
        "ai_image_subclassifications": {},
    }
    # fields later releases added: the classifier's labels serve usernames and OCR text too
    if declares("QueryModerationRulesResponse", "default_username_llm_labels"):
        out["default_username_llm_labels"] = dict(out["default_llm_labels"])
    if declares("QueryModerationRulesResponse", "ocr_labels"):
        out["ocr_labels"] = list(labels)
    return with_cursors(out, page)
