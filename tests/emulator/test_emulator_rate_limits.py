"""The emulator's rate limits, as Stream describes its own: per app and per endpoint, in
fixed windows, X-RateLimit-* on every answer, 429 (code 9) with Retry-After past the
quota; configured from Python and from the command line."""

from __future__ import annotations

import math
import time

import anyio
import httpx
import pytest

from stream_moderation.testing import Emulator
from stream_moderation.testing.__main__ import main
from tests.support.emulator_support import KEY, SECRET, headers

pytestmark = pytest.mark.anyio

CHECK = {
    "entity_type": "stream:chat:v1:message",
    "entity_creator_id": "user-1",
    "moderation_payload": {"texts": ["hello"]},
}


def http(emulator: Emulator, api_key: str = KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://e", params={"api_key": api_key}
    )


async def wait_for_window_start(window: int) -> None:
    """Sleep to just after a window boundary, so that a test's requests share a window."""
    now = time.time()
    await anyio.sleep(math.ceil(now / window) * window - now + 0.02)


async def check(client: httpx.AsyncClient, entity_id: str) -> httpx.Response:
    return await client.post(
        "/api/v2/moderation/check", json={**CHECK, "entity_id": entity_id}, headers=headers()
    )


async def test_a_limit_per_operation_in_windows_of_the_configured_length() -> None:
    emulator = Emulator(KEY, SECRET, rate_limit=100, rate_limits={"check": 3}, rate_window=2)
    async with http(emulator) as client:
        await wait_for_window_start(2)
        answers = [await check(client, f"m{i}") for i in range(5)]
        other = await client.post("/api/v2/moderation/configs", json={}, headers=headers())
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]  # no policy applies: keep
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
    assert {a.headers["x-ratelimit-limit"] for a in answers} == {"3"}
    reset = int(answers[0].headers["x-ratelimit-reset"])
    assert reset % 2 == 0 and 0 < reset - time.time() <= 2
    limited = answers[3]
    assert limited.json()["code"] == 9
    assert int(limited.headers["retry-after"]) == math.ceil(reset - time.time())
    # another operation has a quota of its own
    assert other.status_code == 201
    assert other.headers["x-ratelimit-limit"] == "100"
    assert other.headers["x-ratelimit-remaining"] == "99"
    assert emulator.rate_limited == {"check": {str(reset): 2}}


async def test_the_quota_comes_back_at_the_reset() -> None:
    emulator = Emulator(KEY, SECRET, rate_limits={"check": 1}, rate_window=1)
    async with http(emulator) as client:
        await wait_for_window_start(1)
        first, second = await check(client, "a"), await check(client, "b")
        await anyio.sleep(int(first.headers["x-ratelimit-reset"]) - time.time() + 0.01)
        third = await check(client, "c")
    assert [first.status_code, second.status_code, third.status_code] == [201, 429, 201]
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert int(third.headers["x-ratelimit-reset"]) == int(first.headers["x-ratelimit-reset"]) + 1


async def test_each_app_has_its_own_counter() -> None:
    emulator = Emulator(KEY, SECRET, rate_limits={"check": 2}, rate_window=60)
    async with http(emulator, api_key="another-app") as stranger, http(emulator) as app:
        strangers = [await check(stranger, f"s{i}") for i in range(3)]
        own = [await check(app, f"m{i}") for i in range(2)]
    assert [a.status_code for a in strangers] == [401, 401, 429]
    assert [a.status_code for a in own] == [201, 201]


async def test_the_stats_endpoint_counts_429s_per_window() -> None:
    emulator = Emulator(KEY, SECRET, rate_limits={"check": 1}, rate_window=60)
    async with http(emulator) as client:
        answers = [await check(client, f"m{i}") for i in range(3)]
        stats = (await client.get("/_emulator/stats", headers=headers())).json()
    reset = answers[0].headers["x-ratelimit-reset"]
    assert stats["rate_limited"] == {"check": {reset: 2}}


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="did you mean 'check'"):
        Emulator(KEY, SECRET, rate_limits={"chek": 3})
    with pytest.raises(ValueError, match="rate_window"):
        Emulator(KEY, SECRET, rate_window=0)
    with pytest.raises(ValueError, match="rate_limit"):
        Emulator(KEY, SECRET, rate_limit=-1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate-limit", "check=lots"], "--rate-limit: want N or OPERATION=N"),
        (["--rate-limit", "chek=3"], "did you mean 'check'"),
        (["--rate-window", "0"], "rate_window must be a whole number >= 1"),
    ],
)
def test_the_command_line_refuses_bad_rate_limits(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
