"""Config sections newer than v228: flood detection, evaluated by the engine on the same
user's recent texts; ai_audio_config, stored and returned."""

from __future__ import annotations

from typing import Any

import pytest

from stream_moderation import AsyncStream, BadRequestError
from stream_moderation.testing import Emulator
from stream_moderation.testing._spec import declares
from tests.support.emulator_support import KEY, SECRET, async_client

pytestmark = pytest.mark.anyio
needs_flood = pytest.mark.skipif(
    not declares("UpsertConfigRequest", "flood_config"), reason="a release without flood_config"
)
MESSAGE = "stream:chat:v1:message"
SECOND = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000 * SECOND

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Emulator:
    return Emulator(KEY, SECRET, clock=clock)


async def send(client: AsyncStream, n: int, text: str, author: str = "ann") -> Any:
    response = await client.moderation.check(
        entity_type=MESSAGE,
        entity_id=f"m{n}",
        entity_creator_id=author,
        moderation_payload={"texts": [text]},
        config_key="chat",
    )
    return response.data


@needs_flood
async def test_a_flood_of_identical_messages_gets_the_configured_action(
    emu: Emulator, clock: Clock
) -> None:
    client = async_client(emu)
    await client.moderation.upsert_config(
        key="chat",
        flood_config={
            "identical": {"enabled": True, "threshold": 3, "time_window": "30s", "action": "remove"}
        },
    )
    verdicts = []
    for n in range(4):
        verdicts.append((await send(client, n, "Join my server NOW")).recommended_action)
        clock.now += SECOND
    assert verdicts == ["keep", "keep", "remove", "remove"]
    flood = emu.state.item_for(MESSAGE, "m2")
    assert flood is not None and flood.flags[0].type == "flood"
    assert flood.flags[0].labels == ["FLOOD_IDENTICAL"]
    assert flood.flags[0].result[0]["score"] == 3.0  # the third identical text
    # case and spacing do not make a text different; another user's texts do not count
    assert (await send(client, 5, "join  my server now")).recommended_action == "remove"
    assert (await send(client, 6, "Join my server NOW", author="bob")).recommended_action == "keep"
    # outside the window, the count starts again
    clock.now += 60 * SECOND
    assert (await send(client, 7, "Join my server NOW")).recommended_action == "keep"


@needs_flood
async def test_similar_messages_and_the_allowlist(emu: Emulator, clock: Clock) -> None:
    client = async_client(emu)
    await client.moderation.upsert_config(
        key="chat",
        flood_config={
            "similar": {"enabled": True, "threshold": 3, "similarity_distance": 2},
            "allowlist": ["ok"],
        },
    )
    texts = ["buy cheap pills", "buy cheap pill", "buy cheep pills"]
    verdicts = [(await send(client, n, t)).recommended_action for n, t in enumerate(texts)]
    assert verdicts == ["keep", "keep", "flag"]  # the default action is flag
    assert (await send(client, 9, "something else entirely")).recommended_action == "keep"
    oks = [(await send(client, 10 + n, "ok")).recommended_action for n in range(4)]
    assert oks == ["keep"] * 4  # allowlisted texts never flood


@needs_flood
async def test_disabled_flood_detection_and_test_mode_do_not_count(emu: Emulator) -> None:
    client = async_client(emu)
    flood = {"identical": {"enabled": False, "threshold": 2}}
    await client.moderation.upsert_config(key="chat", flood_config=flood)
    assert [(await send(client, n, "spam")).recommended_action for n in range(3)] == ["keep"] * 3
    await client.moderation.upsert_config(
        key="chat", flood_config={"identical": {"enabled": True, "threshold": 5}}
    )
    for n in range(5):  # test mode evaluates but is not remembered
        response = await client.moderation.check(
            entity_type=MESSAGE,
            entity_id=f"t{n}",
            entity_creator_id="ann",
            moderation_payload={"texts": ["spam"]},
            config_key="chat",
            test_mode=True,
        )
    assert response.data.recommended_action == "keep"  # 3 remembered + this one < 5
    assert (await send(client, 20, "spam")).recommended_action == "keep"
    assert (await send(client, 21, "spam")).recommended_action == "flag"


@needs_flood
@pytest.mark.parametrize(
    ("flood", "field"),
    [
        ({"identical": {"time_window": "soon"}}, "flood_config.identical.time_window"),
        ({"similar": {"time_window": "0s"}}, "flood_config.similar.time_window"),
        ({"identical": {"action": "explode"}}, "flood_config.identical.action"),
        ({"identical": {"threshold": 0}}, "flood_config.identical.threshold"),
    ],
)
async def test_a_flood_config_the_engine_cannot_apply_is_refused(
    emu: Emulator, flood: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await async_client(emu).moderation.upsert_config(key="chat", flood_config=flood)
    assert list(caught.value.exception_fields) == [field]


@pytest.mark.skipif(
    not declares("UpsertConfigRequest", "ai_audio_config"), reason="no ai_audio_config"
)
async def test_ai_audio_config_is_stored_and_returned(emu: Emulator) -> None:
    m = async_client(emu).moderation
    rules = [{"label": "HARASSMENT", "action": "remove"}]
    upserted = await m.upsert_config(
        key="calls", ai_audio_config={"profile": "strict", "rules": rules}
    )
    audio = upserted.data.config.ai_audio_config
    assert (audio.enabled, audio.profile, [r.label for r in audio.rules]) == (
        True,
        "strict",
        ["HARASSMENT"],
    )
    fetched = (await m.get_config("calls")).data.config.ai_audio_config
    assert fetched == audio
    assert emu.filled_fields == {}  # set by the emulator, not filled from the schema
