"""Which operations may be sent again after they may have been processed.

A request whose response is lost (the connection drops after it was sent, or the read
times out) may or may not have been processed. Sending it again is harmless for a read,
and for a write that leaves the same state however often it runs; for any other write it
can double an action (two flags, two ban logs, a second appeal refused as "already
pending"). The generated ``Operation.resendable`` carries the answer, and the client's
retry policy reads it: an operation that is not resendable is sent again only when the
request provably was not processed.

The rule, from the spec alone, so that a new release's operations are classified with no
handwritten change:

- reads: the HTTP method is GET (or HEAD), or the operation is named ``query_*``,
  ``get_*`` or ``list_*``;
- idempotent writes: DELETE (deleting what is gone leaves it gone), an operation named
  ``delete_*`` or ``bulk_delete_*`` that names what it deletes (a path parameter, or ids
  in the body), and an upsert (``upsert_*``, ``bulk_upsert_*``, ``*_upsert_*``) whose
  request names what it upserts: a required ``key``, ``name`` or ``id``;
- any other operation is not resendable.

``OVERRIDES`` holds the operations where the rule's answer is wrong, each with the reason.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

__all__ = ["OVERRIDES", "RetryClass", "classify", "retry_classes"]

KEY_FIELDS = frozenset({"key", "name", "id"})
"""Request fields that name what an upsert writes (the API's keys for configs, rules and
templates)."""


@attrs.frozen
class RetryClass:
    resendable: bool
    reason: str


OVERRIDES: dict[str, RetryClass] = {
    # check: runs the policy over content and records what it found. The docs describe
    # effects that a second run of the same request changes: a flag or removal creates or
    # updates the entity's review queue item ("review_queue_item.updated" for later flags
    # of the same content), action-sequence rules count violations (the response's
    # triggered_rule.violation_number), bounce_flag / bounce_remove answer differently when
    # content is sent again, and velocity filters count messages per user. Nothing in the
    # docs makes a repeated check a no-op, so it is not resent after it may have been
    # processed (the rule says the same; the entry records why).
    "check": RetryClass(
        False,
        "counted write: flags, violation counts and bounce rules see a second check",
    ),
    # check_s3_access only tests that the API can read a bucket: it writes nothing.
    "check_s3_access": RetryClass(True, "read: tests access to a bucket, writes nothing"),
}


_UPSERT = re.compile(r"(^|_)upsert(_|$)")


def classify(
    name: str, method: str, *, path_parameters: list[str], required_body: list[str]
) -> RetryClass:
    """The class of one operation (``name`` is its Python name)."""
    if name in OVERRIDES:
        return OVERRIDES[name]
    method = method.upper()
    if method in ("GET", "HEAD"):
        return RetryClass(True, "read (GET)")
    if name.startswith(("query_", "get_", "list_")):
        return RetryClass(True, f"read ({name.split('_', 1)[0]}_*)")
    if method == "DELETE":
        return RetryClass(True, "idempotent write (DELETE)")
    if name.startswith(("delete_", "bulk_delete_")) and (path_parameters or "ids" in required_body):
        return RetryClass(True, "idempotent write (delete by id)")
    if _UPSERT.search(name) and KEY_FIELDS.intersection(required_body):
        key = sorted(KEY_FIELDS.intersection(required_body))[0]
        return RetryClass(True, f"idempotent write (upsert by {key})")
    return RetryClass(False, "write")


def retry_classes(spec: dict[str, Any], python_name: Any) -> dict[str, RetryClass]:
    """Every operation of a merged spec -> its class; ``python_name`` maps operationIds."""
    from .normalise import iter_operations

    schemas = spec.get("components", {}).get("schemas", {})
    table: dict[str, RetryClass] = {}
    for path, method, op in iter_operations(spec):
        name = python_name(op["operationId"])
        params = [p.get("name", "") for p in op.get("parameters", []) if p.get("in") == "path"]
        params += re.findall(r"\{([^}]+)\}", path)
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = body.get("schema", {})
        ref = schema.get("$ref", "")
        if ref:
            schema = schemas.get(ref.rsplit("/", 1)[-1], {})
        table[name] = classify(
            name,
            method,
            path_parameters=sorted(set(params)),
            required_body=list(schema.get("required", [])),
        )
    return dict(sorted(table.items()))
