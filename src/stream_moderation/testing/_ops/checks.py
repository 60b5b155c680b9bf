"""check, custom_check, labels and the other content-analysis operations."""

from __future__ import annotations

import collections
import hashlib
import json
import re
from typing import Any

from ..._types import Timestamp
from .._classifier import BUILTIN_BLOCKLISTS, mask_matches, severity_rank
from .._errors import input_error, not_found
from .._policy import Evaluation, Hit, evaluate, flood_problem, normalise_text, recommend
from .._query import Field, Query
from .._render import render_item
from .._state import SENT_TEXTS_PER_USER, Config, SentText, State
from .._wire import ts
from . import Call, handler
from ._items import add_to_queue, item_event, new_flag
from ._paging import page_of, with_cursors

__all__ = [
    "LABEL_RESULTS",
    "bulk_image_moderation",
    "channel_of",
    "check",
    "check_s3_access",
    "custom_check",
    "default_config",
    "default_keys",
    "find_config",
    "labels",
    "query_label_results",
    "submit_moderation_feedback",
]


def find_config(state: State, key: str, team: str) -> Config | None:
    """The config ``key`` of ``team``, else the team-less one with that key."""
    return state.configs.get((key, team)) or (state.configs.get((key, "")) if team else None)


def default_keys(entity_type: str, channel_cid: str | None) -> list[str]:
    """The config keys that apply to an entity checked without ``config_key``, most
    specific first: ``chat:<type>:<id>``, ``chat:<type>`` (with the channel of
    ``options.channel_cid``, ``<type>:<id>``) and ``chat`` for chat entities, ``feeds`` for
    feeds entities; none for any other entity type."""
    if entity_type.startswith("stream:chat:"):
        keys = []
        if channel_cid and ":" in channel_cid:
            channel_type, channel_id = channel_cid.split(":", 1)
            keys += [f"chat:{channel_type}:{channel_id}", f"chat:{channel_type}"]
        return [*keys, "chat"]
    if entity_type.startswith("stream:feeds:"):
        return ["feeds"]
    return []


def default_config(
    state: State, entity_type: str, team: str, channel_cid: str | None
) -> Config | None:
    """The default policy of an entity type (see ``default_keys``), if one is stored."""
    for key in default_keys(entity_type, channel_cid):
        config = find_config(state, key, team)
        if config is not None:
            return config
    return None


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel a check names (``options.channel_cid``, ``<type>:<id>``), if any."""
    channel = (body.get("options") or {}).get("channel_cid")
    return channel if isinstance(channel, str) and channel else None


def _resolve_config(call: Call) -> tuple[str | None, dict[str, Any], list[str]]:
    """The key, sections and teams of the policy a check applies (no policy: no rules)."""
    body = call.body
    key = body.get("config_key") or None
    team = body.get("config_team") or ""
    inline = body.get("config")
    if inline is not None:
        if not body.get("test_mode"):
            raise input_error(
                "an inline config is only honoured in test mode: pass test_mode: true, or "
                "store the policy with upsert_config and pass config_key",
                {"config": "only allowed with test_mode: true"},
            )
        problem = flood_problem(inline.get("flood_config") or {})
        if problem is not None:
            raise input_error(
                f"config.{problem[0]} {problem[1]}", {f"config.{problem[0]}": problem[1]}
            )
        return key, dict(inline), [team] if team else []
    if key is not None:
        config = find_config(call.state, key, team)
        if config is None:
            scope = f" for team {team!r}" if team else ""
            raise not_found(
                f"moderation config {key!r}{scope}", {"config_key": "no config with this key"}
            )
        return key, config.sections, [config.team] if config.team else []
    entity_type = str(body.get("entity_type", ""))
    config = default_config(call.state, entity_type, team, channel_of(body))
    if config is None:
        return None, {}, [team] if team else []
    return config.key, config.sections, [config.team] if config.team else []


def _flags_from_hits(
    call: Call, hits: list[Hit], entity: tuple[str, str], creator: str | None, payload: Any
) -> list[Any]:
    by_engine: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.action != "keep":
            by_engine.setdefault(hit.engine, []).append(hit)
    flags = []
    for engine, engine_hits in by_engine.items():
        labels = sorted({hit.label for hit in engine_hits})
        flags.append(
            new_flag(
                call,
                flag_type=engine,
                entity_type=entity[0],
                entity_id=entity[1],
                user_id="",
                entity_creator_id=creator,
                reason=f"{engine}: {', '.join(labels)}",
                labels=labels,
                result=[hit.result() for hit in engine_hits],
                moderation_payload=payload,
            )
        )
    return flags


def _content_key(creator: str, payload: dict[str, Any]) -> str:
    parts = [*(payload.get("texts") or []), *(payload.get("images") or [])]
    parts += payload.get("videos") or []
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()
    return f"{creator}:{digest}"


def _resolve_bounce(call: Call, action: str, creator: str, payload: dict[str, Any]) -> str:
    """bounce_flag / bounce_remove: the first send bounces, the same content resent by the
    same user is flagged / removed."""
    if action not in ("bounce_flag", "bounce_remove"):
        return action
    key = (creator, _content_key(creator, payload))
    if key in call.state.bounced:
        return "flag" if action == "bounce_flag" else "remove"
    if not call.body.get("test_mode"):
        call.state.bounced.add(key)
    return "bounce"


def _fingerprint(body: dict[str, Any], config: Any) -> str:
    """What makes two checks of one entity the same check: the whole request and the
    policy it applies (a re-check after ``upsert_config`` changed the policy is new)."""
    text = json.dumps([body, config], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@handler("check")
def check(call: Call) -> dict[str, Any]:
    """Run the policy over the content; see the README ("What ``check`` does").

    An identical re-check of the same entity (the same request body, under the same
    policy) is the same check: it answers what the first one answered (the review queue
    item as it is now) and records nothing again: no second flag, action log, violation
    count, bounce state or webhook. A check sent twice because its response was lost
    (the SDK does not resend one, but a caller may) cannot double what a moderator sees.
    A check that differs in anything (other content, another config) is a new check.
    """
    body, state = call.body, call.state
    entity = (body["entity_type"], body["entity_id"])
    for name, value in zip(("entity_type", "entity_id"), entity, strict=True):
        if not value.strip():
            raise input_error(f"{name} must not be empty", {name: "must not be empty"})
    creator = body["entity_creator_id"]
    test_mode = bool(body.get("test_mode"))
    state.check_counts[entity[1]] = state.check_counts.get(entity[1], 0) + 1
    key, sections, teams = _resolve_config(call)
    fingerprint = _fingerprint(body, sections)
    if not test_mode:
        previous = state.last_checks.get(entity)
        if previous is not None and previous[0] == fingerprint:
            return _replay(call, previous[1])
    response = _check(call, entity, creator, test_mode, key, sections, teams)
    if not test_mode:
        kept = {k: v for k, v in response.items() if k != "item"}
        if "item" in response:
            kept["item_id"] = response["item"]["id"]
        state.last_checks[entity] = (fingerprint, kept)
    return response


def _replay(call: Call, answer: dict[str, Any]) -> dict[str, Any]:
    response = {k: v for k, v in answer.items() if k != "item_id"}
    item = call.state.items.get(answer.get("item_id") or "")
    if item is not None:
        response["item"] = render_item(item, call.state, call.now)
    return response


def _check(
    call: Call,
    entity: tuple[str, str],
    creator: str,
    test_mode: bool,
    key: str | None,
    sections: dict[str, Any],
    teams: list[str],
) -> dict[str, Any]:
    body, state, now = call.body, call.state, call.now
    payload = dict(body.get("moderation_payload") or {})
    creator_user = state.users.get(creator)
    sent = state.sent_texts.get(creator) or ()
    if creator_user is not None and creator_user.bypass_moderation:
        evaluation = Evaluation()
    else:
        evaluation = evaluate(
            sections,
            payload,
            classifier=call.backend.classifier,
            blocklists=call.backend.blocklists,
            history=[(text.at, text.text) for text in sent],
            now=now,
        )
    action = _resolve_bounce(call, evaluation.top_action, creator, payload)
    recommended = recommend(action)
    response: dict[str, Any] = {"recommended_action": recommended, "status": "complete"}
    if test_mode:
        return response
    call.acting_user()
    state.user(creator, now)
    memory = state.sent_texts.setdefault(creator, collections.deque(maxlen=SENT_TEXTS_PER_USER))
    for text in payload.get("texts") or []:
        if isinstance(text, str) and text.strip():
            memory.append(SentText(now, normalise_text(text)))
    item_id = ""
    if any(hit.action == "mask_flag" for hit in evaluation.hits):
        state.entity(*entity).masked = True
    if recommended != "keep":
        flags = _flags_from_hits(call, evaluation.hits, entity, creator, payload)
        item, created = add_to_queue(
            call,
            entity_type=entity[0],
            entity_id=entity[1],
            entity_creator_id=creator,
            recommended_action=recommended,
            flags=flags,
            moderation_payload=payload,
            config_key=key,
            teams=teams,
            severity=evaluation.severity,
            ai_text_severity=evaluation.text_severity,
            channel_cid=channel_of(body),
        )
        engines = sorted({hit.engine for hit in evaluation.hits})
        log = call.log(
            recommended,
            user_id=None,
            target_user_id=creator,
            reporter_type="automod",
            reason=", ".join(flag.reason or "" for flag in flags),
            ai_providers=engines,
            entity=entity,
            item_id=item.id,
        )
        item.actions.append(log)
        item_id = item.id
        response["item"] = render_item(item, state, now)
        item_event(call, item, created=created, flags=flags, action=log)
    call.event(
        "moderation_check.completed",
        {
            "entity_id": entity[1],
            "entity_type": entity[0],
            "recommended_action": recommended,
            "review_queue_item_id": item_id,
        },
    )
    return response


@handler("custom_check")
def custom_check(call: Call) -> dict[str, Any]:
    body = call.body
    entity = (body["entity_type"], body["entity_id"])
    creator = body.get("entity_creator_id")
    payload = body.get("moderation_payload")
    if not entity[0].startswith("stream:chat:") and (not creator or payload is None):
        raise input_error(
            "entity_creator_id and moderation_payload are required for non-message entities",
            {"entity_creator_id" if not creator else "moderation_payload": "required"},
        )
    reporter = call.acting_user() or ""
    if creator:
        call.state.user(creator, call.now)
    flags = [
        new_flag(
            call,
            flag_type=spec["type"],
            entity_type=entity[0],
            entity_id=entity[1],
            user_id=reporter,
            entity_creator_id=creator,
            reason=spec.get("reason"),
            labels=list(spec.get("labels") or []),
            result=[{"engine": "custom_check", "labels": list(spec.get("labels") or [])}],
            custom=spec.get("custom"),
            moderation_payload=payload,
        )
        for spec in body["flags"]
    ]
    item, created = add_to_queue(
        call,
        entity_type=entity[0],
        entity_id=entity[1],
        entity_creator_id=creator,
        recommended_action="flag",
        flags=flags,
        moderation_payload=payload,
    )
    item_event(call, item, created=created, flags=flags)
    return {"id": item.id, "status": "complete", "item": render_item(item, call.state, call.now)}


_YOU = re.compile(r"\b(?:you|your|you're|youre|u)\b", re.IGNORECASE)


@handler("labels")
def labels(call: Call) -> dict[str, Any]:
    body, state = call.body, call.state
    content = body["content"]
    detections = list(call.backend.classifier(content))
    detections.sort(key=lambda d: (-severity_rank(d.severity), d.label))
    policy = body.get("policy")
    config = state.configs.get((policy, "")) if policy else None
    if config is not None:
        evaluation = evaluate(
            config.sections,
            {"texts": [content]},
            classifier=call.backend.classifier,
            blocklists=call.backend.blocklists,
        )
        recommended = recommend(evaluation.top_action)
    elif detections:
        worst = detections[0].severity
        recommended = "remove" if severity_rank(worst) >= severity_rank("high") else "flag"
    else:
        recommended = "keep"
    profanity = BUILTIN_BLOCKLISTS["profanity_en"]
    masked = mask_matches(content, profanity, substring=False)
    out: dict[str, Any] = {
        "recommended_action": recommended,
        "labels": [d.label for d in detections],
        "harm_type": detections[0].label if detections else "",
        "severity": detections[0].severity if detections else "",
        "language": "en",
        "directed_at": "USER" if detections and _YOU.search(content) else "NONE",
    }
    if masked != content:
        out["masked_content"] = masked
    if body.get("content_id") is not None:
        out["content_id"] = body["content_id"]
    if not body.get("dry_run"):
        record = {
            **out,
            "id": call.new_id(),
            "created_at": call.now,
            "seq": state.next_seq(),
            "content": content,
            "content_type": body.get("content_type") or "text",
            "category": body.get("category") or "",
        }
        for name in ("policy", "user_id"):
            if body.get(name) is not None:
                record[name] = body[name]
        state.label_results.append(record)
    return out


def _label_field(name: str, kind: Any = "string") -> Field[dict[str, Any]]:
    return Field(kind, lambda r: r.get(name))


LABEL_RESULTS: Query[dict[str, Any]] = Query(
    name="label results",
    fields={
        **{
            name: _label_field(name)
            for name in (
                "id",
                "content_type",
                "content_id",
                "user_id",
                "harm_type",
                "recommended_action",
                "severity",
                "category",
                "policy",
                "language",
                "directed_at",
            )
        },
        "created_at": _label_field("created_at", "time"),
        "labels": Field("list", lambda r: r.get("labels"), sortable=False),
    },
    default_sort=(("created_at", -1),),
    seq=lambda r: int(r["seq"]),
)


@handler("query_label_results")
def query_label_results(call: Call) -> dict[str, Any]:
    page = page_of(call, LABEL_RESULTS, call.state.label_results)
    results = [
        {**{k: v for k, v in r.items() if k != "seq"}, "created_at": ts(r["created_at"])}
        for r in page.records
    ]
    return with_cursors({"label_results": results}, page)


@handler("bulk_image_moderation")
def bulk_image_moderation(call: Call) -> dict[str, Any]:
    csv_file = call.body["csv_file"]
    if not re.match(r"^(https?|stream\+s3)://", csv_file):
        raise input_error(
            "csv_file must be the URL of a CSV file of image URLs", {"csv_file": "not a URL"}
        )
    task_id = call.new_id()
    call.state.bulk_image_jobs[task_id] = {"csv_file": csv_file, "created_at": call.now}
    return {"task_id": task_id}


@handler("check_s3_access")
def check_s3_access(call: Call) -> dict[str, Any]:
    url = call.body.get("s3_url")
    if url is None:
        return {"success": True, "message": "no s3_url given: nothing to check"}
    if not url.startswith("stream+s3://"):
        raise input_error(
            "s3_url must be a stream+s3:// reference", {"s3_url": "expected stream+s3://..."}
        )
    return {"success": True, "message": f"emulated: {url} is readable"}


@handler("submit_moderation_feedback")
def submit_moderation_feedback(call: Call) -> dict[str, Any]:
    body = call.body
    try:
        Timestamp.from_rfc3339(body["published_at"])
    except ValueError:
        raise input_error(
            "published_at must be an RFC 3339 timestamp",
            {"published_at": "expected an RFC 3339 timestamp"},
        ) from None
    call.state.feedback.append({**body, "received_at": call.now})
    return {}
