"""A secret shorter than HS256 wants (32 bytes) warns once per process, where it is
passed, and never on each call; the emulator's default secret and the examples' are long
enough to warn nothing. The warning gives the length, never the secret."""

from __future__ import annotations

import warnings

import jwt
import pytest

from stream_moderation import Stream, _auth
from stream_moderation.testing import DEFAULT_API_SECRET, Emulator

SHORT = "YOUR_API_SECRET"


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_auth, "_warned_short", False)


def test_the_default_secret_is_long_enough_for_hs256() -> None:
    assert len(DEFAULT_API_SECRET.encode()) >= _auth.MIN_SECRET_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emulator = Emulator()
        with emulator.sync_client() as client:
            client.moderation.upsert_config(key="c")
            client.moderation.get_config(key="c")


def test_a_short_secret_warns_once_not_per_call() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emulator = Emulator(api_key="key", api_secret=SHORT)
        for _ in range(2):
            with Stream("key", SHORT, transport=emulator.sync_transport()) as client:
                client.moderation.upsert_config(key="c")
                client.moderation.get_config(key="c")
                client.create_token("user-1")
        Emulator(api_key="k2", api_secret="short")  # warned already
    assert len(caught) == 1, [str(w.message) for w in caught]
    warning = caught[0]
    assert issubclass(warning.category, jwt.InsecureKeyLengthWarning)
    assert "15 bytes" in str(warning.message) and SHORT not in str(warning.message)


def test_the_emulator_warns_about_its_own_short_secret() -> None:
    with pytest.warns(jwt.InsecureKeyLengthWarning, match="Emulator: the API secret is 5 bytes"):
        Emulator(api_key="k", api_secret="short")
