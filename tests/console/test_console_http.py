"""The console's server side over HTTP (no browser): sign-in, sessions, CSRF, headers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from stream_moderation.testing import Emulator
from stream_moderation.testing._console import SESSION_COOKIE, action_types
from tests.support.emulator_support import KEY, SECRET

UI = "/_emulator/ui"


def sign_in_token(secret: str = SECRET, **claims: Any) -> str:
    now = int(time.time())
    payload = {"server": True, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(KEY, SECRET)


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emulator.sync_transport(), base_url="http://localhost") as c:
        yield c


def signed_in(http: httpx.Client) -> str:
    answer = http.post(f"{UI}/session", json={"api_key": KEY, "token": sign_in_token()})
    assert answer.status_code == 200, answer.text
    page = http.get(UI).text
    return page.split('name="console-csrf" content="', 1)[1].split('"', 1)[0]


def call(http: httpx.Client, csrf: str, **body: Any) -> httpx.Response:
    return http.post(f"{UI}/api/call", json=body, headers={"X-Console-CSRF": csrf})


def test_nothing_but_the_sign_in_page_answers_without_a_session(http: httpx.Client) -> None:
    page = http.get(UI)
    assert page.status_code == 200 and 'id="signin"' in page.text
    assert "console-csrf" not in page.text
    assert http.get(f"{UI}/static/signin.js").status_code == 200
    assert http.get(f"{UI}/static/console.css").status_code == 200
    for path in ("static/console.js", "api/meta", "api/users", "api/bans", "api/mutes"):
        assert http.get(f"{UI}/{path}").status_code == 401, path
    assert http.get(f"{UI}/api/blocklists").status_code == 401
    assert http.post(f"{UI}/api/call", json={}).status_code == 401
    assert http.get(f"{UI}/static/../__init__.py").status_code in (401, 404)
    forged = http.get(UI, headers={"Cookie": f"{SESSION_COOKIE}=made-up"})
    assert 'id="signin"' in forged.text


@pytest.mark.parametrize(
    "body",
    [
        {"api_key": KEY, "token": sign_in_token("a-wrong-secret-that-is-long-enough-too")},
        {"api_key": "other-key", "token": sign_in_token()},
        {"api_key": KEY, "token": jwt.encode({"user_id": "ann"}, SECRET, algorithm="HS256")},
        {"api_key": KEY, "token": sign_in_token(exp=int(time.time()) + 86_400)},
        {"api_key": KEY, "token": sign_in_token(jti=None)},
        {"api_key": KEY, "token": sign_in_token(exp=int(time.time()) - 3600)},
        {"api_key": KEY, "api_secret": SECRET},
    ],
    ids=["wrong-secret", "wrong-key", "user-token", "long-lived", "no-jti", "expired", "secret"],
)
def test_sign_in_refused(http: httpx.Client, body: dict[str, Any]) -> None:
    answer = http.post(f"{UI}/session", json=body)
    assert answer.status_code in (400, 401)
    assert "set-cookie" not in answer.headers
    assert http.get(f"{UI}/api/meta").status_code == 401


def test_a_sign_in_token_is_accepted_once(http: httpx.Client) -> None:
    token = sign_in_token()
    assert http.post(f"{UI}/session", json={"api_key": KEY, "token": token}).status_code == 200
    again = http.post(f"{UI}/session", json={"api_key": KEY, "token": token})
    assert again.status_code == 401 and "used already" in again.text


def test_sign_in_needs_json_from_the_same_origin(http: httpx.Client) -> None:
    form = http.post(f"{UI}/session", data={"api_key": KEY, "token": sign_in_token()})
    assert form.status_code == 415
    cross = http.post(
        f"{UI}/session",
        json={"api_key": KEY, "token": sign_in_token()},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403


def test_the_session_cookie(http: httpx.Client) -> None:
    answer = http.post(f"{UI}/session", json={"api_key": KEY, "token": sign_in_token()})
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and f"Path={UI}" in cookie
    assert SECRET not in cookie


def test_state_changing_requests_need_the_csrf_token(http: httpx.Client) -> None:
    csrf = signed_in(http)
    body = {"operation": "upsert_config", "body": {"key": "c"}}
    assert http.post(f"{UI}/api/call", json=body).status_code == 403
    wrong = http.post(f"{UI}/api/call", json=body, headers={"X-Console-CSRF": "nope"})
    assert wrong.status_code == 403
    cross = http.post(
        f"{UI}/api/call",
        json=body,
        headers={"X-Console-CSRF": csrf, "Origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert http.post(f"{UI}/session/end", json={}).status_code == 403
    done = call(http, csrf, **body)
    assert done.status_code == 200 and done.json()["status"] == 201
    # signing out ends the session
    out = http.post(f"{UI}/session/end", json={}, headers={"X-Console-CSRF": csrf})
    assert out.status_code == 200
    assert http.get(f"{UI}/api/meta").status_code == 401


def test_calls_go_through_the_api(http: httpx.Client, emulator: Emulator) -> None:
    csrf = signed_in(http)
    refused = call(http, csrf, operation="upsert_config", body={"key": 3})
    assert refused.json()["status"] == 400 and "key" in refused.json()["body"]["message"]
    assert call(http, csrf, operation="no_such_operation").status_code == 400
    missing = call(http, csrf, operation="get_config", path={})
    assert missing.status_code == 400
    ok = call(http, csrf, operation="upsert_config", body={"key": "c"})
    assert ok.json()["status"] == 201 and ("c", "") in emulator.state.configs
    assert emulator.calls["upsert_config"] == 2  # the refused one counted too
    got = call(http, csrf, operation="get_config", path={"key": "c"})
    assert got.json()["body"]["config"]["key"] == "c"


def test_meta_names_the_releases_action_types(http: httpx.Client) -> None:
    signed_in(http)
    meta = http.get(f"{UI}/api/meta").json()
    assert meta["action_types"] == action_types() and meta["action_types"]
    assert meta["api_key"] == KEY and SECRET not in str(meta)


def test_security_headers(http: httpx.Client) -> None:
    for answer in (http.get(UI), http.get(f"{UI}/static/signin.js")):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"


def test_the_secret_appears_in_no_log_or_repr(
    http: httpx.Client, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    csrf = signed_in(http)
    call(http, csrf, operation="upsert_config", body={"key": "c"})
    http.post(f"{UI}/session", json={"api_key": KEY, "token": sign_in_token("w" * 40)})
    assert SECRET not in caplog.text
    assert SECRET not in repr(emulator.app.console)


def test_journal_relays_the_endpoint_or_says_it_is_not_there(
    http: httpx.Client, emulator: Emulator
) -> None:
    signed_in(http)
    probe = http.get(
        "/_emulator/requests",
        params={"api_key": KEY},
        headers={"Authorization": emulator.create_token()},
    )
    answer = http.get(f"{UI}/api/journal")
    if probe.status_code == 404:
        assert answer.status_code == 404
        assert answer.json() == {"error": "request journal not available in this emulator"}
    else:
        assert answer.status_code == 200 and "requests" in answer.json()
