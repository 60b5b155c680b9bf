"""Screenshots of the real console for docs/emulator.md: ``make console-screenshots``.

Serves an emulator, fills its review queue through the SDK, signs in with headless
Chromium and saves ``docs/images/console-queue.png`` and ``docs/images/console-item.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from stream_moderation import Stream
from stream_moderation.testing import Emulator
from stream_moderation.testing._server import serve_in_thread
from tests.console.conftest import CHROMIUM_FLAGS, chromium_path
from tests.support.emulator_support import KEY, SECRET

MESSAGES = {
    "msg-1001": ("ann", "Buy now! Limited time offer on cheap followers"),
    "msg-1002": ("bob", "you are an idiot and nobody likes you"),
    "msg-1003": ("cat", "Claim your prize: send me your bank details"),
    "msg-1004": ("dan", "click here for free money"),
    "msg-1005": ("eve", "shut up, loser"),
    "msg-1006": ("fay", "Check out my profile, subscribe to my channel"),
}


def main(out: Path) -> None:
    path = chromium_path()
    if path is None:
        raise SystemExit("no chromium: apt-get install -y chromium")
    emulator = Emulator(KEY, SECRET)
    with serve_in_thread(emulator.app) as url, Stream(KEY, SECRET, base_url=url) as client:
        m = client.moderation
        m.upsert_config(
            key="chat",
            ai_text_config={
                "rules": [
                    {"label": "SPAM", "action": "flag"},
                    {"label": "SCAM", "action": "remove"},
                    {"label": "HARASSMENT", "action": "remove"},
                ]
            },
            block_list_config={"rules": [{"name": "profanity_en", "action": "remove"}]},
        )
        items = {}
        for entity_id, (user, text) in MESSAGES.items():
            items[entity_id] = m.check(
                entity_type="stream:chat:v1:message",
                entity_id=entity_id,
                entity_creator_id=user,
                moderation_payload={"texts": [text]},
                config_key="chat",
            ).data.item.id
        m.submit_action(action_type="mark_reviewed", item_id=items["msg-1004"], user_id="mod-kim")
        with (
            tempfile.TemporaryDirectory() as profile,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=path,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 640},
            )
            page = browser.new_page()
            page.goto(f"{url}/_emulator/ui")
            page.fill("#api-key", KEY)
            page.fill("#api-secret", SECRET)
            page.click("#signin-submit")
            page.wait_for_selector("[data-testid=queue-row]")
            out.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out / "console-queue.png"))
            page.click(f"[data-item-id='{items['msg-1002']}']")
            page.wait_for_selector("[data-testid=item-text]")
            page.select_option("[data-testid=action-type]", "ban")
            page.screenshot(path=str(out / "console-item.png"), full_page=True)
            browser.close()
    print(f"saved {out}/console-queue.png and {out}/console-item.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
