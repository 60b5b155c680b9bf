"""check: the classifier's labels and triggers, block lists, rule actions and how they map to
the recommended action, configs by key/team/inline, test mode, media, custom classifiers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stream_moderation import AsyncStream, BadRequestError, NotFoundError
from stream_moderation.testing import (
    DEFAULT_TRIGGERS,
    Detection,
    Emulator,
    KeywordClassifier,
    Trigger,
)
from tests.support.emulator_support import KEY, SECRET, async_client, headers

pytestmark = pytest.mark.anyio
MESSAGE = "stream:chat:v1:message"

# One text per label that only that label's triggers match (regex triggers need examples).
REGEX_EXAMPLES = {
    "three or more links in one text": "see http://a.example http://b.example http://c.example",
    '"all/those/these X people are animals/scum/vermin/subhuman" (X: one word)': (
        "all green people are animals"
    ),
    "an email address": "write to jo@example.com",
    "a phone number (8-15 digits, optional +, spaces, dots or dashes)": "call +1 555 123 4567",
    '"add/message/dm/text/find/contact me on whatsapp/telegram/snapchat/instagram/kik/signal/'
    'discord"': "add me on whatsapp",
}


def trigger_examples() -> list[tuple[str, str, str]]:
    cases = []
    for label, triggers in DEFAULT_TRIGGERS.items():
        for trigger in triggers:
            text = REGEX_EXAMPLES[trigger.description] if trigger.regex else trigger.text
            cases.append((label, text, trigger.severity))
    return cases


@pytest.mark.parametrize(("label", "text", "severity"), trigger_examples())
def test_each_documented_trigger_detects_its_label(label: str, text: str, severity: str) -> None:
    found = {d.label: d for d in KeywordClassifier()(f"well, {text.upper()} then")}
    assert label in found
    assert found[label].severity == severity
    assert found[label].matches


def test_clean_text_has_no_labels() -> None:
    assert KeywordClassifier()("Hello, this is a test message about the weather") == []


def test_triggers_match_whole_words_only() -> None:
    assert KeywordClassifier()("the dumbbell and the idiotic scissors") == []


def test_extra_triggers() -> None:
    classifier = KeywordClassifier(extra={"promo": [Trigger("coupon code", "low")]})
    assert [d.label for d in classifier("use coupon code X")] == ["PROMO"]


async def make(emu: Emulator | None = None, **policy: Any) -> tuple[Emulator, AsyncStream]:
    emu = emu or Emulator(KEY, SECRET)
    client = async_client(emu)
    await client.moderation.upsert_config(key="policy", **policy)
    return emu, client


async def verdict(client: AsyncStream, text: str, entity_id: str = "m", **extra: Any) -> Any:
    payload = extra.pop("payload", {"texts": [text]})
    response = await client.moderation.check(
        entity_type=extra.pop("entity_type", MESSAGE),
        entity_id=entity_id,
        entity_creator_id=extra.pop("creator", "author"),
        moderation_payload=payload,
        config_key=extra.pop("config_key", "policy"),
        **extra,
    )
    return response.data


@pytest.mark.parametrize(
    "label", ["SPAM", "SCAM", "HARASSMENT", "HATE", "SEXUAL_HARASSMENT", "SELF_HARM"]
)
async def test_required_labels_drive_check(label: str) -> None:
    _, client = await make(ai_text_config={"rules": [{"label": label, "action": "remove"}]})
    text = next(t.text for t in DEFAULT_TRIGGERS[label] if not t.regex)
    data = await verdict(client, f"hey {text}")
    assert data.recommended_action == "remove"
    assert data.status == "complete"
    assert data.item.flags[0].labels == [label]
    assert (await verdict(client, "have a nice day", "clean")).recommended_action == "keep"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("flag", "flag"),
        ("mask_flag", "flag"),
        ("shadow", "remove"),
        ("bounce", "remove"),
        ("remove", "remove"),
    ],
)
async def test_rule_actions_map_to_recommendations(action: str, expected: str) -> None:
    _, client = await make(
        block_list_config={"rules": [{"name": "profanity_en", "action": action}]}
    )
    data = await verdict(client, "well shit")
    assert data.recommended_action == expected
    assert data.item.flags[0].result[0]["action"] == action


async def test_keep_rule_and_most_severe_wins() -> None:
    _, client = await make(
        ai_text_config={
            "rules": [
                {"label": "SPAM", "action": "keep"},
                {"label": "SCAM", "action": "flag"},
                {"label": "HARASSMENT", "action": "shadow"},
            ]
        }
    )
    assert (await verdict(client, "buy now", "a")).recommended_action == "keep"
    assert (await verdict(client, "buy now, claim your prize", "b")).recommended_action == "flag"
    both = await verdict(client, "claim your prize, idiot", "c")
    assert both.recommended_action == "remove"
    assert sorted(r["action"] for r in both.item.flags[0].result) == ["flag", "shadow"]


@pytest.mark.parametrize(
    ("action", "second"), [("bounce_flag", "flag"), ("bounce_remove", "remove")]
)
async def test_bounce_then_flag_or_remove(action: str, second: str) -> None:
    _, client = await make(ai_text_config={"rules": [{"label": "SPAM", "action": action}]})
    assert (await verdict(client, "buy now", "m1", test_mode=True)).recommended_action == "remove"
    first = await verdict(client, "buy now", "m1")
    assert first.recommended_action == "remove"  # bounced back to the sender
    assert (await verdict(client, "buy now", "m2")).recommended_action == second
    other_user = await verdict(client, "buy now", "m3", creator="someone-else")
    assert other_user.recommended_action == "remove"


async def test_severity_rules() -> None:
    _, client = await make(
        ai_text_config={
            "rules": [
                {
                    "label": "HARASSMENT",
                    "severity_rules": [
                        {"severity": "low", "action": "flag"},
                        {"severity": "high", "action": "remove"},
                    ],
                }
            ],
            "severity_rules": [{"severity": "critical", "action": "remove"}],
        }
    )
    mild = await verdict(client, "you idiot", "a")
    assert mild.recommended_action == "flag"
    assert mild.item.ai_text_severity == "medium"
    assert mild.item.severity == 50
    threat = await verdict(client, "i will find you", "b")
    assert threat.recommended_action == "remove"
    assert threat.item.ai_text_severity == "critical"
    # labels without a rule of their own fall back to the config's severity rules
    assert (await verdict(client, "i want to die", "c")).recommended_action == "remove"
    assert (await verdict(client, "buy now", "d")).recommended_action == "keep"


async def test_llm_and_automod_engines() -> None:
    _, client = await make(
        llm_config={"rules": [{"label": "HATE SPEECH", "description": "hate", "action": "flag"}]},
        automod_toxicity_config={
            "rules": [{"label": "toxic", "threshold": 0.95, "action": "remove"}]
        },
        automod_platform_circumvention_config={
            "rules": [{"label": "platform_circumvention", "threshold": 0.5, "action": "flag"}]
        },
    )
    hate = await verdict(client, "go back to your country", "a")
    assert (hate.recommended_action, hate.item.flags[0].type) == ("flag", "llm")
    assert (await verdict(client, "i will hurt you", "b")).recommended_action == "remove"
    assert (await verdict(client, "you idiot", "c")).recommended_action == "keep"
    assert (await verdict(client, "dm me on telegram", "d")).recommended_action == "flag"


async def test_disabled_engines_do_nothing() -> None:
    _, client = await make(
        ai_text_config={"enabled": False, "rules": [{"label": "SPAM", "action": "remove"}]}
    )
    assert (await verdict(client, "buy now")).recommended_action == "keep"


async def test_block_lists() -> None:
    emu = Emulator(KEY, SECRET, blocklists={"brands": ["acme corp"]})
    emu.add_blocklist("words", ["darn"])
    _, client = await make(
        emu,
        block_list_config={
            "rules": [
                {"name": "brands", "action": "flag"},
                {"name": "words", "action": "remove"},
            ]
        },
    )
    assert (await verdict(client, "I love ACME  corp", "a")).recommended_action == "flag"
    assert (await verdict(client, "darn it", "b")).recommended_action == "remove"
    assert (await verdict(client, "darnation", "c")).recommended_action == "keep"
    await client.moderation.upsert_config(
        key="policy",
        block_list_config={"match_substring": True, "rules": [{"name": "words", "action": "flag"}]},
    )
    assert (await verdict(client, "darnation", "d")).recommended_action == "flag"
    with pytest.raises(BadRequestError) as caught:
        await client.moderation.upsert_config(
            key="x", block_list_config={"rules": [{"name": "nope", "action": "flag"}]}
        )
    assert "Blocklist not found" in caught.value.message
    assert "block_list_config.rules[].name" in caught.value.exception_fields


async def test_images_and_videos() -> None:
    rule = {"label": "Explicit Nudity", "min_confidence": 90, "action": "remove"}
    _, client = await make(
        ai_image_config={"rules": [rule]},
        ai_video_config={"rules": [{**rule, "action": "flag"}]},
    )
    image = await verdict(
        client, "", "i1", payload={"images": ["https://cdn.example/explicit-nudity/1.jpg"]}
    )
    assert image.recommended_action == "remove"
    assert image.item.flags[0].type == "ai_image"
    video = await verdict(
        client, "", "v1", payload={"videos": ["https://cdn.example/explicit_nudity.mp4"]}
    )
    assert video.recommended_action == "flag"
    clean = await verdict(
        client, "", "i2", payload={"images": ["https://cdn.example/cat.jpg"], "texts": ["cat"]}
    )
    assert clean.recommended_action == "keep"
    await client.moderation.upsert_config(
        key="policy", ai_image_config={"rules": [{**rule, "min_confidence": 99.5}]}
    )
    strict = await verdict(client, "", "i3", payload={"images": ["https://x/explicit-nudity.png"]})
    assert strict.recommended_action == "keep"


async def test_custom_classifier() -> None:
    def classify(text: str) -> list[Detection]:
        return [Detection("CRYPTO", "high", matches=("xyz",))] if "xyz" in text else []

    emu = Emulator(KEY, SECRET, classifier=classify)
    _, client = await make(emu, ai_text_config={"rules": [{"label": "crypto", "action": "flag"}]})
    data = await verdict(client, "buy xyz coin")
    assert data.recommended_action == "flag"
    assert data.item.flags[0].result[0]["matches"] == ["xyz"]
    assert (await verdict(client, "buy now", "b")).recommended_action == "keep"


async def test_test_mode_creates_nothing() -> None:
    calls: list[Any] = []
    emu = Emulator(KEY, SECRET, webhook_callback=calls.append)
    _, client = await make(emu, ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]})
    data = await verdict(client, "buy now", test_mode=True)
    assert data.recommended_action == "flag"
    assert not data.item
    assert emu.state.items == {} and emu.state.flags == [] and emu.state.logs == []
    assert calls == []
    assert emu.state.check_counts == {"m": 1}


async def test_inline_config_only_in_test_mode() -> None:
    emu = Emulator(KEY, SECRET)
    client = async_client(emu)
    inline = {"ai_text_config": {"rules": [{"label": "SCAM", "action": "remove"}]}}
    kwargs: dict[str, Any] = {"entity_type": MESSAGE, "entity_id": "m", "entity_creator_id": "u"}
    ok = await client.moderation.check(
        **kwargs,
        moderation_payload={"texts": ["gift card"]},
        config=inline,
        test_mode=True,
    )
    assert ok.data.recommended_action == "remove"
    with pytest.raises(BadRequestError) as caught:
        await client.moderation.check(
            **kwargs, moderation_payload={"texts": ["gift card"]}, config=inline
        )
    assert "config" in caught.value.exception_fields


async def test_config_lookup_by_key_and_team() -> None:
    emu = Emulator(KEY, SECRET)
    client = async_client(emu)
    m = client.moderation
    await m.upsert_config(
        key="chat", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
    )
    await m.upsert_config(
        key="chat", team="red", ai_text_config={"rules": [{"label": "SPAM", "action": "remove"}]}
    )
    base = {
        "entity_type": MESSAGE,
        "entity_creator_id": "u",
        "moderation_payload": {"texts": ["buy now"]},
    }
    team = await m.check(**base, entity_id="1", config_key="chat", config_team="red")
    assert team.data.recommended_action == "remove"
    fallback = await m.check(**base, entity_id="2", config_key="chat", config_team="blue")
    assert fallback.data.recommended_action == "flag"
    default = await m.check(**base, entity_id="3")  # no key: 'chat' applies to chat entities
    assert default.data.recommended_action == "flag"
    with pytest.raises(NotFoundError) as missing:
        await m.check(**base, entity_id="4", config_key="nope")
    assert missing.value.code == 16
    # no key and no default policy for the entity type: no rules run, keep (as Stream does)
    custom = await m.check(**{**base, "entity_type": "custom:thing"}, entity_id="5")
    assert custom.data.recommended_action == "keep" and not custom.data.item
    assert not emu.state.item_for("custom:thing", "5")


async def test_check_without_config_key_applies_the_most_specific_default_policy() -> None:
    """chat:<type>:<id>, then chat:<type> (the channel of options.channel_cid), then chat;
    feeds for feeds entities; with config_team, that team's policy first."""
    emu = Emulator(KEY, SECRET)
    m = async_client(emu).moderation
    text = {"moderation_payload": {"texts": ["buy now"]}, "entity_creator_id": "u"}

    async def action(entity_type: str, channel: str | None = None, team: str = "") -> str:
        options = {"channel_cid": channel} if channel else None
        response = await m.check(
            entity_type=entity_type,
            entity_id=f"e{len(emu.state.check_counts)}",
            options=options,
            config_team=team or None,
            **text,
        )
        return str(response.data.recommended_action)

    assert await action(MESSAGE) == "keep"  # nothing stored yet
    for key, verdict in (("chat", "flag"), ("chat:messaging", "remove")):
        await m.upsert_config(
            key=key, ai_text_config={"rules": [{"label": "SPAM", "action": verdict}]}
        )
    await m.upsert_config(key="chat:messaging:general", ai_text_config={"rules": []})
    await m.upsert_config(
        key="chat", team="red", ai_text_config={"rules": [{"label": "SPAM", "action": "shadow"}]}
    )
    await m.upsert_config(
        key="feeds", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
    )
    assert await action(MESSAGE) == "flag"
    assert await action(MESSAGE, "livestream:x") == "flag"
    assert await action(MESSAGE, "messaging:other") == "remove"
    assert await action(MESSAGE, "messaging:general") == "keep"
    assert await action(MESSAGE, team="red") == "remove"  # shadow gives remove
    assert await action(MESSAGE, team="blue") == "flag"  # no blue policy: the team-less one
    assert await action("stream:feeds:v2:activity") == "flag"
    assert await action("stream:user") == "keep"
    item = emu.state.item_for(MESSAGE, "e2")
    assert item is not None and item.config_key == "chat"


async def test_rechecking_updates_the_same_item() -> None:
    deliveries: list[Any] = []
    emu = Emulator(KEY, SECRET, webhook_callback=deliveries.append)
    _, client = await make(emu, ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]})
    first = await verdict(client, "buy now")
    second = await verdict(client, "buy now, act now")
    assert first.item.id == second.item.id
    assert second.item.flags_count == 2
    assert second.item.moderation_payload.texts == ["buy now, act now"]
    kept = await verdict(client, "hello")
    assert kept.recommended_action == "keep" and not kept.item
    types = [d.event_type for d in deliveries]
    assert types == [
        "review_queue_item.new",
        "moderation_check.completed",
        "review_queue_item.updated",
        "moderation_check.completed",
        "moderation_check.completed",
    ]
    assert deliveries[-1].payload["review_queue_item_id"] == ""


async def test_item_contents() -> None:
    _, client = await make(
        ai_text_config={"rules": [{"label": "HARASSMENT", "action": "remove"}]},
        block_list_config={"rules": [{"name": "profanity_en", "action": "flag"}]},
    )
    data = await verdict(client, "you idiot, shit", creator="troll")
    item = data.item
    assert {f.type for f in item.flags} == {"ai_text", "block_list"}
    assert item.recommended_action == "remove"
    assert item.status == "complete"
    assert item.languages == ["en"]
    assert item.entity_creator.id == "troll"
    assert item.entity_creator.flagged_count == 2
    assert item.config_key == "policy"
    assert item.reviewed_by == "" and not item.reviewed_at
    assert item.actions[0].reporter_type == "automod"
    blocked = next(f for f in item.flags if f.type == "block_list")
    assert blocked.result[0]["matches"] == ["shit"]


async def test_bypass_skips_moderation() -> None:
    _, client = await make(ai_text_config={"rules": [{"label": "SPAM", "action": "remove"}]})
    await client.moderation.bypass(target_user_id="vip", enabled=True)
    assert (await verdict(client, "buy now", creator="vip")).recommended_action == "keep"
    await client.moderation.bypass(target_user_id="vip", enabled=False)
    assert (await verdict(client, "buy now", "x", creator="vip")).recommended_action == "remove"


async def test_labels_endpoint() -> None:
    emu, client = await make(ai_text_config={"rules": [{"label": "HARASSMENT", "action": "flag"}]})
    m = client.moderation
    data = (await m.labels(content="you are an idiot, damn", dry_run=True)).data
    assert data.labels == ["HARASSMENT"]
    assert data.directed_at == "USER"
    assert data.masked_content == "you are an idiot, ****"
    assert data.recommended_action == "flag"
    assert emu.state.label_results == []
    with_policy = (await m.labels(content="i will find you", policy="policy")).data
    assert with_policy.recommended_action == "flag"
    assert (
        await m.labels(content="nice", content_type="username")
    ).data.recommended_action == "keep"
    assert (
        len((await m.query_label_results(sort=[{"field": "created_at"}])).data.label_results) == 2
    )


@pytest.mark.parametrize("mode", ["unix_ns", "rfc3339"])
async def test_timestamp_modes(mode: str) -> None:
    emu = Emulator(KEY, SECRET, timestamps=mode)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url="http://e", params={"api_key": KEY}
    ) as http:
        config = await http.post("/api/v2/moderation/config", json={"key": "k"}, headers=headers())
        created = config.json()["config"]["created_at"]
        task = await http.post(
            "/api/v1/moderation/tasks",
            json={"content_type": "text", "payload": {"text": "hi"}},
            headers=headers(),
        )
    if mode == "unix_ns":
        assert isinstance(created, int) and created > 1_600_000_000 * 10**9
    else:
        assert isinstance(created, str) and created.endswith("Z")
    assert isinstance(task.json()["task"]["created_at"], str)  # the automod API: always RFC 3339
    client = async_client(emu)
    got = (await client.moderation.get_config("k")).data.config.created_at
    assert got.year >= 2024  # the SDK parses both encodings


async def test_switching_timestamps_at_runtime() -> None:
    emu = Emulator(KEY, SECRET)
    client = async_client(emu)
    await client.moderation.upsert_config(key="k")
    emu.timestamps = "rfc3339"
    raw = await client.moderation.get_config("k")
    assert isinstance(raw.data.config.to_dict()["created_at"], str)
    with pytest.raises(ValueError):
        emu.timestamps = "seconds"  # type: ignore[assignment]


def test_deterministic_clock_and_ids() -> None:
    ids = iter(f"id-{n}" for n in range(100))
    emu = Emulator(
        KEY, SECRET, clock=lambda: 1_700_000_000_000_000_000, id_factory=lambda: next(ids)
    )
    with emu.sync_client() as client:
        client.moderation.flag(entity_type="stream:user", entity_id="u", user_id="r")
        item = client.moderation.query_review_queue().data.items[0]
    assert item.id.startswith("id-")
    assert item.to_dict()["created_at"] == 1_700_000_000_000_000_000
    assert json.loads(json.dumps(item.to_dict()))["id"] == item.id
