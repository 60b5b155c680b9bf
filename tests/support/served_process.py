"""The emulator served by uvicorn in a process of its own, for the tests that time it, watch
its memory or must not hang with it: ``with emulator_process() as served: served.url``."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.emulator_support import KEY, SECRET

_CHILD = """
import sys
from stream_moderation.testing import Emulator

with Emulator(sys.argv[1], sys.argv[2]).serve() as url:
    print(url, flush=True)
    sys.stdin.read()  # serve until the parent closes stdin
"""


@dataclass(frozen=True)
class ServedEmulator:
    url: str
    pid: int

    def _status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise LookupError(field)

    def rss_mib(self) -> float:
        """The process's resident memory now."""
        return self._status_kib("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        """The most resident memory the process has had (VmHWM)."""
        return self._status_kib("VmHWM") / 1024


@contextlib.contextmanager
def emulator_process() -> Iterator[ServedEmulator]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, KEY, SECRET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the emulator process did not start: {url!r}")
        yield ServedEmulator(url, proc.pid)
    finally:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in a check: the point of some tests
            proc.kill()
            proc.wait(timeout=10)
