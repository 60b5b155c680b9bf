"""The console in a real headless Chromium: sign-in, the review queue, actions, configs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from typing import Any

import anyio
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from stream_moderation.testing._auth import authenticate
from stream_moderation.testing._console import action_types
from stream_moderation.testing._errors import EmulatorError
from stream_moderation.testing._spec import operations
from tests.console.conftest import Served
from tests.support.emulator_support import KEY, SECRET

pytestmark = pytest.mark.xdist_group("browser")
MESSAGE = "stream:chat:v1:message"
SPEC_ACTIONS = action_types()


def seed(served: Served, texts: dict[str, str], config: str = "chat") -> dict[str, Any]:
    m = served.client.moderation
    m.upsert_config(
        key=config,
        ai_text_config={
            "rules": [
                {"label": "SPAM", "action": "flag"},
                {"label": "HARASSMENT", "action": "remove"},
            ]
        },
    )
    results = {}
    for entity_id, text in texts.items():
        results[entity_id] = m.check(
            entity_type=MESSAGE,
            entity_id=entity_id,
            entity_creator_id="user-" + entity_id,
            moderation_payload={"texts": [text]},
            config_key=config,
        ).data
    return results


def rows(page: Any) -> list[str]:
    return [
        r.get_attribute("data-item-id") for r in page.query_selector_all("[data-testid=queue-row]")
    ]


def wait_queue(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=queue-row]').length === n", arg=count
    )


def wait_rows(page: Any, ids: list[str]) -> None:
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll('[data-testid=queue-row]')]"
        ".map(r => r.dataset.itemId)) === JSON.stringify(ids)",
        arg=ids,
    )


def test_sign_in_refused_with_a_wrong_secret_and_nothing_answers_without_it(
    served: Served,
) -> None:
    page = served.page
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.url} {r.headers} {r.post_data}"))
    served.sign_in(secret="not-the-secret-" + "x" * 30)
    page.wait_for_selector("#signin-error:not([hidden])")
    assert page.inner_text("#signin-error") == "wrong API key or secret"
    assert page.query_selector("#view") is None
    anonymous = httpx.Client(base_url=served.url)
    for path in ("/api/meta", "/api/users", "/api/journal", "/static/console.js"):
        assert anonymous.get("/_emulator/ui" + path).status_code == 401, path
    assert anonymous.post("/_emulator/ui/api/call", json={}).status_code == 401
    # the right secret: a session cookie the page cannot read, the secret nowhere
    served.sign_in()
    page.wait_for_selector("body[data-ready]")
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and SECRET not in cookie["value"]
    assert page.evaluate("document.cookie") == ""
    stored = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert stored == "[{},{}]"
    assert SECRET not in page.url and SECRET not in page.content()
    # the page signed a token with the secret: the secret itself was never sent
    assert any("/_emulator/ui/session" in r for r in sent)
    assert not [r for r in sent if SECRET in r]


def test_the_pages_sha256_and_hmac_match_pythons(served: Served) -> None:
    page = served.page
    page.goto(served.console)
    for text in ("", "abc", "é" * 100, "x" * 55, "y" * 56, "z" * 64, "w" * 1000):
        digest = page.evaluate("t => SignIn.hex(SignIn.sha256(SignIn.utf8(t)))", text)
        assert digest == hashlib.sha256(text.encode()).hexdigest(), len(text)
    for key in ("k", "k" * 64, "k" * 65, SECRET):
        mac = page.evaluate(
            "([k, m]) => SignIn.hex(SignIn.hmac(SignIn.utf8(k), SignIn.utf8(m)))", [key, "msg"]
        )
        assert mac == hmac.new(key.encode(), b"msg", hashlib.sha256).hexdigest()


def test_queue_filter_open_act_and_a_webhook_is_delivered(served: Served) -> None:
    texts = {f"spam-{i}": f"buy now offer {i}" for i in range(4)}
    texts |= {"rude-1": "you are an idiot", "rude-2": "shut up loser"}
    seeded = seed(served, texts)
    page = served.signed_in()
    wait_queue(page, 6)
    assert page.inner_text("[data-testid=queue-total]").startswith("6 matching")
    # filter on the recommended action
    page.select_option("[data-testid=filter-recommended_action]", "remove")
    page.click("[data-testid=apply-filters]")
    wait_queue(page, 2)
    removed = {seeded[e].item.id for e in ("rude-1", "rude-2")}
    assert set(rows(page)) == removed
    # paging: 4 flagged items, 3 per page
    page.select_option("[data-testid=filter-recommended_action]", "flag")
    page.select_option("[data-testid=filter-limit]", "5")
    page.click("[data-testid=apply-filters]")
    wait_queue(page, 4)
    served.client.moderation.check(
        entity_type=MESSAGE,
        entity_id="spam-late",
        entity_creator_id="late",
        moderation_payload={"texts": ["click here"]},
        config_key="chat",
    )
    served.client.moderation.check(
        entity_type=MESSAGE,
        entity_id="spam-later",
        entity_creator_id="later",
        moderation_payload={"texts": ["act now"]},
        config_key="chat",
    )
    page.click("[data-testid=apply-filters]")
    wait_queue(page, 5)
    first_page = rows(page)
    assert page.is_disabled("[data-testid=prev-page]")
    page.click("[data-testid=next-page]")
    wait_queue(page, 1)
    assert rows(page)[0] not in first_page
    page.click("[data-testid=prev-page]")
    wait_queue(page, 5)
    assert rows(page) == first_page
    # open an item: its text, labels and the config that decided it
    target = seeded["rude-1"].item.id
    page.select_option("[data-testid=filter-recommended_action]", "remove")
    page.select_option("[data-testid=filter-reviewed]", "false")
    page.click("[data-testid=apply-filters]")
    wait_queue(page, 2)
    page.click(f"[data-item-id='{target}']")
    page.wait_for_selector("[data-testid=item-id]")
    assert page.inner_text("[data-testid=item-id]") == target
    assert page.inner_text("[data-testid=item-text]") == "you are an idiot"
    assert page.inner_text("[data-testid=item-config]") == "chat"
    assert "HARASSMENT" in page.inner_text("[data-testid=flags]")
    assert page.inner_text("[data-testid=item-reviewed]") == "no"
    # the action types of the release, from its SubmitActionRequest
    options = page.eval_on_selector_all(
        "[data-testid=action-type] option", "options => options.map(o => o.value)"
    )
    assert options == SPEC_ACTIONS
    hooks_before = len(served.hook.bodies)
    page.select_option("[data-testid=action-type]", "mark_reviewed")
    page.fill("[data-testid=moderator]", "mod-ann")
    page.click("[data-testid=submit-action]")
    page.wait_for_selector("[data-testid=action-result] .ok")
    assert page.inner_text("[data-testid=item-reviewed]").endswith("by mod-ann")
    assert page.inner_text("[data-testid=item-latest-action]") == "mark_reviewed"
    assert "mark_reviewed" in page.inner_text("[data-testid=actions]")
    # the API's state and a webhook, as for a client's submit_action
    assert served.emulator.state.items[target].reviewed_by == "mod-ann"
    assert served.emulator.calls.get("submit_action") == 1
    # delivered before the API answered the console
    events = [json.loads(body) for body in served.hook.bodies[hooks_before:]]
    assert "moderation.mark_reviewed" in {e["type"] for e in events}
    # back in the queue: the unreviewed filter no longer shows it, the reviewed one does
    page.click("[data-testid=back-to-queue]")
    wait_rows(page, [seeded["rude-2"].item.id])
    page.select_option("[data-testid=filter-reviewed]", "true")
    page.click("[data-testid=apply-filters]")
    wait_rows(page, [target])
    # an action the API refuses shows the API's error
    page.click(f"[data-item-id='{target}']")
    page.wait_for_selector("[data-testid=item-id]")
    page.select_option("[data-testid=action-type]", "custom")
    page.click("[data-testid=submit-action]")
    page.wait_for_selector("[data-testid=action-result] [data-testid=error]")
    assert page.inner_text("[data-testid=action-result]").startswith("400:")


def test_a_config_edit_changes_the_next_checks_verdict(served: Served) -> None:
    seed(served, {})
    page = served.signed_in()
    page.click("a[data-tab=configs]")
    page.wait_for_selector("[data-testid=config-row][data-key=chat]")
    assert "profanity_en" in page.inner_text("[data-testid=blocklists]")
    page.click("[data-testid=config-row][data-key=chat]")
    page.wait_for_selector("[data-testid=config-editor]")
    page.fill("[data-testid=check-text]", "buy now")
    page.click("[data-testid=run-check]")
    page.wait_for_selector("[data-testid=verdict-action]")
    assert page.inner_text("[data-testid=verdict-action]") == "flag"
    rules = json.loads(page.input_value("[data-testid=config-editor]"))
    # an invalid edit: the API's validation, its message shown, nothing saved
    broken = {
        **rules,
        "block_list_config": {"rules": [{"name": "no_such_list", "action": "remove"}]},
    }
    page.fill("[data-testid=config-editor]", json.dumps(broken))
    page.click("[data-testid=save-config]")
    page.wait_for_selector("[data-testid=config-result] [data-testid=error]")
    assert "no_such_list" in page.inner_text("[data-testid=config-result]")
    # SPAM now removes
    for rule in rules["ai_text_config"]["rules"]:
        if rule["label"] == "SPAM":
            rule["action"] = "remove"
    page.fill("[data-testid=config-editor]", json.dumps(rules))
    page.click("[data-testid=save-config]")
    page.wait_for_selector("[data-testid=config-saved]")
    page.click("[data-testid=run-check]")
    page.wait_for_selector("[data-testid=verdict-action]:text('remove')")
    config = served.client.moderation.get_config(key="chat").data.config
    assert config.block_list_config is None or not config.block_list_config.rules


def test_message_text_is_escaped(served: Served) -> None:
    payload = (
        "<script>window.__xss = 'script'</script>"
        "<img src=x onerror=\"window.__xss = 'img'\"><b>bold</b> idiot"
    )
    seeded = seed(served, {"evil": payload})
    page = served.signed_in()
    wait_queue(page, 1)
    assert payload in page.inner_text("[data-testid=queue]")
    page.click(f"[data-item-id='{seeded['evil'].item.id}']")
    page.wait_for_selector("[data-testid=item-text]")
    assert page.inner_text("[data-testid=item-text]") == payload
    assert page.query_selector("#view img, #view script, #view b") is None
    assert page.evaluate("window.__xss") is None


def test_users_bans_and_mutes_read_only(served: Served) -> None:
    served.emulator.add_users([{"id": "ann", "name": "Ann <i>", "role": "admin"}, "bob"])
    m = served.client.moderation
    m.ban(target_user_id="bob", banned_by_id="ann", reason="spam & worse")
    m.mute(target_ids=["bob"], user_id="ann")
    page = served.signed_in()
    page.click("a[data-tab=users]")
    page.wait_for_selector("[data-testid=ban-row]")
    users = page.inner_text("[data-testid=users]")
    assert "Ann <i>" in users and "bob" in users
    assert "spam & worse" in page.inner_text("[data-testid=bans]")
    assert re.search(r"ann\s+bob", page.inner_text("[data-testid=mutes]"))


def test_request_journal(served: Served) -> None:
    token = served.emulator.create_token()
    probe = httpx.get(
        f"{served.url}/_emulator/requests",
        params={"api_key": KEY},
        headers={"Authorization": token, "Stream-Auth-Type": "jwt"},
    )
    page = served.signed_in()
    page.click("a[data-tab=journal]")
    if probe.status_code == 404:
        page.wait_for_selector("[data-testid=journal-unavailable]")
        pytest.skip("request journal not available in this emulator")
    served.client.moderation.query_review_queue()
    page.click("a[data-tab=queue]")
    page.wait_for_selector("[data-testid=queue-empty]")
    page.click("a[data-tab=journal]")
    page.wait_for_selector("[data-testid=journal-row]")
    journal = page.inner_text("[data-testid=journal]")
    assert operations()["query_review_queue"].path in journal
    assert SECRET not in page.content()


def contract_journal(app: Any) -> Any:
    """A stand-in for the request journal, answering as its contract says (for the panel's
    test while an emulator has none): the server token is checked as the API checks it."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/_emulator/requests":
            await app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            authenticate(
                request.query_params.get("api_key"),
                request.headers,
                expected_key=KEY,
                secret=SECRET,
                now=time.time(),
            )
        except EmulatorError as error:
            await JSONResponse({"message": str(error)}, status_code=error.status)(
                scope, receive, send
            )
            return
        entry = {
            "method": "POST",
            "path": "/api/v2/moderation/check",
            "status": 201,
            "request_id": "req-1",
            "started_at": "2026-01-01T00:00:00Z",
            "duration_ms": 1.5,
            "request_body": {"moderation_payload": {"texts": ["<script>window.__xss=1</script>"]}},
            "response_body": {"recommended_action": "keep"},
        }
        await JSONResponse({"requests": [entry, {**entry, "request_id": "req-2"}]})(
            scope, receive, send
        )

    return wrapped


def test_journal_panel_against_the_contract(served: Served) -> None:
    served.emulator.add_middleware(contract_journal)
    page = served.signed_in()
    page.click("a[data-tab=journal]")
    page.wait_for_selector("[data-testid=journal-row]")
    assert len(page.query_selector_all("[data-testid=journal-row]")) == 2
    first = page.query_selector("[data-testid=journal-row]")
    assert "req-2" in first.inner_text() and "/api/v2/moderation/check" in first.inner_text()
    first.click()
    assert "<script>window.__xss=1</script>" in page.inner_text("[data-testid=journal]")
    assert page.evaluate("window.__xss") is None


def test_the_browser_leaves_no_event_loop_running_in_the_tests_thread(served: Served) -> None:
    served.signed_in()
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert anyio.run(anyio.sleep, 0) is None  # the async tests after these still run
