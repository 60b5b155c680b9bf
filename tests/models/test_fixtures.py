"""The response fixtures in tests/fixtures are what tests/fixtures/build.py writes."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES
from tests.fixtures import build


def test_the_committed_fixtures_are_current() -> None:
    assert build.main(["--check"]) == 0


def test_the_ns_and_rfc3339_fixtures_hold_the_same_instants() -> None:
    heavy = json.loads((FIXTURES / "check_response_heavy_ns.json").read_text())
    text = json.loads((FIXTURES / "check_response_heavy_rfc3339.json").read_text())
    assert build._rfc3339(heavy) == text
    assert heavy["item"] == json.loads((FIXTURES / "review_queue_item_ns.json").read_text())
