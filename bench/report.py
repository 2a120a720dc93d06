"""The benchmark's outputs: a readable table, a JSON file with a machine
fingerprint, a PNG plot of the gateway/direct throughput ratio vs concurrency,
and the issue's targets checked against the figures."""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("Django", "uvicorn", "uvloop", "httptools", "asgiref", "aiohttp")


def fingerprint() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "commit": commit,
    }


def _row(data: dict[str, Any], profile: str, mode: str, conc: int, surface: str = "chat") -> dict[str, Any] | None:
    for row in data["results"]:
        if (row["profile"] == profile and row["mode"] == mode and row["concurrency"] == conc
                and row.get("surface", "chat") == surface):
            return row
    return None


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets (for the 2-core machine), each with the measured figure."""
    out: list[dict[str, Any]] = []

    def check(name: str, measured: float | None, limit: float, at_most: bool) -> None:
        if measured is None or (isinstance(measured, float) and math.isnan(measured)):
            out.append({"target": name, "limit": limit, "measured": None, "met": None})
            return
        met = measured <= limit if at_most else measured >= limit
        out.append({"target": name, "limit": limit, "measured": round(measured, 4), "met": met})

    row = _row(data, "zero", "stream", 1)
    check("zero-delay stream, c=1: added latency p50 <= 1 ms", row["added_total_ms"]["p50"] if row else None, 1.0, True)
    check("zero-delay stream, c=1: added latency p99 <= 3 ms", row["added_total_ms"]["p99"] if row else None, 3.0, True)
    for conc, floor in ((64, 0.98), (256, 0.95)):
        row = _row(data, "paced", "stream", conc)
        check(f"paced stream, c={conc}: throughput >= {floor} of direct", row["ratio"] if row else None, floor, False)
        check(f"paced stream, c={conc}: added TTFT p50 <= 5 ms",
              row["added_ttft_ms"]["p50"] if row else None, 5.0, True)
        check(f"paced stream, c={conc}: added total p99 <= 15 ms",
              row["added_total_ms"]["p99"] if row else None, 15.0, True)
    for conc in (64, 256):
        row = _row(data, "paced", "stream", conc)
        check(f"gateway CPU per streamed 20-chunk request <= 1.2 ms (paced, c={conc})",
              row["gateway_cpu_ms_per_request"] if row else None, 1.2, True)
    # The same targets for a streamed request on the other client wires (issue 17),
    # translated to the chat backend and back.
    surfaces = sorted({r.get("surface", "chat") for r in data["results"]} - {"chat"})
    for surface in surfaces:
        row = _row(data, "zero", "stream", 1, surface)
        check(f"/v1/{surface} zero-delay stream, c=1: added latency p50 <= 1 ms",
              row["added_total_ms"]["p50"] if row else None, 1.0, True)
        check(f"/v1/{surface} zero-delay stream, c=1: added latency p99 <= 3 ms",
              row["added_total_ms"]["p99"] if row else None, 3.0, True)
        for conc, floor in ((64, 0.98), (256, 0.95)):
            row = _row(data, "paced", "stream", conc, surface)
            check(f"/v1/{surface} paced stream, c={conc}: throughput >= {floor} of direct",
                  row["ratio"] if row else None, floor, False)
            check(f"/v1/{surface} paced stream, c={conc}: added TTFT p50 <= 5 ms",
                  row["added_ttft_ms"]["p50"] if row else None, 5.0, True)
            check(f"/v1/{surface} paced stream, c={conc}: added total p99 <= 15 ms",
                  row["added_total_ms"]["p99"] if row else None, 15.0, True)
            check(f"/v1/{surface} gateway CPU per streamed 20-chunk request <= 1.2 ms (paced, c={conc})",
                  row["gateway_cpu_ms_per_request"] if row else None, 1.2, True)
    memory = data.get("memory") or {}
    check("memory per held stream <= 40 KiB", memory.get("kib_per_stream"), 40.0, True)
    held = memory.get("max_streams_held")
    wanted = max(data["config"]["memory_levels"]) if data.get("config") else 1000
    out.append({
        "target": f"{wanted} concurrent streams held by one worker",
        "limit": wanted,
        "measured": held,
        "met": held is not None and held >= wanted,
    })
    return out


def _f(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def table(data: dict[str, Any]) -> str:
    head = (
        f"{'surface':9} {'profile':7} {'mode':9} {'conc':>4} | {'direct/s':>9} {'gateway/s':>9} {'ratio':>6} | "
        f"{'+TTFT p50':>9} {'p99':>7} | {'+total p50':>10} {'p99':>7} | {'CPU ms/req':>10} | errors"
    )
    lines = [head, "-" * len(head)]
    for r in data["results"]:
        lines.append(
            f"{r.get('surface', 'chat'):9} {r['profile']:7} {r['mode']:9} {r['concurrency']:>4} | "
            f"{_f(r['direct_rps'], '9.0f')} "
            f"{_f(r['gateway_rps'], '9.0f')} {_f(r['ratio'], '6.3f')} | {_f(r['added_ttft_ms']['p50'], '9.2f')} "
            f"{_f(r['added_ttft_ms']['p99'], '7.2f')} | {_f(r['added_total_ms']['p50'], '10.2f')} "
            f"{_f(r['added_total_ms']['p99'], '7.2f')} | {_f(r['gateway_cpu_ms_per_request'], '10.3f')} | "
            f"{r['errors']['direct']}/{r['errors']['gateway']}"
        )
    lines.append("(added times in ms: gateway minus direct, medians of rounds; errors: direct/gateway; "
                 "messages/responses: the gateway's /v1/messages or /v1/responses against the chat backend direct)")
    mem = data.get("memory") or {}
    if mem:
        levels = ", ".join(f"{p['streams']}: {p['rss_kib'] / 1024:.1f} MiB" for p in mem.get("levels", []))
        lines.append("")
        lines.append(f"memory per held stream: {_f(mem.get('kib_per_stream'), '.1f')} KiB (gateway RSS at {levels}; "
                     f"failed streams: {mem.get('failed_streams')})")
    disc = data.get("disconnect") or {}
    if disc:
        parts = [f"{k} p50 {_f(v['p50_ms'], '.2f')} ms, max {_f(v['max_ms'], '.2f')} ms" for k, v in disc.items()]
        lines.append("client disconnect reaches the upstream: " + "; ".join(parts))
    if data.get("targets"):
        lines.append("")
        lines.append("targets:")
        for t in data["targets"]:
            mark = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
            lines.append(f"  [{mark:>12}] {t['target']}: {_f(t['measured'], '') if t['measured'] is not None else '-'}")
    rl = data.get("request_log")
    if rl:
        lines.append(f"request log: {'on' if rl['on'] else 'off'}, {rl['rows_written']} rows written")
    m = data.get("machine") or {}
    if m:
        lines.append("")
        lines.append(
            f"machine: {m.get('cpu_model')}, {m.get('cpu_count')} cores, Python {m.get('python')}, "
            f"pinned={m.get('pinned')},"
            f" load {m.get('loadavg_before', [0])[0]:.2f} -> {m.get('loadavg_after', [0])[0]:.2f}"
        )
    return "\n".join(lines)


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    series: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for r in data["results"]:
        key = (r.get("surface", "chat"), r["profile"], r["mode"])
        series.setdefault(key, []).append((r["concurrency"], r["ratio"]))
    for (surface, profile, mode), points in series.items():
        points.sort()
        label = f"{profile}, {mode}" if surface == "chat" else f"/v1/{surface}: {profile}, {mode}"
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log", base=2)
    concs = sorted({r["concurrency"] for r in data["results"]})
    ax.set_xticks(concs)
    ax.set_xticklabels([str(c) for c in concs])
    top = max([1.1] + [r["ratio"] + 0.05 for r in data["results"] if r["ratio"] == r["ratio"]])
    ax.set_ylim(0, top)
    ax.set_xlabel("concurrency")
    ax.set_ylabel("gateway throughput / direct")
    ax.set_title("LLM gateway vs direct upstream (higher is better, 1.0 = no cost)")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _clean(value: Any) -> Any:
    """NaN is not JSON: unmeasured figures become null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write(data: dict[str, Any], out: Path, *, with_plot: bool = True) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = _clean(data)
    stamp = data["started_at"].replace(":", "").replace("-", "")
    paths = {"json": out / f"bench-{stamp}.json", "table": out / f"bench-{stamp}.txt"}
    paths["json"].write_text(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")
    paths["table"].write_text(table(data) + "\n")
    (out / "latest.json").write_text(paths["json"].read_text())
    if with_plot:
        paths["plot"] = out / f"bench-{stamp}.png"
        plot(data, paths["plot"])
        (out / "latest.png").write_bytes(paths["plot"].read_bytes())
    return paths
