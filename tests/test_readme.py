"""The README's first sections run as written: Quick start, Configuration, Errors and
retries, in order, against the emulator (holding the credentials the snippets use)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import stream_moderation
from stream_moderation.testing import Emulator

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ("Quick start", "Configuration", "Errors and retries")
# The snippets' placeholder secret is short; Stream's real secrets are not.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def snippets(section: str) -> list[str]:
    text = README.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)


def test_the_sections_have_snippets() -> None:
    assert [len(snippets(s)) for s in SECTIONS] == [2, 1, 1]


def test_readme_snippets_run_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = Emulator(api_key="YOUR_API_KEY", api_secret="YOUR_API_SECRET")
    monkeypatch.setenv("STREAM_API_KEY", "YOUR_API_KEY")
    monkeypatch.setenv("STREAM_API_SECRET", "YOUR_API_SECRET")
    real_async, real_sync = stream_moderation.AsyncStream, stream_moderation.Stream

    def async_stream(*args: Any, **kwargs: Any) -> stream_moderation.AsyncStream:
        return real_async(*args, transport=emulator.transport(), **kwargs)

    def sync_stream(*args: Any, **kwargs: Any) -> stream_moderation.Stream:
        return real_sync(*args, transport=emulator.sync_transport(), **kwargs)

    monkeypatch.setattr(stream_moderation, "AsyncStream", async_stream)
    monkeypatch.setattr(stream_moderation, "Stream", sync_stream)
    outputs = []
    for section in SECTIONS:
        for index, code in enumerate(snippets(section)):
            exec(compile(code, f"README.md ({section} {index})", "exec"), {"__name__": "snippet"})
            outputs.append(capsys.readouterr().out.split())
    quick_async, quick_sync, configuration, errors = outputs
    assert quick_async[:2] == ["keep", "complete"]
    assert quick_sync == ["keep"]
    assert configuration == []
    assert errors == ["keep"]
    assert emulator.calls == {"upsert_config": 1, "check": 3}
    assert "my_config" in {c.key for c in emulator.state.configs.values()}
