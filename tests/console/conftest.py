"""The console's browser tests: one headless Chromium per pytest worker (Debian's chromium,
driven by Playwright for Python; no browser download), a fresh served emulator per test.

They all run on one worker (xdist group "browser") so that one browser serves them all.
Without Chromium (``make test`` installs it when it can) they skip, saying so.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stream_moderation import Stream
from stream_moderation.testing import Emulator
from stream_moderation.testing._server import serve_in_thread
from tests.support.emulator_support import KEY, SECRET

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CONSOLE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Remote:
    """A Playwright object of the async API, driven from the test's thread: every call runs
    on the browser's event loop, in a thread of its own (an anyio blocking portal). The sync
    API is not used because it keeps an asyncio loop marked running in the main thread,
    which breaks the async tests that run after it on the same pytest worker."""

    __slots__ = ("_portal", "_target")

    def __init__(self, portal: BlockingPortal, target: Any) -> None:
        self._portal = portal
        self._target = target

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._wrap(v) for v in value]
        if type(value).__module__.startswith("playwright."):
            return Remote(self._portal, value)
        return value

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return self._wrap(attribute)

        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                result = attribute(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result

            return self._wrap(self._portal.call(run))

        return call


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "the console's browser tests need Chromium: none found at /usr/bin/chromium or on "
            "PATH (make test installs Debian's chromium when run as root; or set "
            "CONSOLE_CHROMIUM)"
        )
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the console's browser tests need playwright (the dev extra)")
    manager = async_playwright()
    with (
        tempfile.TemporaryDirectory(prefix="console-chromium-") as profile,
        start_blocking_portal("asyncio") as portal,
    ):
        playwright = portal.call(manager.__aenter__)
        try:
            launch = functools.partial(
                playwright.chromium.launch_persistent_context,
                profile,
                executable_path=path,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 800},
            )
            context = portal.call(launch)
            try:
                yield Remote(portal, context)
            finally:
                portal.call(context.close)
        finally:
            portal.call(manager.__aexit__, None, None, None)


class Receiver:
    """A webhook endpoint on a real port."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def endpoint(self, request: Request) -> Response:
        self.bodies.append(await request.body())
        return Response(status_code=200)


@pytest.fixture(scope="session")
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    app = Starlette(routes=[Route("/hook", hook.endpoint, methods=["POST"])])
    with serve_in_thread(app) as url:
        yield hook, f"{url}/hook"


@dataclass
class Served:
    emulator: Emulator
    url: str
    client: Stream
    hook: Receiver
    page: Any
    console_errors: list[str] = field(default_factory=list)

    @property
    def console(self) -> str:
        return f"{self.url}/_emulator/ui"

    def sign_in(self, key: str = KEY, secret: str = SECRET) -> None:
        page = self.page
        page.goto(self.console)
        page.fill("#api-key", key)
        page.fill("#api-secret", secret)
        page.click("#signin-submit")

    def signed_in(self) -> Any:
        self.sign_in()
        self.page.wait_for_selector("body[data-ready]")
        return self.page


@pytest.fixture
def served(browser: Any, receiver: tuple[Receiver, str]) -> Iterator[Served]:
    hook, hook_url = receiver
    hook.bodies.clear()
    emulator = Emulator(KEY, SECRET, webhook_url=hook_url, webhook_retry_delays=(0.01,))
    with serve_in_thread(emulator.app) as url:
        page = browser.new_page()
        page.set_default_timeout(8000)
        client = Stream(KEY, SECRET, base_url=url, max_retries=0)
        served = Served(emulator, url, client, hook, page)
        page.on("pageerror", lambda error: served.console_errors.append(str(error)))
        try:
            yield served
        finally:
            client.close()
            page.close()
            browser.clear_cookies()
    assert served.console_errors == [], served.console_errors
