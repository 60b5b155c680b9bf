"""examples/backfill.py runs end to end: against the fake API (through the module's client),
with a summary per recommended action, a results file, and skipped lines counted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stream_moderation import AsyncStream
from tests.support.fake_api import FakeAPI

ROOT = Path(__file__).resolve().parents[2]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("backfill", ROOT / "examples" / "backfill.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["backfill"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, FakeAPI]:
    monkeypatch.setenv("STREAM_API_KEY", "test-key")
    monkeypatch.setenv("STREAM_API_SECRET", "s3cr3t-value-that-must-never-leak-0123456789")
    module = load_example()
    api = FakeAPI(latency=0.001)

    def client(*args: Any, **kwargs: Any) -> AsyncStream:
        return AsyncStream(*args, transport=api.async_transport(), **kwargs)

    monkeypatch.setattr(module, "AsyncStream", client)
    return module, api


def write_messages(path: Path, texts: list[str]) -> None:
    lines = [json.dumps({"id": f"m{i}", "user_id": "u", "text": t}) for i, t in enumerate(texts)]
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n")


def test_backfill_summarises_actions_and_writes_results(
    example: tuple[ModuleType, FakeAPI], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module, api = example
    messages, out = tmp_path / "messages.jsonl", tmp_path / "results.jsonl"
    write_messages(messages, ["hi", "spam here", "pure abuse", "more spam", "fine"])
    argv = [str(messages), "--base-url", "http://127.0.0.1:9", "--config-key", "cfg"]
    code = module.main([*argv, "--plain", "--out", str(out), "--ordered"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "keep" in printed and "flag" in printed and "remove" in printed
    assert ["skipped", "lines", "1"] in [line.split() for line in printed.splitlines()]
    assert "5 checked" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["m0", "m1", "m2", "m3", "m4"]
    assert [r["recommended_action"] for r in rows] == ["keep", "flag", "remove", "flag", "keep"]
    assert sum(api.calls.values()) == 5


def test_backfill_reports_failures_and_exits_non_zero(
    example: tuple[ModuleType, FakeAPI], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module, api = example
    api.fail = {"m1": 400}
    messages = tmp_path / "messages.jsonl"
    write_messages(messages, ["a", "b", "c"])
    argv = [str(messages), "--base-url", "http://127.0.0.1:9", "--config-key", "cfg", "--plain"]
    assert module.main(argv) == 1
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["error:", "BadRequestError", "1"] in lines and ["keep", "2"] in lines


def test_backfill_with_rich_output(
    example: tuple[ModuleType, FakeAPI], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("rich")
    module, _ = example
    messages = tmp_path / "messages.jsonl"
    write_messages(messages, ["spam", "ok"])
    argv = [str(messages), "--base-url", "http://127.0.0.1:9", "--config-key", "cfg"]
    assert module.main(argv) == 0
    printed = capsys.readouterr().out
    assert "recommended actions" in printed and "2 checked" in printed


def test_the_sample_file_is_valid_input(example: tuple[ModuleType, FakeAPI]) -> None:
    from collections import Counter

    module, _ = example
    skipped: Counter[str] = Counter()
    items = list(module.read_messages(ROOT / "examples" / "messages.jsonl", skipped, "t"))
    assert len(items) == 60 and sum(skipped.values()) == 1  # one bad line, on purpose
