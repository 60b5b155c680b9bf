"""The tables, the targets and the chart of a benchmark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.clients import CLIENTS

__all__ = ["targets", "write_report"]

MIB = 1024 * 1024
# per-call rows: client -> its floor (same transport)
FLOORS = {"sdk": "httpx", "sdk_aiohttp": "aiohttp", "sdk_aiohttp_orjson": "aiohttp"}


def _us(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:.1f}"


def _x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _cpu(results: dict[str, Any], client: str, body: str, conc: int) -> float | None:
    try:
        return float(results["percall"]["clients"][client][body][str(conc)]["cpu"])
    except KeyError:
        return None


def _parse_best(results: dict[str, Any], payload: str, name: str) -> float | None:
    try:
        return float(results["parse"][payload]["seconds"][name]["best"])
    except KeyError:
        return None


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each performance target: what was measured, the bound, and whether it holds."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, bound: float, at_most: bool) -> None:
        ok = None if value is None else (value <= bound if at_most else value >= bound)
        rows.append({"target": name, "value": value, "bound": bound, "at_most": at_most, "ok": ok})

    sdk = _parse_best(results, "heavy", "stream_moderation")
    add(
        "heavy parse / json.loads",
        _div(sdk, _parse_best(results, "heavy", "json.loads")),
        1.3,
        True,
    )
    add(
        "getstream heavy parse / ours",
        _div(_parse_best(results, "heavy", "getstream"), sdk),
        50,
        False,
    )
    conc = max(results.get("percall", {}).get("concurrency", [50]))
    for client, floor in (("sdk", "httpx"), ("sdk_aiohttp", "aiohttp")):
        for body in ("lean", "heavy"):
            for c in (1, conc):
                add(
                    f"{client} / {floor} CPU per call, {body}, concurrency {c}",
                    _div(_cpu(results, client, body, c), _cpu(results, floor, body, c)),
                    1.3,
                    True,
                )
    gs = _cpu(results, "getstream", "heavy", conc)
    add(
        f"getstream / sdk_aiohttp CPU per call, heavy, c{conc}",
        _div(gs, _cpu(results, "sdk_aiohttp", "heavy", conc)),
        40,
        False,
    )
    add(
        f"getstream / sdk CPU per call, heavy, c{conc}",
        _div(gs, _cpu(results, "sdk", "heavy", conc)),
        5,
        False,
    )
    imports = results.get("imports", {})

    def imp(name: str) -> float | None:
        return imports.get(name, {}).get("cached")

    for body in ("lean", "heavy"):
        ours = imp(f"stream_moderation + first check ({body})")
        add(
            f"import + first check ({body}) / httpx import + first request",
            _div(ours, imp("httpx + first request")),
            1.2,
            True,
        )
        add(
            f"import getstream / import + first check ({body})",
            _div(imp("getstream"), ours),
            5,
            False,
        )
    for client, m in results.get("memory", {}).items():
        add(f"{client}: RSS growth 10k->20k calls (MiB)", m["growth"] / MIB, 1.0, True)
    return rows


def tables(results: dict[str, Any]) -> str:
    out: list[str] = []
    m = results["machine"]
    out.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
        f"commit {m['commit']}, {m['date']}; load average {m.get('load_before', 0):.1f} "
        f"before, {m.get('load_after', 0):.1f} after."
    )
    out.append("Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".")
    if "parse" in results:
        rows = []
        for payload, r in results["parse"].items():
            s = {k: v["best"] for k, v in r["seconds"].items()}
            ours = s["stream_moderation"]
            rows.append(
                [
                    payload,
                    f"{r['bytes']:,}",
                    _us(s["json.loads"]),
                    _us(ours),
                    _x(ours / s["json.loads"]),
                    _x(_div(s.get("stream_moderation, all read"), s["json.loads"])),
                    _us(s.get("stream_moderation+orjson")),
                    _us(s.get("getstream")),
                    _x(_div(s.get("getstream"), ours)),
                ]
            )
        out.append("### Parse: bytes -> model (µs, best of 7, collector paused as in timeit)\n")
        out.append(
            _table(
                [
                    "payload",
                    "bytes",
                    "json.loads",
                    "stream_moderation",
                    "ours / json.loads",
                    "every model read / json.loads",
                    "ours + orjson",
                    "getstream 7.0.0",
                    "getstream / ours",
                ],
                rows,
            )
        )
        notes = [f"{p}: {r['note']}" for p, r in results["parse"].items() if r.get("note")]
        if notes:
            out.append("\n" + "; ".join(notes) + " (it is given the same body with nanoseconds).")
    if "percall" in results:
        pc = results["percall"]
        conc = pc["concurrency"]
        rows = []
        for client in CLIENTS:
            if client not in pc["clients"]:
                continue
            row = [f"`{client}`"]
            for body in ("lean", "heavy"):
                for c in conc:
                    cpu = _cpu(results, client, body, c)
                    floor = FLOORS.get(client)
                    ratio = _div(cpu, _cpu(results, floor, body, c)) if floor else None
                    row.append(_us(cpu) + (f" ({_x(ratio)})" if ratio is not None else ""))
            rows.append(row)
        out.append(
            "\n### Client CPU per `check` (µs, best of 3 runs; in brackets: / the floor of the"
            " same transport)\n"
        )
        out.append(
            _table(["client"] + [f"{b}, c={c}" for b in ("lean", "heavy") for c in conc], rows)
        )
        out.append(
            "\n" + "; ".join(f"`{k}`: {v}" for k, v in CLIENTS.items() if k in pc["clients"]) + "."
        )
    if "imports" in results:
        imp = results["imports"]
        httpx_cached = imp["httpx"]["cached"]
        rows = [
            [
                name,
                f"{v['cached'] * 1e3:.0f}",
                "-" if v["cold"] is None else f"{v['cold'] * 1e3:.0f}",
                _x(v["cached"] / httpx_cached),
                str(v["modules"]),
                str(v["sdk_models"]),
            ]
            for name, v in imp.items()
            if not name.startswith("_")
        ]
        out.append("\n### Import (ms, fresh process, best of 9 cached, of 3 cold)\n")
        out.append(
            _table(
                ["what", "bytecode cached", "cold", "cached / httpx", "modules", "sdk models"], rows
            )
        )
        top = ", ".join(f"{n} {t * 1e3:.0f} ms" for n, t in imp["_top_sdk_first_check"][:6])
        out.append(f"\nLargest (-X importtime, cumulative, heavy first check): {top}.")
    if "memory" in results:
        rows = []
        for client, r in results["memory"].items():
            pts = {p["calls"]: p for p in r["points"]}
            half, full = sorted(pts)[-2:]
            rows.append(
                [
                    f"`{client}`",
                    f"{r['calls']:,}",
                    f"{r['peak_rss'] / MIB:.1f}",
                    f"{pts[half]['rss'] / MIB:.1f}",
                    f"{pts[full]['rss'] / MIB:.1f}",
                    f"{r['growth'] / 1024:+.0f}",
                    f"{r['object_growth']:+d}",
                ]
            )
        out.append("\n### Memory (heavy body, 50 in flight)\n")
        out.append(
            _table(
                [
                    "client",
                    "calls",
                    "peak RSS MiB",
                    "RSS at half MiB",
                    "RSS at end MiB",
                    "growth KiB",
                    "gc objects growth",
                ],
                rows,
            )
        )
    if "check_many" in results:
        cm = results["check_many"]
        out.append("\n### check_many throughput (calls/s against the served emulator)\n")
        if cm.get("status") == "measured":
            per = cm["calls_per_s"]
            failed = sum(cm.get("failed", {}).values())
            out.append(
                f"{cm['items']:,} checks per concurrency through `check_many`, served emulator"
                f" in another process; {failed} failed."
            )
            out.append(
                _table(["concurrency", *per], [["calls/s", *(f"{v:,.0f}" for v in per.values())]])
            )
        else:
            out.append(cm["status"])
    if "fleet" in results:
        fl = results["fleet"]
        out.append(
            "\n### A fleet: 4 arq workers against one rate limit (examples/arq_workers.py)\n"
        )
        out.append(
            f"{fl['n']:,} messages, `check` limited to {fl['limit']} per {fl['window']} s window "
            "by the served emulator; checks/s from the first answer to the last."
        )
        rows = [
            [
                "Redis coordinator" if r["coordinator"] == "redis" else "none",
                f"{r['checks_per_s']:,.1f}",
                f"{r['limit_per_s']:,.1f}",
                f"{r['checks_per_s'] / r['limit_per_s']:.0%}",
                str(r["rate_limited"]),
                str(r["most_429_in_a_window"]),
                str(r["checked_twice"]),
            ]
            for r in fl["rows"]
        ]
        header = ["coordinator", "checks/s", "limit/s", "of the limit", "429s", "most 429s in a "
                  "window", "checked twice"]  # fmt: skip
        out.append(_table(header, rows))
    if "emulator_text" in results:
        et = results["emulator_text"]
        sizes = list(next(iter(et["seconds"].values())))
        out.append("\n### Emulator: check time by text size (ms; x: / the 1 KB check)\n")
        out.append(
            f"Best of {et['runs']} over HTTP, served emulator in another process, a config with"
            " every classifier label and the profanity block list."
        )
        rows = [
            [
                f"`{name}`",
                *(
                    f"{by_size[s] * 1000:,.1f} ({by_size[s] / by_size[sizes[0]]:,.0f}x)"
                    for s in sizes
                ),
            ]
            for name, by_size in et["seconds"].items()
        ]
        out.append(_table(["text", *sizes], rows))
        health = et["health"]
        out.append(
            f"`/_emulator/health` while {health['text']} checks run "
            f"({health['check_seconds'] * 1000:,.0f} ms each): "
            f"median {health['health_median_seconds'] * 1000:.1f} ms, "
            f"max {health['health_max_seconds'] * 1000:.1f} ms."
        )
    if "profile" in results:
        out.append("\n### Where a check's client CPU goes (cProfile own time, heavy, c=50)\n")
        layers = sorted({k for p in results["profile"].values() for k in p["layers"]})
        clients = list(results["profile"])
        rows = [
            [
                layer,
                *(f"{results['profile'][c]['layers'].get(layer, 0) * 100:.0f}%" for c in clients),
            ]
            for layer in sorted(
                layers,
                key=lambda k: -max(results["profile"][c]["layers"].get(k, 0) for c in clients),
            )
        ]
        out.append(_table(["layer", *(f"`{c}`" for c in clients)], rows))
    rows = [
        [
            t["target"],
            "-" if t["value"] is None else f"{t['value']:.2f}",
            ("≤ " if t["at_most"] else "≥ ") + f"{t['bound']:g}",
            {True: "yes", False: "**no**", None: "-"}[t["ok"]],
        ]
        for t in targets(results)
    ]
    out.append("\n### Targets\n")
    out.append(_table(["target", "measured", "bound", "met"], rows))
    # one blank line between blocks (Markdown wants them around tables)
    return "\n\n".join(block.strip("\n") for block in out) + "\n"


def draw_chart(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    if "parse" in results:
        ax = axes[0]
        names = ["json.loads", "stream_moderation", "stream_moderation+orjson", "getstream"]
        payloads = list(results["parse"])
        width = 0.2
        for i, name in enumerate(names):
            vals = [
                results["parse"][p]["seconds"].get(name, {}).get("best", 0) * 1e6 for p in payloads
            ]
            ax.bar([j + i * width for j in range(len(payloads))], vals, width, label=name)
        ax.set_xticks([j + 1.5 * width for j in range(len(payloads))], payloads)
        ax.set_yscale("log")
        ax.set_ylabel("µs per parse (log)")
        ax.set_title("Parse: bytes -> model")
        bottom, top = ax.get_ylim()
        ax.set_ylim(bottom, top * 8)
        ax.legend(fontsize=7, ncol=2, loc="upper left")
    if "percall" in results:
        ax = axes[1]
        pc = results["percall"]
        conc = pc["concurrency"]
        clients = [c for c in CLIENTS if c in pc["clients"]]
        width = 0.8 / max(1, len(clients))
        groups = [(b, c) for b in ("lean", "heavy") for c in conc]
        for i, client in enumerate(clients):
            vals = [(_cpu(results, client, b, c) or 0) * 1e6 for b, c in groups]
            ax.bar([j + i * width for j in range(len(groups))], vals, width, label=client)
        ax.set_xticks(
            [j + 0.4 - width / 2 for j in range(len(groups))], [f"{b} c={c}" for b, c in groups]
        )
        ax.set_yscale("log")
        ax.set_ylabel("client CPU µs per check (log)")
        ax.set_title("Per call, over loopback")
        bottom, top = ax.get_ylim()
        ax.set_ylim(bottom, top * 8)
        ax.legend(fontsize=7, ncol=3, loc="upper left")
    if "imports" in results:
        ax = axes[2]
        imp = {k: v for k, v in results["imports"].items() if not k.startswith("_")}
        names = list(imp)
        labels = [n.replace("stream_moderation", "sdk") for n in names]
        ax.barh(labels, [(imp[n]["cold"] or 0) * 1e3 for n in names], color="#f4b183", label="cold")
        ax.barh(labels, [imp[n]["cached"] * 1e3 for n in names], color="#2e75b6", label="cached")
        ax.set_xscale("log")
        ax.set_xlabel("ms (log)")
        ax.set_title("Import + first check (sdk: stream_moderation)")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(
        f"stream-moderation {m['commit']} — {m['cpu']}, {m['cores']} cores, Python {m['python']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write_report(results: dict[str, Any], out: Path, *, chart: bool = True) -> str:
    """Write latest.json, latest.md and latest.png under ``out``; the tables as text."""
    out.mkdir(parents=True, exist_ok=True)
    results["targets"] = targets(results)
    text = tables(results)
    (out / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "latest.md").write_text(text)
    if chart and draw_chart(results, out / "latest.png"):
        text += f"\nChart: {out / 'latest.png'}\n"
    return text
