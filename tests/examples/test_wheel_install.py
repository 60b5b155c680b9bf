"""The built wheel, installed with pip into a fresh virtualenv, runs the README's quick
start: what a user installs, not the editable checkout.

To stay fast (no download, no dependency resolution) the virtualenv is made without pip
and sees the dependencies already in .venv through a path entry (not a site dir, so
.venv's editable install, a .pth file there, is not applied); .venv's pip installs the
wheel into it with ``--python --no-deps``. The program runs from a folder outside the
repository, so nothing but the installed wheel can be imported as ``stream_moderation``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

pytestmark = pytest.mark.release_independent


def quick_start() -> str:
    section = README.read_text().split("\n## Quick start\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python block in the README's Quick start"
    return match.group(1)


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installed_in_a_clean_venv_runs_the_quick_start(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, ROOT, cwd=ROOT)
    (wheel,) = dist.glob("stream_moderation-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "stream_moderation/py.typed" in names
    assert "stream_moderation/testing/_emulator.py" in names
    assert not any(n.startswith(("tests/", "codegen/", "src/")) for n in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).strip()
    )
    # the dependencies (httpx, attrs, starlette, ...) from .venv, after the venv's own
    (site / "_deps_from_dot_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )

    program = tmp_path / "quick_start.py"
    program.write_text(quick_start())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAM_", "PYTHON"))}
    where = run(
        python,
        "-c",
        "import stream_moderation; print(stream_moderation.__file__)",
        cwd=tmp_path,
        env=env,
    )
    assert Path(where.strip()).is_relative_to(site), where
    out = run(python, program, cwd=tmp_path, env=env).splitlines()
    assert out[:2] == ["keep", "complete"], out
    assert out[2:4] == ["flag", "complete"], out
    assert out[4].startswith("to review: "), out
    assert run(env_dir / "bin" / "stream-moderation-emulator", "--help", cwd=tmp_path, env=env)
