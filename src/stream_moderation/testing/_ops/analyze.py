"""``analyze``: per-field verdicts for named texts (and images, sent as multipart parts
``image:<label>``), with no review queue item.

Each text is classified and run through the policy like a check would (``action`` keep,
flag or remove; ``classifications`` with upper-case severities; ``severity`` the highest);
an image is judged by the policy's image rules on its file name (as ``check`` judges media
URLs). The policy is ``config_key``; without it (stateful mode only) the entity type's
default policy, else no rules (keep). Stateful mode names ``entity_type``, ``entity_id`` and
``entity_creator_id`` together; stateless mode none of them, and needs ``config_key``.

``async_response``: the answer is ``pending`` with no verdicts, and the verdicts go out as
``moderation.text_analysis.complete`` / ``moderation.image_analysis.complete`` webhooks
(``moderation.analysis.failed`` when the policy does not exist, in a release that has that
event; a 404 otherwise, as in the sync mode); otherwise ``complete``.
"""

from __future__ import annotations

from typing import Any

from ..._generated.events import EVENT_MODELS
from .._classifier import SEVERITIES, severity_rank
from .._errors import input_error, not_found
from .._policy import evaluate, recommend
from .._state import Config
from . import Call, handler
from .checks import default_config, find_config

__all__ = ["analyze"]

_ENTITY = ("entity_type", "entity_id", "entity_creator_id")
FAILED_EVENT = "moderation.analysis.failed"
IMAGE_PART = "image:"


def _text_field(call: Call, sections: dict[str, Any], text: str) -> dict[str, Any]:
    if not text.strip():
        return {"error": "empty text: nothing to moderate"}
    evaluation = evaluate(
        sections,
        {"texts": [text]},
        classifier=call.backend.classifier,
        blocklists=call.backend.blocklists,
    )
    ranks = [severity_rank(d.severity) for d in evaluation.detections]
    out: dict[str, Any] = {
        "action": recommend(evaluation.top_action),
        "classifications": [
            {"name": d.label, "severity": d.severity.upper(), "confidence": d.confidence}
            for d in evaluation.detections
        ],
        "language": "en",
    }
    if ranks and max(ranks) >= 0:
        out["severity"] = SEVERITIES[max(ranks)].upper()
    return out


def _image_field(call: Call, sections: dict[str, Any], filename: str) -> dict[str, Any]:
    evaluation = evaluate(
        sections,
        {"images": [filename]},
        classifier=call.backend.classifier,
        blocklists=call.backend.blocklists,
    )
    scores = {hit.label: (hit.score or 0.0) / 100 for hit in evaluation.hits}
    return {
        "action": recommend(evaluation.top_action),
        "classifications": [{"name": k, "confidence": v} for k, v in sorted(scores.items())],
        "confidence": max(scores.values(), default=0.0),
        "ocr_classifications": [],
    }


def _policy(call: Call) -> tuple[Config | None, str | None]:
    """The policy to apply, and an error message when the named one does not exist."""
    body = call.body
    key = body.get("config_key")
    if key:
        config = find_config(call.state, key, "")
        return config, None if config else f"moderation config {key!r} does not exist"
    return default_config(call.state, str(body.get("entity_type") or ""), "", None), None


@handler("analyze")
def analyze(call: Call) -> dict[str, Any]:
    body = call.body
    given = [name for name in _ENTITY if body.get(name)]
    if given and len(given) != len(_ENTITY):
        missing = [name for name in _ENTITY if name not in given]
        raise input_error(
            "entity_type, entity_id and entity_creator_id go together (stateful mode) or are "
            "all left out (stateless mode)",
            {name: "required with " + ", ".join(given) for name in missing},
        )
    if not given and not body.get("config_key"):
        raise input_error(
            "config_key is required in stateless mode (no entity_type/entity_id)",
            {"config_key": "required"},
        )
    texts: dict[str, str] = dict(body.get("texts") or {})
    images = {
        name[len(IMAGE_PART) :]: filename
        for name, (filename, _) in call.files.items()
        if name.startswith(IMAGE_PART)
    }
    if not texts and not images:
        raise input_error(
            "nothing to analyze: give texts, or image:<label> parts in a multipart form",
            {"texts": "required"},
        )
    ids: dict[str, str] = dict(body.get("content_ids") or {})
    config, failure = _policy(call)
    reported = body.get("async_response") and FAILED_EVENT in EVENT_MODELS
    if failure is not None and not reported:  # answered now (a release without the event)
        raise not_found(failure.removesuffix(" does not exist"), {"config_key": "no such config"})
    if given:
        call.acting_user()
        call.state.user(body["entity_creator_id"], call.now)
    echo = {k: body[k] for k in (*_ENTITY, "config_key", "custom") if body.get(k) is not None}
    if failure is not None:
        call.event(FAILED_EVENT, {**echo, "content_ids": ids})
        return {"status": "pending"}
    sections = config.sections if config is not None else {}
    text_fields = {label: _text_field(call, sections, text) for label, text in texts.items()}
    image_fields = {label: _image_field(call, sections, name) for label, name in images.items()}
    for label, field in text_fields.items():
        if ids.get(label):
            field["id"] = ids[label]
    for label, field in image_fields.items():
        content_id = ids.get(IMAGE_PART + label) or ids.get(label)
        if content_id:
            field["id"] = content_id
    if config is not None:
        echo["config_key"] = config.key
    if body.get("async_response"):
        if text_fields:
            call.event("moderation.text_analysis.complete", {**echo, "texts": text_fields})
        if image_fields:
            call.event("moderation.image_analysis.complete", {**echo, "images": image_fields})
        return {"status": "pending"}
    out: dict[str, Any] = {"status": "complete"}
    if text_fields:
        out["texts"] = text_fields
    if image_fields:
        out["images"] = image_fields
    return out
