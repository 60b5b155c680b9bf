"""Stream's official ``getstream`` 7.0.0 SDK against the served emulator, over a socket:
every method of its ``client.moderation`` completes without an error.

getstream runs in a virtualenv of its own (``.venv-getstream``, which ``make test`` builds;
``STREAM_GETSTREAM_PYTHON`` names another interpreter), running tests/support/getstream_scenario.py,
so it never shares a process or a dependency with this project.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from stream_moderation._generated.api import OPERATIONS
from stream_moderation.testing import Emulator
from tests.support.emulator_support import report_gaps

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "support" / "getstream_scenario.py"
PYTHON = Path(
    os.environ.get("STREAM_GETSTREAM_PYTHON", ROOT / ".venv-getstream" / "bin" / "python")
)
KEY, SECRET = "getstream-key", "getstream-secret-long-enough-for-hs256"


@pytest.mark.skipif(not PYTHON.exists(), reason=f"no {PYTHON}: `make test` builds it")
def test_every_method_of_getstreams_moderation_client_completes() -> None:
    emulator = Emulator(KEY, SECRET)
    with emulator.serve() as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        result = subprocess.run(
            [str(PYTHON), str(SCENARIO), base_url, KEY, ",".join(sorted(OPERATIONS))],
            capture_output=True,
            text=True,
            timeout=300,
            env={**env, "GETSTREAM_API_SECRET": SECRET},  # not in argv: not in a failure's repr
        )
    if result.returncode == 3:
        pytest.skip(f"getstream 7.0.0 is a v236-era client: {result.stderr.strip()}")
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("all ") and summary.endswith("completed"), summary
    count = int(summary.split()[1])
    called = {line.split(":")[0] for line in result.stdout.splitlines()[:-1]}
    assert len(called) == count and called <= set(emulator.calls)
    # what getstream got, the emulator answered with semantics, every field set by it
    report_gaps("operations getstream reached the fallback of", emulator.app.not_emulated_calls)
    report_gaps("fields filled from the schema for getstream", emulator.filled_fields)


USERS_SCENARIO = ROOT / "tests" / "support" / "getstream_users_scenario.py"


@pytest.mark.skipif(not PYTHON.exists(), reason=f"no {PYTHON}: `make test` builds it")
def test_a_user_and_moderation_scenario_of_getstream_passes() -> None:
    """Users, a channel, moderated messages, check, flag, ban, mute, banned users, blocks,
    user queries and updates, a deleted user: the calls of Stream's docs, over a socket."""
    emulator = Emulator(KEY, SECRET)
    with emulator.serve() as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        result = subprocess.run(
            [str(PYTHON), str(USERS_SCENARIO), base_url, KEY],
            capture_output=True,
            text=True,
            timeout=300,
            env={**env, "GETSTREAM_API_SECRET": SECRET},
        )
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert result.stdout.strip().splitlines()[-1].startswith("all "), output
    # the journal saw what getstream sent, and nothing it sent was refused as not served
    served = emulator.requests()
    assert not [r for r in served if r["status"] == 404 and r["path"].startswith("/api/")]
    assert SECRET not in str(served)
    for name in ("update_users", "send_message", "query_banned_users", "delete_users"):
        assert emulator.calls.get(name), name
