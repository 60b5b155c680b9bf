"""Policy tests through the SDK: a run evaluates every row of its set with the emulator's
engine against the live policy; per-row results, totals and by-label drift agree."""

from __future__ import annotations

from typing import Any

import pytest

from stream_moderation import AsyncStream, BadRequestError, NotFoundError
from stream_moderation._generated.api import OPERATIONS
from stream_moderation.testing import Emulator
from tests.support.emulator_support import KEY, SECRET, async_client

OPS = {
    "create_policy_test_set",
    "list_policy_test_sets",
    "get_policy_test_set",
    "delete_policy_test_set",
    "start_policy_test_run",
    "get_policy_test_run",
}
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not set(OPERATIONS) >= OPS, reason="a release without policy tests"),
]
MESSAGE = "stream:chat:v1:message"
ROWS: list[dict[str, Any]] = [
    {"text": "buy now, limited time offer", "recommended_action": "flag", "labels": ["SPAM"]},
    {"text": "you are an idiot", "recommended_action": "remove", "labels": ["HARASSMENT"]},
    {"text": "good morning", "recommended_action": "keep", "labels": []},
    {"text": "send me your password", "recommended_action": "remove", "labels": ["SCAM"]},
    {"text": "no expectations on this one"},
]


@pytest.fixture
def emu() -> Emulator:
    return Emulator(KEY, SECRET)


@pytest.fixture
async def client(emu: Emulator) -> AsyncStream:
    client = async_client(emu)
    await client.moderation.upsert_config(
        key="policy",
        ai_text_config={
            "rules": [
                {"label": "SPAM", "action": "flag"},
                {"label": "HARASSMENT", "action": "remove"},
            ]
        },
    )
    return client


async def test_a_run_reports_each_row_and_totals_that_match(
    client: AsyncStream, emu: Emulator
) -> None:
    m = client.moderation
    made = (
        await m.create_policy_test_set(
            name="regression", config_key="policy", mode="check", rows=ROWS
        )
    ).data
    assert (made.set.row_count, made.set.mode, made.set.config_key) == (5, "check", "policy")
    run = (await m.start_policy_test_run(made.set.id)).data
    results = run.results
    assert [r.row_index for r in results] == [0, 1, 2, 3, 4]
    assert [r.message_text for r in results] == [row["text"] for row in ROWS]
    assert [r.actual_action for r in results] == ["flag", "remove", "keep", "keep", "keep"]
    assert [r.actual_labels for r in results] == [["SPAM"], ["HARASSMENT"], [], [], []]
    # the policy has no SCAM rule: that row fails, and says why
    assert [r.passed for r in results] == [True, True, True, False, False]
    assert results[3].failure_reason == (
        "action 'keep', expected 'remove'; labels [], expected ['SCAM']"
    )
    assert [r.scored for r in results] == [True, True, True, True, False]
    totals = run.run.metrics.totals
    assert totals.rows == len(results) == run.run.rows_total == run.run.rows_completed
    assert totals.scored == sum(r.scored for r in results) == 4
    assert totals.passed == sum(bool(r.passed) for r in results) == 3
    assert totals.failed == totals.scored - totals.passed == 1
    assert totals.unscored == 1
    assert run.run.status == "completed" and run.run.metrics.mode == "check"
    by_label = {k: (v.same, v.changed) for k, v in run.run.metrics.by_label.items()}
    assert by_label == {"HARASSMENT": (5, 0), "SCAM": (4, 1), "SPAM": (5, 0)}
    # a run stores nothing else: no review queue item, no flag
    assert emu.state.items == {} and emu.state.flags == []
    assert (await m.get_policy_test_run(run.run.id)).data.results == results


async def test_later_runs_follow_the_live_policy_and_drift_from_the_baseline(
    client: AsyncStream,
) -> None:
    m = client.moderation
    set_id = (
        await m.create_policy_test_set(name="drift", config_key="policy", mode="check", rows=ROWS)
    ).data.set.id
    first = (await m.start_policy_test_run(set_id)).data.run
    await m.upsert_config(
        key="policy",
        ai_text_config={
            "rules": [
                {"label": "SPAM", "action": "flag"},
                {"label": "HARASSMENT", "action": "remove"},
                {"label": "SCAM", "action": "remove"},
            ]
        },
    )
    second = (await m.start_policy_test_run(set_id)).data
    assert second.run.metrics.totals.passed == 4 and second.run.metrics.totals.failed == 0
    assert second.run.config_updated_at > first.config_updated_at
    # against the baseline (the first run), SCAM changed on one row
    assert second.run.metrics.by_label["SCAM"].changed == 1
    fetched = (await m.get_policy_test_set(set_id)).data
    assert fetched.baseline_run_id == first.id
    assert [r.id for r in fetched.recent_runs] == [second.run.id, first.id]
    assert fetched.set.last_run.id == second.run.id
    assert len(fetched.set.rows) == len(ROWS)


async def test_labels_mode_reports_every_detected_label(client: AsyncStream) -> None:
    m = client.moderation
    rows = [{"text": "send me your password", "labels": ["SCAM"]}]
    set_id = (await m.create_policy_test_set(name="labels", rows=rows)).data.set.id
    run = (await m.start_policy_test_run(set_id)).data
    # no config_key: the default policy of chat messages (none stored: no rules) applies
    assert run.results[0].actual_labels == ["SCAM"] and run.results[0].actual_action == "keep"
    assert run.results[0].passed is True and run.run.metrics.mode == "labels"


async def test_a_seeded_set_draws_its_rows_from_the_review_queue(client: AsyncStream) -> None:
    m = client.moderation
    for index, text in enumerate(["buy now", "you idiot", "click here", "you moron"]):
        await m.check(
            entity_type=MESSAGE,
            entity_id=f"m{index}",
            entity_creator_id="ann",
            moderation_payload={"texts": [text]},
            config_key="policy",
        )
    made = (
        await m.create_policy_test_set(
            name="seeded", config_key="policy", mode="check", seed={"labels": ["spam"], "limit": 5}
        )
    ).data.set
    assert made.row_count == 2
    assert [row.text for row in made.rows] == ["click here", "buy now"]  # newest first
    assert [row.recommended_action for row in made.rows] == ["flag", "flag"]
    run = (await m.start_policy_test_run(made.id)).data
    assert run.run.metrics.totals.passed == 2
    limited = (
        await m.create_policy_test_set(name="two", config_key="policy", seed={"limit": 1})
    ).data.set
    assert [row.text for row in limited.rows] == ["you moron"]


async def test_sets_are_listed_and_deleted_with_their_runs(client: AsyncStream) -> None:
    m = client.moderation
    one = (await m.create_policy_test_set(name="one", rows=ROWS[:1])).data.set
    two = (await m.create_policy_test_set(name="two", rows=ROWS[:2])).data.set
    run = (await m.start_policy_test_run(one.id)).data.run
    listed = (await m.list_policy_test_sets()).data.sets
    assert [(s.id, s.row_count) for s in listed] == [(two.id, 2), (one.id, 1)]
    assert listed[1].last_run.id == run.id
    await m.delete_policy_test_set(one.id)
    with pytest.raises(NotFoundError):
        await m.get_policy_test_run(run.id)
    with pytest.raises(NotFoundError):
        await m.start_policy_test_run(one.id)


async def test_bad_sets_are_refused_and_a_missing_policy_fails_the_run(
    client: AsyncStream,
) -> None:
    m = client.moderation
    with pytest.raises(BadRequestError) as caught:
        await m.create_policy_test_set(name="both", rows=ROWS, seed={"limit": 1})
    assert "rows" in caught.value.exception_fields
    with pytest.raises(BadRequestError):
        await m.create_policy_test_set(name="bad mode", rows=ROWS, mode="vibes")
    with pytest.raises(NotFoundError):
        await m.create_policy_test_set(name="no policy", rows=ROWS, config_key="nope")
    await m.create_policy_test_set(name="dup", rows=ROWS)
    with pytest.raises(BadRequestError) as caught:
        await m.create_policy_test_set(name="dup", rows=ROWS)
    assert caught.value.exception_fields == {"name": "already taken"}
    set_id = (
        await m.create_policy_test_set(name="orphan", config_key="policy", rows=ROWS)
    ).data.set.id
    await m.delete_config("policy")
    run = (await m.start_policy_test_run(set_id)).data
    assert run.run.status == "failed" and "'policy' does not exist" in run.run.error_message
    assert not run.results and run.run.rows_completed == 0
