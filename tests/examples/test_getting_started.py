"""Stream's getting-started guide runs with only its imports changed.

The guide's code blocks (a copy in ``tests/fixtures``: a clone has nothing outside the
project) are joined in order; the import lines are replaced as the README's table "Coming
from getstream" says, and nothing else is touched. The program then runs in a fresh
process against the served emulator, which holds the guide's placeholder credentials;
``STREAM_BASE_URL`` is the only thing that points it there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stream_moderation.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "tests" / "fixtures" / "getting-started-guide.md"
README = ROOT / "README.md"


def guide_code() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL))


def readme_import_changes() -> dict[str, str]:
    section = README.read_text().split("\n## Coming from getstream\n", 1)[1]
    table = section.split("\n\n", 2)[1]
    rows = re.findall(
        r"^\| `(from getstream[^`]*)` \| `(from stream_moderation[^`]*)` \|$", table, re.M
    )
    return dict(rows)


def test_the_readme_names_each_changed_line() -> None:
    changes = readme_import_changes()
    code = guide_code()
    imports = [line for line in code.splitlines() if "getstream" in line]
    assert imports and sorted(set(imports)) == sorted(changes), (imports, changes)


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")  # the guide's secret
def test_the_guide_runs_with_only_its_imports_changed(tmp_path: Path) -> None:
    code = guide_code()
    for old, new in readme_import_changes().items():
        code = code.replace(old, new)
    assert "getstream" not in code
    changed = [
        (a, b) for a, b in zip(guide_code().splitlines(), code.splitlines(), strict=True) if a != b
    ]
    assert all(a.startswith("from getstream") for a, _ in changed)
    program = tmp_path / "guide.py"
    program.write_text(code)
    emulator = Emulator(api_key="YOUR_API_KEY", api_secret="YOUR_API_SECRET")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")}
    with emulator.serve() as url:
        env["STREAM_BASE_URL"] = url
        ran = subprocess.run(
            [sys.executable, str(program)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["keep"]
    assert emulator.calls == {"upsert_config": 1, "check": 1}
    # the guide's placeholder secret is short: one warning, not one per call
    assert ran.stderr.count("InsecureKeyLengthWarning") == 1, ran.stderr
