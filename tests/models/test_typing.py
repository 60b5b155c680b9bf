"""What a type checker tells a user: mypy --strict over programs written against the SDK.

The getting-started flow type-checks as a user writes it (``item`` narrowed with
``is not None``, no ``Unset`` in sight), and runs. Mistakes are reported before anything
runs: a comparison against a value the docs do not list (``action == "flagg"``), an
enum argument or field that is not one of its values, an argument that does not exist.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FLOW = """
import asyncio

from stream_moderation.models import ModerationPayload, UnknownValue
from stream_moderation.testing import Emulator


async def main() -> list[str]:
    seen: list[str] = []
    async with Emulator().client() as client:
        await client.moderation.upsert_config(
            key="my_config",
            ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
            block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
        )
        response = await client.moderation.check(
            entity_type="stream:chat:v1:message",
            entity_id="message-123",
            entity_creator_id="user-456",
            moderation_payload=ModerationPayload(texts=["Buy now! Click here"]),
            config_key="my_config",
        )
        action = response.data.recommended_action
        if action == "keep":
            seen.append("keep")
        elif action == "flag" or action == "remove":
            seen.append(action)
        elif isinstance(action, UnknownValue):  # a value added since this SDK
            seen.append(action.value)
        if response.data.status == "partial":
            seen.append("partial")
        item = response.data.item
        if item is not None:
            seen.append(item.entity_id)
        page = await client.moderation.query_review_queue(filter={"reviewed": False}, limit=10)
        cursor: str | None = page.data.next
        for queued in page.data.items:
            created: str = queued.created_at.isoformat()
            seen.append(created[:4])
        if cursor is None:
            seen.append("one page")
    return seen


print(asyncio.run(main()))
"""

MISTAKES = {
    "a misspelled action": (
        'if response.data.recommended_action == "flagg":\n    pass',
        "Non-overlapping equality check",
    ),
    "a misspelled check status": (
        'if response.data.status != "completed":\n    pass',
        "Non-overlapping equality check",
    ),
    "an action type that does not exist": (
        'client.moderation.submit_action(action_type="mark_reviewd", item_id="i")',
        'Argument "action_type" to "submit_action" of "ModerationResource" has incompatible '
        "type \"Literal['mark_reviewd']\"",
    ),
    "a rule action that does not exist": (
        'BodyguardRule(label="SPAM", action="flagg")',
        'Argument "action" to "BodyguardRule" has incompatible type "Literal[\'flagg\']"',
    ),
    "an argument of the wrong type": (
        'client.moderation.check(entity_type="t", entity_id="e", entity_creator_id="u", '
        'config="my_config_key")',
        'Argument "config" to "check" of "ModerationResource" has incompatible type',
    ),
    "an argument that does not exist": (
        'client.moderation.check(entity_type="t", entity_id="e", entity_creator_id="u", '
        'config_kye="my_config")',
        'Unexpected keyword argument "config_kye" for "check" of "ModerationResource"',
    ),
    "an attribute of an optional item, not narrowed": (
        "print(response.data.item.id)",
        'Item "None" of "ReviewQueueItemResponse | None" has no attribute "id"',
    ),
}

MISTAKE_PRELUDE = """
from stream_moderation import Stream
from stream_moderation.models import BodyguardRule, CheckResponse

client = Stream(api_key="key", api_secret="a-secret-long-enough-for-hs256-0123456789")
response = client.moderation.check(
    entity_type="stream:chat:v1:message", entity_id="m", entity_creator_id="u"
)
"""


def mypy(tmp_path: Path, name: str, source: str) -> subprocess.CompletedProcess[str]:
    program = tmp_path / f"{name}.py"
    program.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(program)],
        cwd=ROOT,  # the project's mypy settings and cache
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_getting_started_flow_type_checks_and_runs(tmp_path: Path) -> None:
    result = mypy(tmp_path, "flow", FLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = subprocess.run(
        [sys.executable, str(tmp_path / "flow.py")], capture_output=True, text=True, check=True
    )
    assert ran.stdout.startswith("['flag', 'message-123', "), ran.stdout
    assert ran.stderr == ""  # no warning either (the emulator's secret is long enough)


@pytest.mark.slow
def test_mistakes_are_type_errors(tmp_path: Path) -> None:
    lines = MISTAKE_PRELUDE.splitlines()
    expected: dict[int, tuple[str, str]] = {}
    for what, (code, message) in MISTAKES.items():
        lines.append(f"# {what}")
        expected[len(lines) + 1] = (what, message)
        lines.extend(textwrap.dedent(code).splitlines())
    result = mypy(tmp_path, "mistakes", "\n".join(lines) + "\n")
    reported: dict[int, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r".*mistakes\.py:(\d+): error: (.*)", line)
        if match:
            reported.setdefault(int(match.group(1)), []).append(match.group(2))
    for number, (what, message) in expected.items():
        assert any(message in error for error in reported.get(number, [])), (
            what,
            message,
            reported.get(number),
            result.stdout,
        )
    assert set(reported) == set(expected), result.stdout  # nothing else is reported
