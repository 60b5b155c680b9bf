"""The benchmark suite still runs: every section once, with tiny counts.

``make bench`` itself is not part of ``make test`` (it takes minutes and wants a quiet
machine); this keeps its code from rotting. It runs in the test virtualenv, so getstream,
orjson and matplotlib are left out there when they are not installed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.payloads import body, to_unix_ns
from bench.report import targets

pytestmark = [pytest.mark.release_independent, pytest.mark.xdist_group("load")]

ROOT = Path(__file__).resolve().parents[2]


def test_every_section_runs_in_miniature(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path), "--no-chart"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    for section in (
        "parse",
        "percall",
        "imports",
        "memory",
        "check_many",
        "emulator_text",
        "profile",
        "fleet",
    ):
        assert section in results
    clients = results["percall"]["clients"]
    for client in ("sdk", "sdk_aiohttp", "httpx", "aiohttp"):
        assert clients[client]["heavy"]["1"]["cpu"] > 0
    assert results["parse"]["heavy"]["seconds"]["stream_moderation"]["best"] > 0
    assert results["imports"]["stream_moderation + first check (heavy)"]["sdk_models"] > 0
    assert results["memory"]["sdk"]["points"][-1]["calls"] == 100
    assert results["check_many"]["status"] == "measured"
    assert sum(results["check_many"]["failed"].values()) == 0
    assert results["emulator_text"]["seconds"]["a.a.a."]["128 KB"] > 0
    assert results["fleet"]["rows"][0]["checks"] == 20
    assert "### Targets" in proc.stdout
    assert (tmp_path / "latest.md").read_text() in proc.stdout


def test_the_chart_draws(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench.report import draw_chart

    latest = ROOT / "bench" / "results" / "latest.json"
    if not latest.exists():
        pytest.skip("no committed benchmark results")
    results = json.loads(latest.read_text())
    assert draw_chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000


def test_nanosecond_bodies_carry_the_same_instants() -> None:
    assert to_unix_ns("2024-05-14T09:37:52.123459Z") == 1_715_679_472_123_459_000
    assert to_unix_ns({"a": ["1970-01-01T00:00:01Z", "not a time"]}) == {
        "a": [1_000_000_000, "not a time"]
    }
    lean, lean_ns = json.loads(body("lean")), json.loads(body("lean_ns"))
    stamp = lean["item"]["created_at"]  # whichever fixtures bench/payloads.py found
    whole, fraction = re.fullmatch(r"(.{19})(?:\.(\d{1,9}))?Z", stamp).groups()  # type: ignore[union-attr]
    seconds = calendar.timegm(dt.datetime.fromisoformat(whole).timetuple())
    assert lean_ns["item"]["created_at"] == seconds * 10**9 + int((fraction or "").ljust(9, "0"))
    page = json.loads(body("queue_page"))
    assert len({item["id"] for item in page["items"]}) == 100


def _parse_results(ours: float, getstream: float) -> dict:
    seconds = {"json.loads": {"best": 1.0}, "stream_moderation": {"best": ours}}
    seconds["getstream"] = {"best": getstream}
    return {"parse": {"heavy": {"seconds": seconds}}}


def test_targets_read_the_ratios() -> None:
    rows = {t["target"]: t for t in targets(_parse_results(1.2, 90.0))}
    parse, versus = rows["heavy parse / json.loads"], rows["getstream heavy parse / ours"]
    assert parse["value"] == 1.2 and parse["at_most"] and parse["ok"] is (parse["bound"] >= 1.2)
    assert versus["value"] == 75 and not versus["at_most"]
    assert versus["ok"] is (versus["bound"] <= 75)
    assert rows["sdk / httpx CPU per call, heavy, concurrency 50"]["ok"] is None


def test_a_ratio_past_its_bound_fails_the_target() -> None:
    bound = {t["target"]: t for t in targets(_parse_results(1.0, 1.0))}
    slow = bound["heavy parse / json.loads"]["bound"] * 1.01
    rows = {t["target"]: t for t in targets(_parse_results(slow, slow * 2))}
    assert rows["heavy parse / json.loads"]["ok"] is False
    assert rows["getstream heavy parse / ours"]["ok"] is False
