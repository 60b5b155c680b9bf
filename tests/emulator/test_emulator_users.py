"""Users created through Stream's users API, outside the moderation API, made known to the
emulator: from Python, and through the served admin endpoint (the command-line flag is in
test_emulator_cli.py). Users named in moderation calls stay known, as before."""

from __future__ import annotations

import httpx
import pytest

from stream_moderation.testing import Emulator
from tests.support.emulator_support import KEY, SECRET, async_client, headers, token

pytestmark = pytest.mark.anyio


async def test_add_users_makes_mute_find_them() -> None:
    emu = Emulator(KEY, SECRET)
    m = async_client(emu).moderation
    before = await m.mute(target_ids=["ann"], user_id="mod")
    assert before.data.non_existing_users == ["ann"]
    added = emu.add_users(["ann", {"id": "bob", "name": "Bob", "role": "admin", "teams": ["x"]}])
    assert added == ["ann", "bob"]
    muted = await m.mute(target_ids=["ann", "bob", "cat"], user_id="mod")
    assert [x.target.id for x in muted.data.mutes] == ["ann", "bob"]
    bob = muted.data.mutes[1].target
    assert (bob.name, bob.role, bob.teams) == ("Bob", "admin", ["x"])
    assert muted.data.non_existing_users == ["cat"]
    # the muting moderator was named in a moderation call: known too
    again = await m.mute(target_ids=["mod"], user_id="ann")
    assert again.data.non_existing_users == []


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ([""], "users[0]: a user is an id or an object with an id"),
        (["ok", {"name": "x"}], "users[1]: a user is an id or an object with an id"),
        ([{"id": "x", "teams": "not a list"}], "users[0].teams: expected list"),
        ([7], "users[0]: a user is an id"),
    ],
)
def test_bad_users_are_refused_and_none_is_added(users: list[object], message: str) -> None:
    emu = Emulator(KEY, SECRET)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        emu.add_users(users)  # type: ignore[arg-type]
    assert emu.state.users == {}


async def test_the_admin_endpoint_adds_users() -> None:
    emu = Emulator(KEY, SECRET)
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url="http://e", params={"api_key": KEY}
    ) as raw:
        ok = await raw.post(
            "/_emulator/users", json={"users": ["ann", {"id": "bob"}]}, headers=headers()
        )
        assert ok.status_code == 200 and ok.json()["users"] == ["ann", "bob"]
        bad = await raw.post("/_emulator/users", json={"users": [{"no": "id"}]}, headers=headers())
        assert bad.status_code == 400 and "users[0]" in bad.json()["message"]
        user_token = token(user_id="ann")
        denied = await raw.post(
            "/_emulator/users", json={"users": ["eve"]}, headers=headers(user_token)
        )
        assert denied.status_code == 403
    assert sorted(emu.state.users) == ["ann", "bob"]
