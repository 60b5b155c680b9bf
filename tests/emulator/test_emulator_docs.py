"""The emulator's documentation stays true: the docs' classifier table and block list,
the getting-started example, and the test helpers' own response check."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from stream_moderation.models import ParseError
from stream_moderation.testing import BUILTIN_BLOCKLISTS, DEFAULT_TRIGGERS, response_body
from tests.conftest import ROOT
from tests.support.emulator_support import check_response

SECTION = (ROOT / "docs" / "emulator-semantics.md").read_text()


@pytest.mark.parametrize("label", sorted(DEFAULT_TRIGGERS))
def test_readme_lists_every_trigger(label: str) -> None:
    row = re.search(rf"^\| `{label}` \| (.*) \|$", SECTION, re.MULTILINE)
    assert row is not None, f"no README row for {label}"
    cells = row.group(1)
    for trigger in DEFAULT_TRIGGERS[label]:
        shown = trigger.description if trigger.regex else f"`{trigger.text}`"
        assert f"{trigger.severity}: " in cells
        assert shown in cells, f"{label}: {shown} missing from the README"


def test_readme_lists_the_builtin_block_list() -> None:
    listed = re.search(r"`profanity_en` holds: ([^.]+)\.", SECTION)
    assert listed is not None
    words = [w.strip() for w in " ".join(listed.group(1).split()).split(",")]
    assert words == list(BUILTIN_BLOCKLISTS["profanity_en"])


def test_readme_answers_every_open_question() -> None:
    answers = SECTION[SECTION.index("## Decisions where the docs are silent") :]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", answers, re.MULTILINE)]
    # the fact sheet's 16 open questions, then the choices for what later releases added
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 16


def test_getting_started_example_prints_keep_flag_remove() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_API_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "getting_started.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    out = result.stdout
    assert "in-process emulator" in out
    verdicts = re.findall(r"^  \w+ .* -> (keep|flag|remove)$", out, re.MULTILINE)
    assert verdicts == ["keep", "flag", "remove"]
    assert "Review queue (2 unreviewed items)" in out
    assert "latest_moderator_action=mark_reviewed" in out


def test_the_helpers_response_check_catches_bad_bodies() -> None:
    with pytest.raises(ParseError):
        check_response("POST", "/api/v2/moderation/check", 201, b'{"status": "complete"}')
    with pytest.raises(ParseError):
        check_response("GET", "/api/v2/moderation/review_queue/x", 404, b'{"code": 16}')
    check_response(
        "POST", "/api/v2/moderation/check", 201, json.dumps(response_body("check")).encode()
    )


def test_public_surface_of_the_testing_package() -> None:
    """Derived from the package, as httpx's test_exported_members is: every name in
    ``__all__`` is public, sorted, importable from the module it is said to live in (and in
    that module's ``__all__``), and the imports type checkers see name the same places."""
    import ast
    import importlib
    import inspect

    import stream_moderation.testing as testing

    where = testing._WHERE
    assert testing.__all__ == list(where)
    assert all(not name.startswith("_") for name in testing.__all__)
    by_kind = sorted(testing.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert testing.__all__ == by_kind  # the order ruff's RUF022 gives a literal __all__
    for name, module_name in where.items():
        module = importlib.import_module(f"stream_moderation.testing.{module_name}")
        assert name in module.__all__, (name, module_name)
        assert getattr(testing, name) is getattr(module, name)
    static = {
        alias.name: (node.module, alias.asname)
        for node in ast.walk(ast.parse(inspect.getsource(testing)))
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }
    assert static == {name: (module, name) for name, module in where.items()}
    assert set(dir(testing)) == set(testing.__all__)
    with pytest.raises(AttributeError):
        _ = testing.Nope  # type: ignore[attr-defined]


def test_the_sdk_core_never_imports_the_emulator() -> None:
    code = (
        "import sys, stream_moderation, stream_moderation.models, stream_moderation.webhooks; "
        "print(any(m.startswith(('stream_moderation.testing', 'starlette')) for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
