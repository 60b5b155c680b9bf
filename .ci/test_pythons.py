"""`make test-pythons`: a representative part of the suite on every Python the machine has.

For each version (PYTHON_VERSIONS="3.11 3.12 3.13", the default: every supported version
found), the interpreter is looked up under pyenv (``$PYENV_ROOT/versions/<version>.*``), then as
``python<version>`` on PATH. Each gets its own virtualenv in
``.venv-pythons/<version>`` with the project (``-e .[testing]``) and
``.ci/pythons-requirements.txt``, reinstalled when pyproject.toml or the requirements
change, and runs the tests in ``SUBSET``: the clients (asyncio, trio and sync), response
parsing, the emulator and webhooks. A version that is not installed is reported and
skipped; PYTHONS_REQUIRED=1 makes it a failure. PYTHONS_TESTS="<paths>" runs other tests,
TEST_WORKERS the pytest workers (default 2; 0: in one process).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venv-pythons"
REQUIREMENTS = ROOT / ".ci" / "pythons-requirements.txt"
SUPPORTED = ("3.11", "3.12", "3.13")
SUBSET = (
    "tests/client/test_client.py",
    "tests/client/test_lenient_responses.py",
    "tests/client/test_hostile_responses.py",
    "tests/client/test_secret_hygiene.py",
    "tests/client/test_webhooks.py",
    "tests/client/test_webhook_queues.py",
    "tests/client/test_logging.py",
    "tests/client/test_lazy_imports.py",
    "tests/models/test_model_parsing.py",
    "tests/models/test_timestamp.py",
    "tests/emulator/test_emulator_check.py",
    "tests/emulator/test_emulator_webhooks.py",
)


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` that runs: pyenv's install, else one on PATH (pyenv's
    shims are skipped: a shim of a version not selected exits with 127)."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", "python")))
    found = shutil.which(f"python{version}")
    if found and "/shims/" not in found:
        candidates.append(found)
    for candidate in reversed(candidates):
        probe = [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    return None


def stamp_of() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", REQUIREMENTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare(version: str, python: str) -> Path:
    venv = VENVS / version
    py = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = stamp_of()
    if stamp.exists() and stamp.read_text() == wanted and py.exists():
        return py
    if not py.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    project = ["-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[testing]"]
    subprocess.run([*pip, *project, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted)
    return py


def main() -> int:
    versions = os.environ.get("PYTHON_VERSIONS", "").split() or list(SUPPORTED)
    required = os.environ.get("PYTHONS_REQUIRED") == "1"
    workers = os.environ.get("TEST_WORKERS", "2")
    extra = sys.argv[1:]
    results: list[tuple[str, str, float]] = []
    failed = False
    for version in versions:
        python = find_python(version)
        if python is None:
            print(f"test-pythons: Python {version} is not installed here", flush=True)
            results.append((version, "not installed", 0.0))
            failed = failed or required
            continue
        started = time.monotonic()
        print(f"test-pythons: Python {version} ({python})", flush=True)
        py = prepare(version, python)
        tests = os.environ.get("PYTHONS_TESTS", "").split() or list(SUBSET)
        command = [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, *extra]
        if workers != "0":
            command[3:3] = ["-n", workers]
        code = subprocess.run(command, cwd=ROOT).returncode
        took = time.monotonic() - started
        results.append((version, "passed" if code == 0 else f"failed ({code})", took))
        failed = failed or code != 0
    print("test-pythons:")
    for version, outcome, took in results:
        print(f"  Python {version}: {outcome}" + (f" in {took:.0f} s" if took else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
