"""Policy tests: labelled sets of messages, run against a moderation policy by the
emulator's own engine (the one ``check`` uses).

A set holds ``rows`` (text, expected ``recommended_action`` and ``labels``, an optional
``policy`` overriding the set's ``config_key``), or draws them from the review queue with
``seed`` (newest items first; only items flagged with one of ``seed.labels`` when given;
expected action and labels are the item's). A run evaluates every row now, against the
policy as it is now, and stores nothing else (no review queue item, flag or webhook):

- per row: the actual action (``keep``/``flag``/``remove``) and labels: in ``check`` mode
  the labels of the rules that fired, in ``labels`` mode (the default) every label the
  classifier detected; ``scored`` when the row has an expectation, ``passed`` when the
  actual action and labels (as a set, case-insensitively) are the expected ones;
- ``totals``: rows, scored, unscored, passed, failed (= scored - passed);
- ``by_label``: for each label, how many rows have it (or not) as in the reference
  (``same``) and how many differ (``changed``); the reference is the set's baseline run
  (its first completed run), or the rows' expected labels for the baseline run itself.

A run whose policy no longer exists ends ``failed`` with an ``error_message``.
"""

from __future__ import annotations

from typing import Any

from .._classifier import SEVERITIES, normalise_label, severity_rank
from .._errors import input_error, not_found
from .._policy import evaluate, recommend
from .._state import Config, PolicyTestRun, PolicyTestSet
from .._wire import ts
from . import Call, handler
from .checks import default_config, find_config

__all__ = [
    "create_policy_test_set",
    "delete_policy_test_set",
    "get_policy_test_run",
    "get_policy_test_set",
    "list_policy_test_sets",
    "start_policy_test_run",
]

MODES = ("labels", "check")
MAX_ROWS = 1000
RECENT_RUNS = 10
"""Runs kept per set (older ones are forgotten), newest first in ``recent_runs``."""
_TEST_ENTITY = "stream:chat:v1:message"


# -- sets -------------------------------------------------------------------------------


def _seed_rows(call: Call, seed: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = {normalise_label(label) for label in seed.get("labels") or []}
    limit = min(int(seed["limit"]), MAX_ROWS)
    newest = sorted(call.state.items.values(), key=lambda i: (i.created_at, i.seq), reverse=True)
    rows: list[dict[str, Any]] = []
    for item in newest:
        texts = [t for t in (item.moderation_payload or {}).get("texts") or [] if t]
        labels = sorted({label for flag in item.flags for label in flag.labels})
        if not texts or (wanted and not wanted & {normalise_label(x) for x in labels}):
            continue
        rows.append(
            {
                "text": "\n".join(texts),
                "labels": labels,
                "recommended_action": item.recommended_action,
                "content_type": "text",
            }
        )
        if len(rows) == limit:
            break
    return rows


def _render_set(call: Call, record: PolicyTestSet, *, rows: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "mode": record.mode,
        "config_key": record.config_key,
        "team": record.team,
        "row_count": len(record.rows),
        "created_by": record.created_by,
        "created_at": ts(record.created_at),
        "updated_at": ts(record.updated_at),
    }
    if rows:
        out["rows"] = [dict(row) for row in record.rows]
    runs = _runs(call, record)
    if runs:
        out["last_run"] = _render_run(runs[-1])
    return out


def _runs(call: Call, record: PolicyTestSet) -> list[PolicyTestRun]:
    return [call.state.policy_runs[i] for i in record.run_ids if i in call.state.policy_runs]


def _set_response(call: Call, record: PolicyTestSet) -> dict[str, Any]:
    runs = _runs(call, record)
    out: dict[str, Any] = {
        "set": _render_set(call, record, rows=True),
        "recent_runs": [_render_run(run) for run in reversed(runs)],
    }
    baseline = _baseline(runs)
    if baseline is not None:
        out["baseline_run_id"] = baseline.id
    return out


def _baseline(runs: list[PolicyTestRun]) -> PolicyTestRun | None:
    return next((run for run in runs if run.status == "completed"), None)


@handler("create_policy_test_set")
def create_policy_test_set(call: Call) -> dict[str, Any]:
    body, state = call.body, call.state
    name = body["name"]
    if not name.strip():
        raise input_error("name must not be empty", {"name": "must not be empty"})
    if any(s.name == name for s in state.policy_sets.values()):
        raise input_error(f"a policy test set named {name!r} exists", {"name": "already taken"})
    mode = body.get("mode") or "labels"
    if mode not in MODES:
        raise input_error("mode must be 'check' or 'labels'", {"mode": f"got {mode!r}"})
    if (body.get("rows") is None) == (body.get("seed") is None):
        raise input_error(
            "give either rows or seed (they are mutually exclusive)", {"rows": "or seed"}
        )
    key, team = body.get("config_key") or "", body.get("team") or ""
    if key and find_config(state, key, team) is None:
        raise not_found(f"moderation config {key!r}", {"config_key": "no config with this key"})
    if body.get("seed") is not None:
        rows = _seed_rows(call, body["seed"])
    else:
        rows = [dict(row) for row in body["rows"]]
        if len(rows) > MAX_ROWS:
            raise input_error(f"at most {MAX_ROWS} rows", {"rows": f"{len(rows)} rows"})
        for index, row in enumerate(rows):
            if not row.get("text"):
                raise input_error(f"rows[{index}].text is required", {"rows[].text": "required"})
    record = PolicyTestSet(
        id=call.new_id(),
        name=name,
        mode=mode,
        config_key=key,
        team=team,
        rows=rows,
        created_by=call.acting_user() or "",
        created_at=call.now,
        updated_at=call.now,
        seq=state.next_seq(),
    )
    state.policy_sets[record.id] = record
    return _set_response(call, record)


def _set(call: Call) -> PolicyTestSet:
    record = call.state.policy_sets.get(call.path["id"])
    if record is None:
        raise not_found(f"policy test set {call.path['id']!r}", {"id": "no set with this id"})
    return record


@handler("list_policy_test_sets")
def list_policy_test_sets(call: Call) -> dict[str, Any]:
    records = sorted(call.state.policy_sets.values(), key=lambda s: (s.created_at, s.seq))
    return {"sets": [_render_set(call, r, rows=False) for r in reversed(records)]}


@handler("get_policy_test_set")
def get_policy_test_set(call: Call) -> dict[str, Any]:
    return _set_response(call, _set(call))


@handler("delete_policy_test_set")
def delete_policy_test_set(call: Call) -> dict[str, Any]:
    record = _set(call)
    for run_id in record.run_ids:
        call.state.policy_runs.pop(run_id, None)
    del call.state.policy_sets[record.id]
    return {}


# -- runs -------------------------------------------------------------------------------


def _policy(call: Call, key: str, team: str) -> Config | None:
    if key:
        return find_config(call.state, key, team)
    return default_config(call.state, _TEST_ENTITY, team, None)


def _labels(values: Any) -> set[str]:
    return {normalise_label(str(v)) for v in values or []}


def _evaluate_row(call: Call, sections: dict[str, Any], row: dict[str, Any], mode: str) -> Any:
    evaluation = evaluate(
        sections,
        {"texts": [row.get("text") or ""]},
        classifier=call.backend.classifier,
        blocklists=call.backend.blocklists,
    )
    action = recommend(evaluation.top_action)
    if mode == "check":
        labels = sorted({hit.label for hit in evaluation.hits if hit.action != "keep"})
    else:
        labels = sorted({detection.label for detection in evaluation.detections})
    ranks = [severity_rank(d.severity) for d in evaluation.detections]
    severity = SEVERITIES[max(ranks)] if ranks and max(ranks) >= 0 else ""
    raw = {"recommended_action": action, "rules": [hit.result() for hit in evaluation.hits]}
    return action, labels, severity, raw


def _score(row: dict[str, Any], action: str, labels: list[str]) -> tuple[bool, bool, str]:
    expected_action = row.get("recommended_action") or None
    expected_labels = row.get("labels")
    scored = expected_action is not None or expected_labels is not None
    problems = []
    if expected_action is not None and expected_action != action:
        problems.append(f"action {action!r}, expected {expected_action!r}")
    if expected_labels is not None and _labels(expected_labels) != _labels(labels):
        problems.append(f"labels {sorted(labels)}, expected {sorted(expected_labels)}")
    return scored, scored and not problems, "; ".join(problems)


def _by_label(
    results: list[dict[str, Any]], reference: list[list[str]]
) -> dict[str, dict[str, int]]:
    actual = [_labels(r.get("actual_labels")) for r in results]
    before = [_labels(labels) for labels in reference]
    out: dict[str, dict[str, int]] = {}
    for label in sorted(set().union(*actual, *before)):
        same = sum((label in a) == (label in b) for a, b in zip(actual, before, strict=True))
        out[label] = {"same": same, "changed": len(results) - same}
    return out


@handler("start_policy_test_run")
def start_policy_test_run(call: Call) -> dict[str, Any]:
    record, state, now = _set(call), call.state, call.now
    earlier = _runs(call, record)
    run = PolicyTestRun(
        id=call.new_id(),
        set_id=record.id,
        task_id=call.new_id(),
        config_key=record.config_key,
        status="running",
        triggered_by=call.acting_user() or "api_integration",
        created_at=now,
        rows_total=len(record.rows),
        started_at=now,
    )
    results: list[dict[str, Any]] = []
    failure = None
    policy = _policy(call, record.config_key, record.team)
    if policy is not None:
        run.config_key, run.config_updated_at = policy.key, policy.updated_at
    for index, row in enumerate(record.rows):
        key = row.get("policy") or record.config_key
        config = policy if key == record.config_key else _policy(call, key, record.team)
        if config is None and key:
            failure = f"moderation config {key!r} does not exist"
            break
        action, labels, severity, raw = _evaluate_row(
            call, config.sections if config else {}, row, record.mode
        )
        scored, passed, reason = _score(row, action, labels)
        result: dict[str, Any] = {
            "id": index + 1,
            "run_id": run.id,
            "row_index": index,
            "message_text": row.get("text") or "",
            "actual_action": action,
            "actual_labels": labels,
            "scored": scored,
            "passed": passed,
            "severity": severity,
            "raw_response": raw,
            "created_at": ts(now),
        }
        if row.get("recommended_action"):
            result["expected_action"] = row["recommended_action"]
        if row.get("labels") is not None:
            result["expected_labels"] = list(row["labels"])
        if reason:
            result["failure_reason"] = reason
        results.append(result)
    run.completed_at = now
    if failure is not None:
        run.status, run.error_message = "failed", failure
    else:
        run.status, run.rows_completed, run.results = "completed", len(results), results
        scored_rows = [r for r in results if r["scored"]]
        passed_count = sum(1 for r in scored_rows if r["passed"])
        baseline = _baseline(earlier)
        reference = (
            [r.get("actual_labels") or [] for r in baseline.results]
            if baseline is not None and len(baseline.results) == len(results)
            else [row.get("labels") or [] for row in record.rows]
        )
        run.metrics = {
            "mode": record.mode,
            "totals": {
                "rows": len(results),
                "scored": len(scored_rows),
                "unscored": len(results) - len(scored_rows),
                "passed": passed_count,
                "failed": len(scored_rows) - passed_count,
            },
            "by_label": _by_label(results, reference),
        }
    state.policy_runs[run.id] = run
    record.run_ids.append(run.id)
    for old in record.run_ids[:-RECENT_RUNS]:
        if baseline_id(call, record) != old:
            state.policy_runs.pop(old, None)
    record.run_ids = [i for i in record.run_ids if i in state.policy_runs]
    record.updated_at = now
    return _run_response(run)


def baseline_id(call: Call, record: PolicyTestSet) -> str | None:
    baseline = _baseline(_runs(call, record))
    return baseline.id if baseline is not None else None


def _render_run(run: PolicyTestRun) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id,
        "set_id": run.set_id,
        "task_id": run.task_id,
        "config_key": run.config_key,
        "status": run.status,
        "rows_total": run.rows_total,
        "rows_completed": run.rows_completed,
        "triggered_by": run.triggered_by,
        "created_at": ts(run.created_at),
    }
    for name in ("started_at", "completed_at", "config_updated_at"):
        value = getattr(run, name)
        if value is not None:
            out[name] = ts(value)
    if run.error_message is not None:
        out["error_message"] = run.error_message
    if run.metrics is not None:
        out["metrics"] = run.metrics
    return out


def _run_response(run: PolicyTestRun) -> dict[str, Any]:
    out: dict[str, Any] = {"run": _render_run(run)}
    if run.status == "completed":
        out["results"] = [dict(result) for result in run.results]
    return out


@handler("get_policy_test_run")
def get_policy_test_run(call: Call) -> dict[str, Any]:
    run = call.state.policy_runs.get(call.path["id"])
    if run is None:
        raise not_found(f"policy test run {call.path['id']!r}", {"id": "no run with this id"})
    return _run_response(run)
