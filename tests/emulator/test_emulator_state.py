"""Saving and loading the emulator's state: the versioned JSON document, in process
(``export_state``/``import_state``, ``save``/``load``), through the admin endpoints, and the
served emulator's ``--import`` / ``--export-on-exit``: a restart with the import answers
every query the same, and a bad file is refused with a clear message."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from stream_moderation.testing import Emulator, StateFormatError
from tests.support.emulator_support import (
    KEY,
    SECRET,
    async_client,
    headers,
    raw_client,
    wait_until_served,
)

pytestmark = pytest.mark.anyio

MESSAGE = "stream:chat:v1:message"


async def build(emu: Emulator) -> None:
    """A bit of everything: users, configs, checks that flag and remove, flags, actions,
    bans, mutes, an appeal, a channel and messages, a block list."""
    emu.add_blocklist("brands", ["acme"])
    m = async_client(emu).moderation
    async with raw_client(emu) as raw:
        await raw.post(
            "/api/v2/users",
            json={"users": {"ann": {"id": "ann", "name": "Ann"}, "bob": {"id": "bob"}}},
        )
        await m.upsert_config(
            key="chat:messaging",
            ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]},
            block_list_config={"rules": [{"name": "brands", "action": "remove"}]},
        )
        await raw.post(
            "/api/v2/chat/channels/messaging/general/query", json={"data": {"created_by_id": "ann"}}
        )
        for text in ("hi", "buy now", "acme rocks"):
            await raw.post(
                "/api/v2/chat/channels/messaging/general/message",
                json={"message": {"text": text, "user_id": "bob"}, "force_moderation": True},
            )
    for n in range(3):
        await m.check(
            entity_type=MESSAGE,
            entity_id=f"msg-{n}",
            entity_creator_id="bob",
            moderation_payload={"texts": [f"buy now {n}"]},
            config_key="chat:messaging",
        )
    flagged = await m.flag(entity_type="stream:user", entity_id="bob", user_id="ann", reason="spam")
    await m.submit_action(item_id=flagged.data.item_id, action_type="mark_reviewed", user_id="ann")
    await m.ban(target_user_id="bob", banned_by_id="ann", reason="spam", timeout=60)
    await m.mute(target_ids=["bob"], user_id="ann")
    await m.appeal(entity_type="stream:user", entity_id="bob", appeal_reason="sorry", user_id="bob")


async def answers(emu: Emulator) -> list[Any]:
    """What the queries answer (durations and request ids aside)."""
    m = async_client(emu).moderation
    out: list[Any] = []
    async with raw_client(emu) as raw:
        for method, path, body in [
            ("POST", "/api/v2/moderation/review_queue", {"limit": 2}),
            ("POST", "/api/v2/moderation/flags", {}),
            ("POST", "/api/v2/moderation/logs", {}),
            ("POST", "/api/v2/moderation/appeals", {}),
            ("POST", "/api/v2/moderation/configs", {}),
            ("GET", "/api/v2/moderation/config/chat:messaging", None),
            ("GET", "/api/v2/users", None),
            ("GET", "/api/v2/chat/query_banned_users", None),
            ("GET", "/api/v2/chat/channels/messaging/general/query", None),
        ]:
            if path.endswith("/query"):
                answer = await raw.post(path, json={})
            elif method == "GET" and path.startswith(("/api/v2/users", "/api/v2/chat")):
                answer = await raw.get(
                    path, params={"payload": json.dumps({"filter_conditions": {}})}
                )
            else:
                answer = await raw.request(method, path, json=body)
            assert answer.status_code < 300, (path, answer.text)
            data = answer.json()
            data.pop("duration", None)
            out.append(data)
        first = out[0]
        if first.get("next"):  # a cursor of the first run pages the same after a restart
            page = await raw.post(
                "/api/v2/moderation/review_queue", json={"limit": 2, "next": first["next"]}
            )
            out.append({k: v for k, v in page.json().items() if k != "duration"})
    checked = await m.check(  # an identical re-check answers as before, bounce memory too
        entity_type=MESSAGE,
        entity_id="msg-0",
        entity_creator_id="bob",
        moderation_payload={"texts": ["buy now 0"]},
        config_key="chat:messaging",
    )
    out.append(checked.data.recommended_action)
    return out


async def test_a_saved_state_loads_into_a_new_emulator_with_the_same_answers(
    tmp_path: Path,
) -> None:
    emu = Emulator(KEY, SECRET)
    await build(emu)
    path = emu.save(tmp_path)
    assert path == tmp_path / "state.json"
    document = json.loads(path.read_text())
    assert (document["format"], document["version"]) == ("stream-moderation-emulator-state", 1)
    assert document["blocklists"] == {"brands": ["acme"]}
    before = await answers(emu)
    again = Emulator(KEY, SECRET)
    again.load(tmp_path)
    assert await answers(again) == before
    # records shared in memory stay shared: an item's flags are the flags collection's
    item = next(i for i in again.state.items.values() if i.flags)
    assert any(item.flags[0] is flag for flag in again.state.flags)
    # a new record after the import does not reuse a creation number
    assert again.state.next_seq() > max(i.seq for i in again.state.items.values())


async def test_export_and_import_in_process_and_through_the_admin_endpoints() -> None:
    emu = Emulator(KEY, SECRET)
    await build(emu)
    document = emu.export_state()
    json.dumps(document)  # plain JSON
    other = Emulator(KEY, SECRET)
    async with raw_client(emu) as raw:
        served = (await raw.get("/_emulator/state")).json()
        assert served["state"] == document["state"]
    async with raw_client(other) as raw:
        loaded = await raw.put("/_emulator/state", json=served)
        assert loaded.status_code == 200, loaded.text
        bad = await raw.put("/_emulator/state", json={**served, "version": 99})
        assert bad.status_code == 400 and "version 99" in bad.json()["message"]
        no_dir = await raw.post("/_emulator/state/save")
        assert no_dir.status_code == 400 and "--export-on-exit" in no_dir.json()["message"]
        assert (await raw.get("/_emulator/state", headers={"Authorization": ""})).status_code == 401
    assert await answers(other) == await answers(emu)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="something-else"), "not an emulator state"),
        (lambda d: d.update(version=2), "version 2: this emulator reads version 1"),
        (lambda d: d["state"].update(widgets={}), "state.widgets: the emulator has no such"),
        (
            lambda d: d["state"]["users"]["ann"].update(shoe_size=9),
            "state.users.ann: User has no field 'shoe_size'",
        ),
        (
            lambda d: d["state"]["users"]["ann"].update({"$type": "Gadget"}),
            "unknown record type 'Gadget'",
        ),
        (lambda d: d["state"].update(users=[]), "state.users: expected dict, got list"),
    ],
)
async def test_a_bad_state_is_refused_clearly_and_changes_nothing(
    change: Any, message: str
) -> None:
    emu = Emulator(KEY, SECRET)
    await build(emu)
    document = emu.export_state()
    change(document)
    target = Emulator(KEY, SECRET)
    target.add_users(["keep-me"])
    with pytest.raises(StateFormatError, match=message.replace("(", r"\(")):
        target.import_state(document)
    assert list(target.state.users) == ["keep-me"]


def test_a_state_file_that_is_not_json_or_missing(tmp_path: Path) -> None:
    emu = Emulator(KEY, SECRET)
    (tmp_path / "state.json").write_text("{nope")
    with pytest.raises(StateFormatError, match=r"state\.json is not JSON"):
        emu.load(tmp_path)
    with pytest.raises(StateFormatError, match="cannot read"):
        emu.load(tmp_path / "missing")


def _start(port: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "stream_moderation.testing", "--port", str(port),
         "--api-key", KEY, "--api-secret", SECRET, "--log-level", "warning", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _answers(http: httpx.Client) -> list[Any]:
    """What a restart must answer the same: the queue, the users and the bans."""
    everything = {"payload": '{"filter_conditions": {}}'}
    return [
        http.post("/api/v2/moderation/review_queue", json={}).json()["items"],
        http.get("/api/v2/users", params=everything).json()["users"],
        http.get("/api/v2/chat/query_banned_users", params=everything).json()["bans"],
    ]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_served_emulator_exports_on_exit_and_imports_at_start(tmp_path: Path) -> None:
    export = tmp_path / "export"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    params = {"api_key": KEY}
    process = _start(port, "--export-on-exit", str(export))
    try:
        wait_until_served(process, url)
        with httpx.Client(base_url=url, params=params, headers=headers()) as http:
            http.post("/api/v2/users", json={"users": {"ann": {"id": "ann", "name": "Ann"}}})
            http.post(
                "/api/v2/moderation/flag",
                json={"entity_type": "stream:user", "entity_id": "ann", "user_id": "mod"},
            )
            saved = http.post("/_emulator/state/save")
            assert saved.status_code == 200 and saved.json()["path"] == str(export / "state.json")
            http.post(
                "/api/v2/moderation/ban", json={"target_user_id": "ann", "banned_by_id": "mod"}
            )
            before = _answers(http)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0].decode()
    assert "state saved to" in output, output
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(port, "--import", str(export))
    try:
        wait_until_served(process, url)
        with httpx.Client(base_url=url, params=params, headers=headers()) as http:
            after = _answers(http)
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert after == before
    # a bad file stops the start with the reason
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "state.json").write_text(json.dumps({"format": "x"}))
    failed = _start(_free_port(), "--import", str(tmp_path / "bad"))
    output = failed.communicate(timeout=20)[0].decode()
    assert failed.returncode == 2
    assert "--import" in output and "not an emulator state" in output
