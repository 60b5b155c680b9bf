"""The rule that classifies operations for retries (``codegen/resend.py``), on operation
shapes and on every pinned release's spec: a new release's operations get a class with no
handwritten change, and the overrides name operations that exist."""

from __future__ import annotations

import pytest
import yaml

from codegen import specs
from codegen.generate import _python_name, build_merged_spec
from codegen.resend import OVERRIDES, classify, retry_classes
from tests.support.generated_versions import VERSIONS


def test_reads_and_idempotent_writes_may_be_resent() -> None:
    def resendable(
        name: str,
        method: str,
        path: list[str] | None = None,
        body: tuple[str, ...] | list[str] = (),
    ) -> bool:
        return classify(
            name, method, path_parameters=path or [], required_body=list(body)
        ).resendable

    assert resendable("list_queues", "GET")
    assert resendable("query_anything", "POST") and resendable("get_flag_count", "POST")
    assert resendable("delete_policy_test_set", "DELETE", ["id"])
    assert resendable("delete_queue", "POST", ["id"])  # POST /queues/{id}/delete
    assert resendable("bulk_delete_action_config", "POST", body=["ids"])
    assert resendable("upsert_config", "POST", body=["key"])
    assert resendable("v2_upsert_template", "POST", body=["name", "config"])
    # writes that may double an action
    assert not resendable("create_queue", "POST", body=["name", "type"])
    assert not resendable("update_queue", "PATCH", ["id"])
    assert not resendable("upsert_setup_session", "POST", body=["current_step", "status"])
    assert not resendable("bulk_action_appeals", "POST", body=["appeal_ids", "action_type"])
    assert not resendable("flag", "POST", body=["entity_type", "entity_id"])
    assert not resendable("delete_messages", "POST")  # names nothing it deletes


def test_check_is_decided_in_the_override_table() -> None:
    decision = classify("check", "POST", path_parameters=[], required_body=[])
    assert decision == OVERRIDES["check"] and not decision.resendable
    assert "bounce" in decision.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_every_operation_of_a_release_is_classified(version: str) -> None:
    spec, _, _ = build_merged_spec(version)
    classes = retry_classes(spec, _python_name)
    names = {
        _python_name(op["operationId"])
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert set(classes) == names
    assert set(OVERRIDES) <= set(classes)  # no stale override
    assert classes["get_review_queue_item"].resendable
    assert not classes["submit_action"].resendable


V236 = "v236.0.4"


@pytest.mark.skipif(V236 not in specs.load_lock()["versions"], reason="v236.0.4 is not pinned")
def test_the_operations_v236_adds_are_classified_by_the_rule() -> None:
    """Issue 11 moves to v236.0.4: its new operations need no handwritten entry."""
    from codegen.merge import merge
    from codegen.normalise import normalise

    files = specs.materialise(V236)  # from ../shared/openapi or the pinned upstream URL
    docs = [
        normalise(yaml.safe_load(files[name].read_text()))[0]
        for name in ("moderation-serverside-api.yaml", "moderation-openapi.yaml")
    ]
    spec, _ = merge(
        docs[0], docs[1], primary_name="moderation-serverside-api.yaml",
        secondary_name="moderation-openapi.yaml",
    )  # fmt: skip
    classes = retry_classes(spec, _python_name)
    for read in ("get_queue", "list_queues", "get_policy_test_run", "get_setup_session"):
        assert classes[read].resendable, read
    for idempotent in ("delete_queue", "delete_policy_test_set"):
        assert classes[idempotent].resendable, idempotent
    for write in (
        "create_queue",
        "update_queue",
        "analyze",
        "bulk_action_appeals",
        "start_policy_test_run",
        "create_policy_test_set",
        "upsert_setup_session",
    ):
        assert not classes[write].resendable, write  # fmt: skip
