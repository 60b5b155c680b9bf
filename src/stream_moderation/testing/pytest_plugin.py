"""pytest fixtures for testing code that uses stream-moderation, with no network.

Registered through the ``pytest11`` entry point, so installing
``stream-moderation[testing]`` is enough::

    async def test_my_app(moderation_client):          # an AsyncStream on an emulator
        response = await moderation_client.moderation.check(...)

    def test_with_options(emulator):                   # the Emulator itself
        emulator.add_blocklist("brands", ["acme"])

``@pytest.mark.stream_emulator(timestamps="rfc3339", ...)`` passes options to the
Emulator of a test. Nothing here imports Starlette until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .._client import AsyncStream, Stream
    from ._emulator import Emulator

__all__ = ["emulator", "moderation_client", "sync_moderation_client"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stream_emulator(**options): options for the emulator fixture's Emulator "
        "(api_key, api_secret, timestamps, classifier, blocklists, webhook_callback, ...)",
    )


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Emulator:
    """A fresh in-memory emulator of the Moderation API for this test."""
    from ._emulator import Emulator

    marker = request.node.get_closest_marker("stream_emulator")
    options = dict(marker.kwargs) if marker is not None else {}
    return Emulator(**options)


@pytest.fixture
def moderation_client(emulator: Emulator) -> AsyncStream:
    """An AsyncStream talking to ``emulator`` in process (no socket, nothing to close)."""
    return emulator.client()


@pytest.fixture
def sync_moderation_client(emulator: Emulator) -> Iterator[Stream]:
    """A blocking Stream client talking to ``emulator`` in process."""
    client = emulator.sync_client()
    yield client
    client.close()
