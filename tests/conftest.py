"""Shared fixtures: async tests run on both asyncio and trio through anyio's plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No per-example deadline: on a loaded machine (CI, several suites on 2 cores, a slower
# interpreter) a first example that imports models takes longer than hypothesis's 200 ms,
# which fails a property that holds. Time is not what these tests are about.
settings.register_profile("stream-moderation", deadline=None)
settings.load_profile("stream-moderation")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_fixture(name: str) -> Any:
    """A response body from tests/fixtures, completed from the generated release's spec
    (see tests/fixtures/__init__.py)."""
    from tests.fixtures import load

    return load(name)
