"""The served emulator as a user starts it: ``python -m stream_moderation.testing`` and the
console script, reached with a plain HTTP client and a hand-made JWT; and the pytest plugin."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.support.emulator_support import wait_until_served

pytest_plugins = ["pytester"]

KEY, SECRET = "cli-key", "cli-secret-that-is-long-enough-for-hs256!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    users = tmp_path_factory.mktemp("users") / "users.json"
    users.write_text(json.dumps({"users": ["carol", {"id": "dave", "name": "Dave"}]}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stream_moderation.testing",
            "--port",
            str(port),
            "--api-key",
            KEY,
            "--api-secret",
            SECRET,
            "--timestamps",
            "rfc3339",
            "--blocklist",
            "brands=acme,globex",
            "--users",
            str(users),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(process, url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_module_server_with_raw_http(server: str) -> None:
    token = jwt.encode({"server": True}, SECRET, algorithm="HS256")
    auth = {"Authorization": token, "Stream-Auth-Type": "jwt"}
    with httpx.Client(base_url=server, params={"api_key": KEY}, headers=auth) as client:
        policy = {
            "key": "p",
            "block_list_config": {"rules": [{"name": "brands", "action": "remove"}]},
        }
        assert client.post("/api/v2/moderation/config", json=policy).status_code == 201
        check = client.post(
            "/api/v2/moderation/check",
            json={
                "entity_type": "stream:chat:v1:message",
                "entity_id": "1",
                "entity_creator_id": "u",
                "moderation_payload": {"texts": ["I work at Globex"]},
                "config_key": "p",
            },
        )
        assert check.status_code == 201
        assert check.json()["recommended_action"] == "remove"
        assert check.json()["item"]["created_at"].endswith("Z")
        wrong = client.get("/api/v2/moderation/config/p", params={"api_key": "other"})
        assert (wrong.status_code, wrong.json()["code"]) == (401, 2)


def test_users_from_the_users_flag_are_known(server: str) -> None:
    """Users created outside the moderation API, loaded with --users FILE: mute finds them."""
    token = jwt.encode({"server": True}, SECRET, algorithm="HS256")
    auth = {"Authorization": token, "Stream-Auth-Type": "jwt"}
    with httpx.Client(base_url=server, params={"api_key": KEY}, headers=auth) as client:
        muted = client.post(
            "/api/v2/moderation/mute",
            json={"target_ids": ["carol", "dave", "erin"], "user_id": "carol"},
        ).json()
        assert [m["target"]["id"] for m in muted["mutes"]] == ["carol", "dave"]
        assert muted["mutes"][1]["target"]["name"] == "Dave"
        assert muted["non_existing_users"] == ["erin"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "Expecting value"),
        ('{"people": []}', 'expected a list of users, or {"users": [...]}'),
        ('[{"name": "no id"}]', "users[0]: a user is an id or an object with an id"),
    ],
)
def test_a_bad_users_file_stops_the_emulator_with_the_reason(
    tmp_path: pytest.TempPathFactory, content: str, message: str
) -> None:
    path = tmp_path / "users.json"  # type: ignore[operator]
    path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "stream_moderation.testing", "--users", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr and str(path) in result.stderr


def test_console_script_is_installed() -> None:
    script = shutil.which("stream-moderation-emulator", path=os.path.dirname(sys.executable))
    assert script is not None
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "--api-secret" in result.stdout


def test_pytest_plugin_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.anyio
        @pytest.mark.parametrize("anyio_backend", ["asyncio"])
        async def test_async(moderation_client, emulator, anyio_backend):
            await moderation_client.moderation.upsert_config(key="k")
            assert ("k", "") in emulator.state.configs

        def test_sync(sync_moderation_client, emulator):
            sync_moderation_client.moderation.upsert_config(key="k")
            assert emulator.state.configs

        @pytest.mark.stream_emulator(timestamps="rfc3339", api_key="custom")
        def test_marker(emulator):
            assert emulator.timestamps == "rfc3339" and emulator.api_key == "custom"
        """
    )
    result = pytester.runpytest_inprocess("-p", "anyio", "-q")
    result.assert_outcomes(passed=3)
