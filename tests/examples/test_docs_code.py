"""Every Python code block of the README and of the docs site runs as written.

The blocks of one page run in order in one namespace (a page builds on its earlier
blocks), against the emulator: the clients a block makes (``AsyncStream(...)``,
``Stream(...)``, with credentials passed or read from the environment) get an emulator's
transport, an emulator per pair of credentials, so a block that reaches for Stream's API
reaches the emulator instead. A block that defines pytest tests runs under pytest, as a
user's test file. Some pages' blocks need a particular server (the webhook app, the
workers against a fake API): those run in the tests named in ``ELSEWHERE``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import stream_moderation
from stream_moderation import _auth
from stream_moderation.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ENV_KEY, ENV_SECRET = "YOUR_API_KEY", "your-api-secret-of-32-bytes-or-more-0123"
# page -> the test that runs its blocks (they need more than an emulator)
ELSEWHERE = {
    "docs/workers.md": "tests/examples/test_readme_workers.py",
    "docs/webhooks.md": "tests/examples/test_webhooks_readme.py",
}


def blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.DOTALL | re.M)


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_every_page_with_code_is_run() -> None:
    for page in PAGES:
        if blocks(page) and name(page) in ELSEWHERE:
            assert (ROOT / ELSEWHERE[name(page)]).exists()


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=name)
@pytest.mark.filterwarnings("error::jwt.InsecureKeyLengthWarning")  # long secrets only
def test_the_blocks_of_a_page_run(
    page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if name(page) in ELSEWHERE:
        pytest.skip(f"run by {ELSEWHERE[name(page)]}")
    monkeypatch.setattr(_auth, "_warned_short", False)
    monkeypatch.setenv("STREAM_API_KEY", ENV_KEY)
    monkeypatch.setenv("STREAM_API_SECRET", ENV_SECRET)
    monkeypatch.delenv("STREAM_BASE_URL", raising=False)
    emulators: dict[tuple[str, str], Emulator] = {}

    def emulator_for(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Emulator:
        key = kwargs.get("api_key") or (args[0] if args else None) or os.environ["STREAM_API_KEY"]
        secret = (
            kwargs.get("api_secret")
            or (args[1] if len(args) > 1 else None)
            or os.environ["STREAM_API_SECRET"]
        )
        if (key, secret) not in emulators:
            emulators[(key, secret)] = Emulator(api_key=key, api_secret=secret)
        return emulators[(key, secret)]

    real_async, real_sync = stream_moderation.AsyncStream, stream_moderation.Stream

    def async_stream(*args: Any, **kwargs: Any) -> stream_moderation.AsyncStream:
        kwargs.setdefault("transport", emulator_for(args, kwargs).transport())
        return real_async(*args, **kwargs)

    def sync_stream(*args: Any, **kwargs: Any) -> stream_moderation.Stream:
        kwargs.setdefault("transport", emulator_for(args, kwargs).sync_transport())
        return real_sync(*args, **kwargs)

    monkeypatch.setattr(stream_moderation, "AsyncStream", async_stream)
    monkeypatch.setattr(stream_moderation, "Stream", sync_stream)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for index, code in enumerate(blocks(page)):
        where = f"{name(page)} (python block {index + 1})"
        if re.search(r"^(async )?def test_", code, re.M):
            run_as_pytest(tmp_path, index, code, where)
            continue
        exec(compile(code, where, "exec"), namespace)


def run_as_pytest(tmp_path: Path, index: int, code: str, where: str) -> None:
    test_file = tmp_path / f"test_example_{index}.py"
    test_file.write_text(code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")}
    env.pop("PYTEST_XDIST_WORKER", None)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, f"{where}:\n{ran.stdout}\n{ran.stderr}"
    assert " passed" in ran.stdout and "warning" not in ran.stdout, ran.stdout
