"""Moderation configs (policies), feeds moderation templates and action configs."""

from __future__ import annotations

from typing import Any

from .._errors import input_error, not_found
from .._policy import flood_problem
from .._query import Field, Query
from .._render import render_config
from .._state import Config
from .._wire import ts
from . import Call, handler
from ._paging import page_of, with_cursors

__all__ = [
    "CONFIGS",
    "action_configs",
    "bulk_delete_action_config",
    "bulk_upsert_action_config",
    "default_action_configs",
    "delete_action_config",
    "delete_config",
    "get_action_config",
    "get_config",
    "query_moderation_configs",
    "upsert_action_config",
    "upsert_config",
    "v2_delete_template",
    "v2_query_templates",
    "v2_upsert_template",
]

_NOT_SECTIONS = frozenset({"key", "team", "user", "user_id"})
MAX_BUILDER_RULES = 3
MAX_BUILDER_CONDITIONS = 5


def _validate_policy(call: Call, sections: dict[str, Any]) -> None:
    problem = flood_problem(sections.get("flood_config") or {})
    if problem is not None:
        raise input_error(f"{problem[0]} {problem[1]}", {problem[0]: problem[1]})
    block = sections.get("block_list_config") or {}
    for rule in block.get("rules") or []:
        name = rule.get("name")
        if name is not None and name not in call.backend.blocklists:
            raise input_error(
                f"Blocklist not found: {name!r} (built in: profanity_en; register more with "
                "Emulator.add_blocklist)",
                {"block_list_config.rules[].name": f"blocklist {name!r} not found"},
            )
    builder = sections.get("rule_builder_config") or {}
    rules = builder.get("rules") or []
    if len(rules) > MAX_BUILDER_RULES:
        raise input_error(
            f"rule_builder_config allows at most {MAX_BUILDER_RULES} rules",
            {"rule_builder_config.rules": f"at most {MAX_BUILDER_RULES} rules"},
        )
    for rule in rules:
        conditions = rule.get("conditions") or []
        if len(conditions) > MAX_BUILDER_CONDITIONS:
            raise input_error(
                f"a rule_builder_config rule allows at most {MAX_BUILDER_CONDITIONS} conditions",
                {"rule_builder_config.rules[].conditions": "too many conditions"},
            )


@handler("upsert_config")
def upsert_config(call: Call) -> dict[str, Any]:
    body, state = call.body, call.state
    key = body["key"]
    if not key.strip():
        raise input_error("key must not be empty", {"key": "must not be empty"})
    team = body.get("team") or ""
    sections = {k: v for k, v in body.items() if k not in _NOT_SECTIONS}
    _validate_policy(call, sections)
    call.acting_user()
    existing = state.configs.get((key, team))
    config = Config(
        key=key,
        team=team,
        sections=sections,
        created_at=existing.created_at if existing else call.now,
        updated_at=call.now,
        seq=existing.seq if existing else state.next_seq(),
    )
    state.configs[(key, team)] = config
    return {"config": render_config(config)}


def _config(call: Call) -> Config:
    key = call.path["key"]
    team = call.query.get("team") or ""
    config = call.state.configs.get((key, team))
    if config is None:
        scope = f" for team {team!r}" if team else ""
        raise not_found(f"moderation config {key!r}{scope}", {"key": "no config with this key"})
    return config


@handler("get_config")
def get_config(call: Call) -> dict[str, Any]:
    return {"config": render_config(_config(call))}


@handler("delete_config")
def delete_config(call: Call) -> dict[str, Any]:
    config = _config(call)
    del call.state.configs[(config.key, config.team)]
    return {}


CONFIGS: Query[Config] = Query(
    name="moderation configs",
    fields={
        "key": Field("string", lambda c: c.key),
        "team": Field("string", lambda c: c.team),
        "created_at": Field("time", lambda c: c.created_at),
        "updated_at": Field("time", lambda c: c.updated_at),
        "async": Field("bool", lambda c: bool(c.sections.get("async", False))),
    },
    default_sort=(("key", 1), ("team", 1)),
    seq=lambda c: c.seq,
)


@handler("query_moderation_configs")
def query_moderation_configs(call: Call) -> dict[str, Any]:
    page = page_of(call, CONFIGS, call.state.configs.values())
    return with_cursors({"configs": [render_config(c) for c in page.records]}, page)


# ---------------------------------------------------------------------------------------
# Feeds moderation templates
# ---------------------------------------------------------------------------------------


def _template(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": record["name"],
        "config": record["config"],
        "created_at": ts(record["created_at"]),
        "updated_at": ts(record["updated_at"]),
    }


@handler("v2_upsert_template")
def v2_upsert_template(call: Call) -> dict[str, Any]:
    body = call.body
    existing = call.state.templates.get(body["name"])
    record = {
        "name": body["name"],
        "config": body["config"],
        "created_at": existing["created_at"] if existing else call.now,
        "updated_at": call.now,
    }
    call.state.templates[body["name"]] = record
    return _template(record)


@handler("v2_query_templates")
def v2_query_templates(call: Call) -> dict[str, Any]:
    records = sorted(call.state.templates.values(), key=lambda r: (r["created_at"], r["name"]))
    return {"templates": [_template(r) for r in records[:100]]}


@handler("v2_delete_template")
def v2_delete_template(call: Call) -> dict[str, Any]:
    # The spec declares no parameter: ?name= deletes one template, no name deletes them all.
    name = call.query.get("name")
    if name is None:
        call.state.templates.clear()
    elif call.state.templates.pop(name, None) is None:
        raise not_found(f"moderation template {name!r}", {"name": "no template with this name"})
    return {}


# ---------------------------------------------------------------------------------------
# Action configs (the dashboard's buttons per entity type)
# ---------------------------------------------------------------------------------------

_DEFAULT_BUTTONS: dict[str, list[tuple[str, str, str]]] = {
    "stream:chat:v1:message": [
        ("mark_reviewed", "Mark reviewed", "check"),
        ("delete_message", "Delete message", "trash"),
        ("ban", "Ban user", "ban"),
    ],
    "stream:user": [
        ("mark_reviewed", "Mark reviewed", "check"),
        ("ban", "Ban user", "ban"),
        ("delete_user", "Delete user", "trash"),
    ],
    "stream:feeds:v2:activity": [
        ("mark_reviewed", "Mark reviewed", "check"),
        ("delete_activity", "Delete activity", "trash"),
        ("ban", "Ban user", "ban"),
    ],
    "stream:feeds:v2:reaction": [
        ("mark_reviewed", "Mark reviewed", "check"),
        ("delete_reaction", "Delete reaction", "trash"),
        ("ban", "Ban user", "ban"),
    ],
}


def default_action_configs(entity_types: list[str] | None = None) -> dict[str, list[Any]]:
    """The built-in buttons, per entity type (every known type when none are named)."""
    types = entity_types if entity_types is not None else list(_DEFAULT_BUTTONS)
    out: dict[str, list[Any]] = {}
    for entity_type in types:
        buttons = _DEFAULT_BUTTONS.get(entity_type)
        if buttons is None:
            buttons = [("mark_reviewed", "Mark reviewed", "check"), ("ban", "Ban user", "ban")]
        out[entity_type] = [
            {
                "entity_type": entity_type,
                "order": index,
                "action": action,
                "description": description,
                "icon": icon,
            }
            for index, (action, description, icon) in enumerate(buttons)
        ]
    return out


def _render_action_config(record: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": record["id"],
        "entity_type": record["entity_type"],
        "order": record["order"],
        "action": record["action"],
        "icon": record.get("icon") or "",
        "description": record.get("description") or "",
    }
    if record.get("custom") is not None:
        out["custom"] = record["custom"]
    if record.get("queue_type"):
        out["queue_type"] = record["queue_type"]
    return out


def action_configs(
    call: Call,
    entity_types: list[str] | None,
    *,
    queue_type: str | None = None,
    include_defaults: bool = True,
) -> dict[str, list[Any]]:
    """Stored action configs (plus defaults for actions they do not cover), per entity type."""
    stored: dict[str, list[dict[str, Any]]] = {}
    for record in call.state.action_configs.values():
        if (record.get("queue_type") or "") != (queue_type or ""):
            continue
        if entity_types is not None and record["entity_type"] not in entity_types:
            continue
        stored.setdefault(record["entity_type"], []).append(_render_action_config(record))
    types = entity_types if entity_types is not None else sorted(stored)
    if include_defaults:
        defaults = default_action_configs(
            entity_types if entity_types is not None else sorted(set(types) | set(_DEFAULT_BUTTONS))
        )
        for entity_type, buttons in defaults.items():
            have = {b["action"] for b in stored.get(entity_type, [])}
            stored.setdefault(entity_type, []).extend(b for b in buttons if b["action"] not in have)
    return {
        entity_type: sorted(buttons, key=lambda b: (b["order"], b["action"]))
        for entity_type, buttons in sorted(stored.items())
    }


@handler("get_action_config")
def get_action_config(call: Call) -> dict[str, Any]:
    query = call.query
    entity_type = query.get("entity_type") or None
    types = [entity_type] if entity_type else None
    if query.get("only_defaults"):
        return {"action_config": default_action_configs(types)}
    return {
        "action_config": action_configs(
            call,
            types,
            queue_type=query.get("queue_type"),
            include_defaults=not query.get("exclude_defaults"),
        )
    }


def _upsert_action_config(call: Call, spec: dict[str, Any]) -> dict[str, Any]:
    store = call.state.action_configs
    config_id = spec.get("id")
    if config_id is not None and config_id not in store:
        raise not_found(f"action config {config_id!r}", {"id": "no action config with this id"})
    record = {k: v for k, v in spec.items() if k not in ("user", "user_id")}
    record["id"] = config_id or call.new_id()
    store[record["id"]] = record
    return _render_action_config(record)


@handler("upsert_action_config")
def upsert_action_config(call: Call) -> dict[str, Any]:
    call.acting_user()
    return {"action_config": _upsert_action_config(call, call.body)}


@handler("bulk_upsert_action_config")
def bulk_upsert_action_config(call: Call) -> dict[str, Any]:
    call.acting_user()
    specs = call.body["action_configs"]
    for spec in specs:
        if spec.get("id") is not None and spec["id"] not in call.state.action_configs:
            raise not_found(
                f"action config {spec['id']!r}", {"action_configs[].id": "no such action config"}
            )
    return {"action_configs": [_upsert_action_config(call, spec) for spec in specs]}


@handler("delete_action_config")
def delete_action_config(call: Call) -> dict[str, Any]:
    removed = call.state.action_configs.pop(call.path["id"], None)
    return {"deleted": 1 if removed is not None else 0}


@handler("bulk_delete_action_config")
def bulk_delete_action_config(call: Call) -> dict[str, Any]:
    deleted = 0
    for config_id in dict.fromkeys(call.body["ids"]):
        if call.state.action_configs.pop(config_id, None) is not None:
            deleted += 1
    return {"deleted": deleted}
