"""Import: what a fresh process pays to import a client and to make its first ``check``.

``first_check_modules(client, url)`` runs a real first check (in a probe process, against a
local server) and lists the modules it imported beyond the interpreter's startup: the
package, the endpoint, the models the response brought in, the transport's protocol
modules. ``time_imports(modules)`` then times importing exactly those, in order, in a fresh
process. Cold: no bytecode anywhere (a fresh, empty ``PYTHONPYCACHEPREFIX``, nothing
written), so every module, the standard library's included, is compiled from source.
Cached: bytecode in a warm ``PYTHONPYCACHEPREFIX``, as after a first run.

Run as ``python -m bench.imports probe CLIENT URL`` (prints the module list as JSON) or
``python -m bench.imports time MODULE...`` (prints the seconds the imports took).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["first_check_modules", "importtime_top", "time_imports"]

_TIME = """
import sys, time
start = time.perf_counter()
for name in sys.argv[1:]:
    try:
        __import__(name)
    except Exception:  # a module only its parent can create; the parent imported it
        pass
print(time.perf_counter() - start)
"""


def _env(cache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if cache is None:  # cold: compile everything, write nothing
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-cold-")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def time_imports(modules: list[str], *, cache: Path | None) -> float:
    """Seconds a fresh interpreter spends importing ``modules`` (cold when cache is None)."""
    env = _env(cache)
    try:
        out = subprocess.run(
            [sys.executable, "-c", _TIME, *modules],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        if cache is None:
            subprocess.run(["rm", "-rf", env["PYTHONPYCACHEPREFIX"]], check=False)
    return float(out.strip().splitlines()[-1])


def importtime_top(modules: list[str], *, cache: Path, top: int = 8) -> list[tuple[str, float]]:
    """The modules with the largest cumulative import time (``-X importtime``), in seconds."""
    stmt = "; ".join(f"import {m}" for m in modules)
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        env=_env(cache),
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    rows: list[tuple[str, float]] = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((name.rstrip(), int(cumulative) / 1e6))
    # the imports the statement made itself (the least indented lines), not their children
    shallowest = min((len(n) - len(n.lstrip()) for n, _ in rows), default=0)
    top_level = [(n.strip(), t) for n, t in rows if len(n) - len(n.lstrip()) == shallowest]
    return sorted(top_level, key=lambda r: -r[1])[:top]


async def _probe(client: str, url: str) -> list[str]:
    before = set(sys.modules)
    from bench.clients import open_client

    async with open_client(client, url) as call:
        await call()
    bench = {m for m in sys.modules if m == "bench" or m.startswith("bench.")}
    return [m for m in sys.modules if m not in before and m not in bench]


def first_check_modules(client: str, url: str) -> list[str]:
    """The modules a first ``check`` of ``client`` imports, in import order."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.imports", "probe", client, url],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    modules: list[str] = json.loads(out)
    return modules


def main() -> None:
    if sys.argv[1] == "probe":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # the default install
        print(json.dumps(asyncio.run(_probe(sys.argv[2], sys.argv[3]))))
    elif sys.argv[1] == "time":
        print(time_imports(sys.argv[2:], cache=Path(tempfile.gettempdir()) / "bench-pyc"))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
