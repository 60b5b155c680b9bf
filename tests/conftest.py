"""Shared fixtures: async tests run on both asyncio and trio through anyio's plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
