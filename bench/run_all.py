"""Run every benchmark of the project and print one table: figure, value, aim, verdict.

Each bench/*.py runs in its own process (as a user would run it) with ``--json-out``;
this script reads those figures, compares them with the aims from the issues, and
prints a markdown table preceded by the machine it ran on.

    python bench/run_all.py --quick                  # small sizes, a few minutes
    python bench/run_all.py                          # full sizes (up to ~30 min)
    python bench/run_all.py --markdown bench/RESULTS.md   # also write the table
    python bench/run_all.py --only latency,recorder  # a subset
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ("import", "daemon", "web", "analysis", "latency", "recorder")


@dataclass
class Row:
    figure: str
    value: str
    aim: str = "—"
    ok: bool | None = None  # None: no aim to meet

    @property
    def verdict(self) -> str:
        return "—" if self.ok is None else ("pass" if self.ok else "FAIL")


# -- the machine ---------------------------------------------------------------------------


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line
    except OSError:
        pass
    return None


def machine() -> dict[str, str]:
    cpu = _first("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    mem_kb = _first("/proc/meminfo", "MemTotal")
    ram = f"{int(mem_kb.split()[0]) / 2**20:.1f} GiB" if mem_kb else "?"
    os_name = (_first("/etc/os-release", "PRETTY_NAME=") or "").split("=", 1)[-1].strip('"')
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{os_name or platform.system()} (kernel {platform.release()})",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "load average at start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# -- running one bench -------------------------------------------------------------------


def run_bench(name: str, quick: bool, out_dir: Path, timeout: float) -> tuple[dict | None, str]:
    """Run bench/bench_<name>.py; return (figures, a one-line note on failure)."""
    out = out_dir / f"{name}.json"
    cmd = [sys.executable, str(ROOT / "bench" / f"bench_{name}.py"), "--json-out", str(out)]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    try:
        result = subprocess.run(
            cmd, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    sys.stdout.write(result.stdout)
    print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    if result.returncode != 0 or not out.exists():
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["?"]
        return None, f"exit {result.returncode}: {last[0][:120]}"
    return json.loads(out.read_text()), ""


# -- figures -> rows -----------------------------------------------------------------------


def _years(y: float) -> str:
    return f"{y:g} year" + ("" if y == 1 else "s")


def rows_import(f: dict) -> list[Row]:
    n = f"{f['rows']:,} rows"
    return [
        Row(f"import throughput ({n})", f"{f['bedside_rows_per_s']:,.0f} rows/s"),
        Row("sqlite3 shell .import, same CSV", f"{f['shell_rows_per_s']:,.0f} rows/s"),
        Row("import time / sqlite3 shell", f"{f['ratio']:.2f}x", "≤ 4x", f["ratio"] <= 4),
    ]


def rows_daemon(f: dict) -> list[Row]:
    n = f"after {f['readings']:,} readings" + (", MQTT on" if f["mqtt"] else "")
    return [
        Row(f"daemon RSS ({n})", f"{f['rss_mb']:.1f} MB", "≤ 30 MB", f["rss_mb"] <= 30),
        Row("daemon CPU per reading", f"{f['cpu_ms_per_reading']:.2f} ms"),
        Row(
            "daemon bytes written per day (SQLite writes, 30-s interval)",
            f"{f['sqlite_mb_per_day']:.2f} MB",
            "≤ 5 MB",
            f["sqlite_mb_per_day"] <= 5,
        ),
        Row(
            "daemon page-cache write_bytes per day (whole 4 KiB pages)",
            f"{f['page_cache_mb_per_day']:.2f} MB",
        ),
    ]


def rows_web(f: dict) -> list[Row]:
    small, big = f["years"]
    pages = f["pages"]
    rows = []
    for page in pages[str(big)]:
        for y in (small, big):
            r = pages[str(y)][page]
            aim, ok = ("p95 ≤ 50 ms", r["p95"] <= 50) if y == big else ("—", None)
            rows.append(
                Row(
                    f"dashboard {page} p50 / p95, {_years(y)}",
                    f"{r['p50']:.1f} / {r['p95']:.1f} ms",
                    aim,
                    ok,
                )
            )
        ratio = pages[str(big)][page]["p95"] / pages[str(small)][page]["p95"]
        rows.append(
            Row(
                f"dashboard {page} p95 {big:g}y / {small:g}y",
                f"{ratio:.2f}x",
                "≤ 1.3x",
                ratio <= 1.3,
            )
        )
    rss = f["max_rss_mb"]
    rows.append(Row("web process RSS (max after any page)", f"{rss:.1f} MB", "≤ 60 MB", rss <= 60))
    return rows


def rows_analysis(f: dict) -> list[Row]:
    floor = f["import_floor_s"]
    rows = [Row("analysis import floor (python + scipy + statsmodels)", f"{floor:.2f} s")]
    for s in f["sizes"]:
        five_years = s["days"] >= 1826  # the aim is for five years
        for kind in ("first", "warm"):
            secs = s[f"{kind}_s"]
            rows.append(
                Row(
                    f"`bedside analyze --json`, {s['label']} ({s['nights']} nights,"
                    f" {s['cramps']} cramps), {kind} run",
                    f"{secs:.2f} s",
                    "≤ 5 s" if five_years else "—",
                    secs <= 5 if five_years else None,
                )
            )
        rss = max(s.get("first_peak_rss_mb", 0), s.get("warm_peak_rss_mb", 0))
        if rss:
            rows.append(
                Row(
                    f"`bedside analyze --json`, {s['label']}, peak RSS (any run)",
                    f"{rss:.0f} MB",
                    "< 200 MB" if five_years else "—",
                    rss < 200 if five_years else None,
                )
            )
    return rows


def rows_latency(f: dict) -> list[Row]:
    return [
        Row(
            f"MQTT latency store commit → subscriber p50 / p95 ({f['readings']} readings)",
            f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f} ms",
            "p95 ≤ 1 s (set here)",
            f["p95_ms"] <= 1000,
        )
    ]


def rows_recorder(f: dict) -> list[Row]:
    n = f"{f['readings_per_phase']:,} readings"
    return [
        Row(
            f"recorder ingest, live ({n})",
            f"{f['live_per_s']:,.0f} readings/s",
            "≥ 5,000/s",
            f["live_per_s"] >= 5000,
        ),
        Row(
            f"recorder ingest, backlog after outage ({n})",
            f"{f['backlog_per_s']:,.0f} readings/s",
            "≥ 5,000/s",
            f["backlog_per_s"] >= 5000,
        ),
    ]


TO_ROWS = {
    "import": rows_import,
    "daemon": rows_daemon,
    "web": rows_web,
    "analysis": rows_analysis,
    "latency": rows_latency,
    "recorder": rows_recorder,
}


def markdown(rows: list[Row], info: dict[str, str], mode: str, when: str) -> str:
    lines = [f"Benchmarks ({mode} run, {when})", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "| figure | value | aim | verdict |", "|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.value} | {r.aim} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every bench in its --quick mode")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHES)}")
    ap.add_argument("--markdown", metavar="PATH", help="also write the table (markdown) here")
    ap.add_argument("--json-out", metavar="PATH", help="also write every bench's figures")
    ap.add_argument("--timeout", type=float, help="seconds per bench (default 600 quick, 1800)")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = set(names) - set(BENCHES)
    if unknown:
        ap.error(f"unknown bench: {', '.join(sorted(unknown))}")
    timeout = args.timeout or (600 if args.quick else 1800)
    info = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[Row] = []
    figures: dict[str, dict | None] = {}
    failed = 0
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        for name in names:
            f, why = run_bench(name, args.quick, Path(tmp), timeout)
            figures[name] = f
            if f is None:
                failed += 1
                rows.append(Row(f"{name} benchmark", f"did not run ({why})", ok=False))
            else:
                rows += TO_ROWS[name](f)
    table = markdown(rows, info, "quick" if args.quick else "full", when)
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"machine": info, "figures": figures}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
