"""Generated modules import the models they refer to on first use, not on import.

A CheckResponse reaches about 90 models; each costs its import (attrs builds the class)
whether or not a response holds one. What is observable: importing an endpoint or a model
imports only it, a payload that holds nested models parses them all the same, and after
the first use the referring module holds the class itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing

from stream_moderation._types import LazyModel, model_to_wire
from stream_moderation.testing import response_body
from tests.conftest import FIXTURES, load_fixture


def _fresh(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout


def test_importing_an_endpoint_imports_only_its_response_model() -> None:
    out = _fresh(
        "import sys, json\n"
        "import stream_moderation\n"
        "from stream_moderation._generated.api.moderation import check\n"
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules\n"
        "    if m.startswith('stream_moderation._generated.models.'))))\n"
    )
    assert json.loads(out) == ["check_response"]


def test_a_lean_response_imports_no_nested_models_and_a_full_one_what_it_holds() -> None:
    heavy = FIXTURES / "check_response_heavy_ns.json"
    out = _fresh(
        "import sys, json\n"
        "from stream_moderation.models import CheckResponse\n"
        "def models():\n"
        "    return sum('_generated.models.' in m for m in sys.modules)\n"
        f"lean = {response_body('check')!r}\n"  # required fields only
        "CheckResponse.from_dict(lean)\n"
        "before = models()\n"
        "from stream_moderation._types import read_all\n"
        f"item = read_all(CheckResponse.from_dict(json.load(open({str(heavy)!r})))).item\n"
        "print(json.dumps([before, models(), type(item).__name__]))\n"
    )
    before, after, item = json.loads(out)
    assert before == 1
    assert after > 10
    assert item == "ReviewQueueItemResponse"


def test_after_first_use_the_module_holds_the_class_itself() -> None:
    from stream_moderation.models import CheckResponse

    # the module that defines the class in use (another test may have re-imported the
    # package, leaving sys.modules with newer module objects than the cached classes')
    check_response = sys.modules[CheckResponse.__module__]
    parsed = CheckResponse.from_dict(load_fixture("check_response_heavy_ns.json"))
    assert parsed.item is not None
    assert check_response.ReviewQueueItemResponse is type(parsed.item)


def test_a_lazy_reference_behaves_as_the_class() -> None:
    from stream_moderation.models import ModerationPayload

    def lazy() -> typing.Any:
        return LazyModel(
            "nowhere", "stream_moderation._generated.models.moderation_payload", "ModerationPayload"
        )

    assert isinstance(ModerationPayload(texts=["a"]), lazy())
    assert lazy()(texts=["a"]) == ModerationPayload(texts=["a"])
    assert model_to_wire(lazy(), {"texts": ["a"]}) == {"texts": ["a"]}
    assert lazy().__name__ == "ModerationPayload"
    assert lazy() | None == ModerationPayload | None


def test_type_hints_resolve() -> None:
    from stream_moderation.models import CheckResponse, ReviewQueueItemResponse

    hints = typing.get_type_hints(CheckResponse.item.fget)  # read when first used
    assert ReviewQueueItemResponse in typing.get_args(hints["return"])


def test_importing_the_package_leaves_pyjwt_for_the_first_client() -> None:
    out = _fresh(
        "import sys\n"
        "import stream_moderation\n"
        "print('jwt' in sys.modules)\n"
        "stream_moderation.AsyncStream('key', 'a-secret-of-thirty-two-bytes-or-more')\n"
        "print('jwt' in sys.modules)\n"
    )
    assert out.split() == ["False", "True"]


def test_type_hints_resolve_inside_containers() -> None:
    out = _fresh(
        "import typing\n"
        "from stream_moderation._generated.models.channel_response import ChannelResponse\n"
        "hints = typing.get_type_hints(ChannelResponse)\n"
        "print(repr(hints['own_capabilities']))\n"
    )
    assert "LazyModel" not in out and "lazy" not in out
    assert "typing.Literal[" in out and "UnknownValue" in out  # an open enum


def test_a_check_loads_neither_batches_rate_limits_nor_webhooks_until_used() -> None:
    heavy = json.dumps(load_fixture("check_response_heavy_ns.json"))
    optional = ("_bulk", "_rate_limits", "_redis_limits", "webhooks", "aiohttp")
    out = _fresh(
        "import json, sys, httpx\n"
        "import stream_moderation as sm\n"
        f"optional = {optional!r}\n"
        "def loaded():\n"
        "    return sorted(m for m in optional if 'stream_moderation.' + m in sys.modules)\n"
        f"body = {heavy!r}\n"
        "answer = httpx.MockTransport(lambda r: httpx.Response(201, content=body.encode()))\n"
        "with sm.Stream('key', 'a-secret-of-thirty-two-bytes-or-more', transport=answer) as c:\n"
        "    c.moderation.check(entity_type='t', entity_id='1', entity_creator_id='u')\n"
        "print(json.dumps(loaded()))\n"
        "print(sm.CheckItem.__module__, sm.RedisRateLimits.__module__,\n"
        "      sm.WebhookError.__module__)\n"
        "print(json.dumps(loaded()))\n"
        "print(sorted(set(sm.__all__) - set(dir(sm))),\n"
        "      [n for n in sm.__all__ if getattr(sm, n) is None])\n"
    )
    before, modules, after, missing = out.splitlines()
    assert json.loads(before) == []
    assert modules.split() == [
        "stream_moderation._bulk",
        "stream_moderation._redis_limits",
        "stream_moderation.webhooks",
    ]
    assert json.loads(after) == ["_bulk", "_rate_limits", "_redis_limits", "webhooks"]
    assert missing == "[] []"


def test_an_async_check_leaves_the_sync_side_unloaded() -> None:
    # the sync client's deadline backend (httpcore's sync side) and its resource classes
    sync_side = [
        "stream_moderation._deadline",
        "httpcore._sync",
        "stream_moderation._sync_resources",
        "stream_moderation._generated.sync_resources",
    ]
    heavy = json.dumps(load_fixture("check_response_heavy_ns.json"))
    out = _fresh(
        "import asyncio, json, sys, httpx\n"
        "import stream_moderation as sm\n"
        f"body = {heavy!r}\n"
        f"sync_side = {sync_side!r}\n"
        "answer = httpx.MockTransport(lambda r: httpx.Response(201, content=body.encode()))\n"
        "async def main():\n"
        "    async with sm.AsyncStream('key', 'a-secret-of-thirty-two-bytes-or-more',\n"
        "                              transport=answer) as c:\n"
        "        r = await c.moderation.check(entity_type='t', entity_id='1',\n"
        "                                     entity_creator_id='u')\n"
        "    return r.data.recommended_action\n"
        "print(asyncio.run(main()) is not None)\n"
        "print(json.dumps([m for m in sync_side if m in sys.modules]))\n"
        "with sm.Stream('key', 'a-secret-of-thirty-two-bytes-or-more') as c:\n"
        "    pass\n"
        "print(json.dumps([m for m in sync_side if m in sys.modules]))\n"
    )
    ran, after_async, after_sync = out.splitlines()
    assert ran == "True"
    assert json.loads(after_async) == []
    assert json.loads(after_sync) == sync_side  # a Stream loads them all when it is made
