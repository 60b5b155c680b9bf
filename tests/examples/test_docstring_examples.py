"""The examples in the key methods' docstrings (the table in ``codegen/examples.py``)
run as written, in their async form and in the blocking client's, against the emulator,
with ``client`` and ``item_id`` (a review queue item) defined as the table says."""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any

import anyio
import pytest

from codegen.examples import EXAMPLES
from stream_moderation._generated import resources, sync_resources
from stream_moderation._generated.resources import AsyncModerationResource
from stream_moderation._generated.sync_resources import ModerationResource
from stream_moderation.testing import Emulator


def example_in(resource: type, name: str) -> str:
    """The example of a method: a plain one's docstring, or a paginated one's ``__call__``
    (such a method is an object of its own class, ``[Async]<Name>Method``)."""
    method = getattr(resource, name)
    if not inspect.isfunction(method):
        is_async = resource is AsyncModerationResource
        camel = "".join(part.title() for part in name.split("_"))
        module, prefix = (resources, "Async") if is_async else (sync_resources, "")
        method = getattr(module, f"{prefix}{camel}Method").__call__
    doc = method.__doc__ or ""
    match = re.search(r"Example:\n\s*```python\n(.*?)\n\s*```", doc, flags=re.DOTALL)
    assert match is not None, f"{method.__qualname__}: no example in the docstring"
    return textwrap.dedent(match.group(1))


def flagged_item(emulator: Emulator) -> str:
    """What the examples find: a review queue item (its id), user-456 banned (to appeal)."""
    with emulator.sync_client() as client:
        client.moderation.ban(target_user_id="user-456", banned_by_id="moderator-1")
        client.moderation.upsert_config(
            key="my_config", ai_text_config={"rules": [{"label": "SPAM", "action": "flag"}]}
        )
        response = client.moderation.check(
            entity_type="stream:chat:v1:message",
            entity_id="message-1",
            entity_creator_id="user-456",
            moderation_payload={"texts": ["buy now!"]},
            config_key="my_config",
        )
        assert response.data.item is not None
        return response.data.item.id


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_async_example_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = example_in(AsyncModerationResource, name)
    emulator = Emulator()
    item_id = flagged_item(emulator)
    namespace: dict[str, Any] = {}
    body = textwrap.indent(code, "        ")
    head = "async def example(emulator, item_id):\n    async with emulator.client() as client:\n"
    source = f"{head}{body}\n"
    exec(compile(source, f"{name} (async docstring example)", "exec"), namespace)
    anyio.run(namespace["example"], emulator, item_id)
    assert emulator.calls.get(name, 0) >= 1


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_blocking_example_runs(name: str) -> None:
    emulator = Emulator()
    item_id = flagged_item(emulator)
    with emulator.sync_client() as client:
        code = example_in(ModerationResource, name)
        assert "await " not in code
        exec(
            compile(code, f"{name} (docstring example)", "exec"),
            {"client": client, "item_id": item_id},
        )
    assert emulator.calls.get(name, 0) >= 1
