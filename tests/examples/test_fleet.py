"""The worked example of a fleet (examples/arq_workers.py) on a real engine: arq over a real
Redis server, K = 4 worker processes, the emulator served by its command line limiting
``check`` to L per window, with faults; one worker killed mid-batch; the coordinator's
Redis down, back and killed. Counts come from the server (checks per entity id, 429s per
window, the review queue) and from what the workers stored.

``make stress`` runs the same with 1,000 messages (STRESS=1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fleet_support import EXAMPLE, KEY, SECRET, run_fleet
from tests.support.redis_support import free_port, redis_server_binary

pytestmark = [pytest.mark.release_independent, pytest.mark.xdist_group("load")]

K = 4
STRESS = os.environ.get("STRESS") == "1"
N = 1000 if STRESS else 120


def assert_all_stored_once_each(fleet_results: dict[str, dict[str, object]], n: int) -> None:
    assert len(fleet_results) == n, "a message has no result: lost"
    assert all("recommended_action" in r for r in fleet_results.values())


def test_with_the_redis_coordinator_a_killed_worker_loses_nothing(tmp_path: Path) -> None:
    redis_server_binary()
    faults = (
        "503:rate=0.05,seed=1,ops=check",
        "lost-response:rate=0.03,seed=3,ops=check",
        # every other answer takes 0.3 s to arrive (after the check was processed), so the
        # killed worker dies in the middle of checks
        "trickle:seconds=0.3,chunks=3,ops=check",
    )
    fleet = run_fleet(
        tmp_path, n=N, limit=20, window=1, faults=faults, kill_after=0.1, job_timeout=2
    )
    print(
        f"\n4 workers, Redis coordinator, check limited to 20/s: {fleet.seconds:.1f} s, "
        f"429s {fleet.total_429} {fleet.rate_limited}, faults {fleet.faults}, checked twice "
        f"{fleet.checked_twice}, killed while checking {len(fleet.killed_while)}"
    )
    assert fleet.exit_codes == [-9, 0, 0, 0]  # the first one killed, the others done
    # Nothing lost: every message has its answer...
    assert_all_stored_once_each(fleet.results, N)
    # ...the messages the killed worker was checking included: arq ran them again.
    assert fleet.killed_while
    for message_id in fleet.killed_while:
        result = fleet.results[message_id]
        assert result["worker"] != fleet.killed_pid and result["job_try"] >= 2
    # Server side: each message checked at least once, and at most once per try of its job:
    # the SDK never resent a check that may have been processed (an answer lost to the
    # fault or to a timeout on a loaded machine, or a worker killed after its check was
    # processed), arq ran the job again.
    assert set(fleet.check_counts) == set(fleet.results)
    for message_id, count in fleet.check_counts.items():
        assert count <= fleet.results[message_id]["job_try"], message_id
    # What a moderator sees is not doubled: one item, one flag per flagged message.
    flagged = {m for m, r in fleet.results.items() if r["recommended_action"] != "keep"}
    assert set(fleet.queue_items) == flagged
    assert set(fleet.queue_items.values()) == {1}
    assert set(fleet.flags.values()) == {1}
    # The fleet shares the limit: at most one 429 per worker per window.
    assert max(fleet.rate_limited.values(), default=0) <= K
    for counters in fleet.workers.values():
        assert counters["rate_limited"] <= fleet.windows


def test_without_a_coordinator_every_worker_walks_into_each_reset(tmp_path: Path) -> None:
    """The comparison: the same fleet with each worker on its own."""
    fleet = run_fleet(tmp_path, n=N // 2, limit=20, window=1, coordinator="off")
    print(
        f"\n4 workers, no coordinator, check limited to 20/s: {fleet.seconds:.1f} s, "
        f"429s {fleet.total_429} {fleet.rate_limited}"
    )
    assert fleet.exit_codes == [0] * K
    assert_all_stored_once_each(fleet.results, N // 2)
    assert set(fleet.check_counts.values()) == {1}  # a 429 is a refusal: nothing doubled
    assert max(fleet.rate_limited.values()) > K  # more than one per worker in a window


def test_redis_down_at_start_then_killed_mid_run_checks_go_on(tmp_path: Path) -> None:
    fleet = run_fleet(
        tmp_path,
        n=N,
        limit=40,
        window=1,
        coordinator="down",
        start_redis_after=0.2,
        kill_redis_after=0.6,
    )
    assert fleet.exit_codes == [0] * K
    assert_all_stored_once_each(fleet.results, N)
    assert set(fleet.check_counts.values()) == {1}
    outages = [c["redis_outages"] for c in fleet.workers.values()]
    assert min(outages) >= 1 and max(outages) == 2  # down at start; back; killed
    # one warning per outage, not per check
    assert sum(log.count("is unreachable") for log in fleet.stderr) == sum(outages)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://:hunter2-pw@127.0.0.1:{port}/0", "cannot reach Redis at redis://:***@127.0.0.1"),
        ("http://127.0.0.1:{port}/0", "not a Redis URL"),
    ],
)
def test_a_misconfigured_redis_url_stops_the_worker_at_startup(url: str, message: str) -> None:
    env = {
        **os.environ,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "RATE_LIMITS_URL": url.format(port=free_port()),
        "STREAM_API_KEY": KEY,
        "STREAM_API_SECRET": SECRET,
        "STREAM_BASE_URL": "http://127.0.0.1:1",
    }
    code = "import asyncio, arq_workers as w; asyncio.run(w.startup({}))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(EXAMPLE.parent)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "hunter2" not in done.stderr
