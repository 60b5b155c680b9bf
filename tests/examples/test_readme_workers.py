"""The docs' Workers page runs as written (against the fake API, with credentials
from the environment as the snippets expect)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import stream_moderation
from tests.support.fake_api import FakeAPI

README = Path(__file__).resolve().parents[2] / "docs" / "workers.md"


def workers_snippets() -> list[str]:
    text = README.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_workers_section_has_snippets() -> None:
    assert len(workers_snippets()) >= 4


@pytest.mark.parametrize("index", range(len(workers_snippets())))
def test_readme_workers_snippet_runs(
    index: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAM_API_KEY", "test-key")
    monkeypatch.setenv("STREAM_API_SECRET", "s3cr3t-value-that-must-never-leak-0123456789")
    api = FakeAPI(queue_size=120)
    real_async, real_sync = stream_moderation.AsyncStream, stream_moderation.Stream

    def async_stream(*args: Any, **kwargs: Any) -> stream_moderation.AsyncStream:
        return real_async(*args, transport=api.async_transport(), **kwargs)

    def sync_stream(*args: Any, **kwargs: Any) -> stream_moderation.Stream:
        return real_sync(*args, transport=api.sync_transport(), **kwargs)

    monkeypatch.setattr(stream_moderation, "AsyncStream", async_stream)
    monkeypatch.setattr(stream_moderation, "Stream", sync_stream)
    code = workers_snippets()[index]
    exec(compile(code, f"docs/workers.md (snippet {index})", "exec"), {"__name__": "snippet"})
    assert capsys.readouterr().out
    assert sum(api.calls.values()) + len(api.queue_bodies) > 0
