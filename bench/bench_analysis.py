"""Benchmark: `bedside analyze --json`, whole process, on years of 30-second readings.

Generates (once, cached under bench/out/) databases of simulated 30-s readings
(monitor.sensing.simroom) with about 60 cramps a year, then times the real CLI in a
subprocess: the first run (no stored night summaries yet: a fresh copy of the
database) and the warm run (summaries stored), and the peak resident memory of each
(the child's ru_maxrss, from os.wait4).  Also times the bare imports (python + scipy +
statsmodels), which is the floor.

    python bench/bench_analysis.py            # 1 and 5 years (first generation: minutes)
    python bench/bench_analysis.py --quick    # 1 and 5 months, well under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.sensing import simroom  # noqa: E402
from monitor.store import Reading, Store  # noqa: E402

OUT = ROOT / "bench" / "out"
TZ = "Europe/Berlin"
NODE = "bench"
END = datetime(2026, 11, 1, 12, tzinfo=UTC)  # in the past: every night is finished
STEP_MS = 30_000
CRAMPS_PER_YEAR = 60
SEED = 7
CPU_S: list[float] = []  # CPU seconds of each measured run, in order


def generate(path: Path, days: int) -> None:
    """A database of `days` of 30-s simulated readings and cramps (colder nights, more)."""
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    zone = ZoneInfo(TZ)
    end = int(END.timestamp() * 1000)
    start = end - days * 86_400_000
    rng = random.Random(SEED)
    t0 = time.perf_counter()
    with Store.open(tmp) as store:
        batch: list[Reading] = []
        for ts in range(start, end, STEP_MS):
            temp, hum = simroom.room(ts, zone, SEED)
            batch.append(Reading(ts, temp, hum))
            if len(batch) >= 200_000:
                store.add_readings(NODE, batch)
                batch = []
        store.add_readings(NODE, batch)
        # Cramps: nights chosen with a weight that grows as the night gets colder.
        n_cramps = round(CRAMPS_PER_YEAR * days / 365)
        cramps: set[int] = set()
        day0 = start // 86_400_000 + 1
        while len(cramps) < n_cramps:
            day = day0 + rng.randrange(days - 2)
            local = datetime.fromtimestamp(day * 86_400, zone).date()
            offset = simroom.night_offset_c(local, SEED)
            if rng.random() < 0.5 - offset / 8:  # colder (negative offset): more likely
                at = datetime(local.year, local.month, local.day, 23, tzinfo=zone)
                ts = int(at.timestamp() * 1000) + rng.randrange(6 * 3_600_000)
                cramps.add(ts)
        store.add_cramps(
            NODE,
            [{"ts_ms": ts, "severity": rng.randint(1, 5)} for ts in sorted(cramps)],
            source="import",
            now_ms=end,
        )
    tmp.rename(path)
    print(f"  generated {path.name}: {days} days in {time.perf_counter() - t0:.1f} s", flush=True)


def config_for(db: Path) -> Path:
    cfg = db.with_suffix(".toml")
    cfg.write_text(
        f'[node]\nid = "{NODE}"\ntimezone = "{TZ}"\n\n[storage]\ndatabase = "{db}"\n\n'
        '[mqtt]\nenabled = false\n\n[logging]\nlevel = "warning"\n'
    )
    return cfg


def measured(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, the child's peak RSS in MB, stdout) of one run of a command; its CPU
    seconds (user + system) go to CPU_S, the figure a loaded machine disturbs least."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=ROOT)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        CPU_S.append(usage.ru_utime + usage.ru_stime)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err.read().decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024, out.decode()  # ru_maxrss is in KB on Linux


def wall(cmd: list[str]) -> tuple[float, str]:
    elapsed, _, out = measured(cmd)
    return elapsed, out


def analyze(db: Path) -> tuple[float, float, dict]:
    elapsed, rss, out = measured(
        [sys.executable, "-m", "monitor", "--config", str(config_for(db)), "analyze", "--json"]
    )
    return elapsed, rss, json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 and 5 months instead of years")
    ap.add_argument("--repeat", type=int, default=3, help="warm runs to take the median of")
    ap.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = (
        [("1 month", 30), ("5 months", 152)] if args.quick else [("1 year", 365), ("5 years", 1826)]
    )

    wall([sys.executable, "-c", "import monitor.analysis.stats"])  # warm the disk cache
    floor = statistics.median(
        wall([sys.executable, "-c", "import monitor.analysis.stats"])[0] for _ in range(args.repeat)
    )
    floor_cpu = statistics.median(CPU_S[-args.repeat :])
    print(f"import floor (python + scipy + statsmodels): {floor:.2f} s (CPU {floor_cpu:.2f} s)")
    rows = []
    for label, days in sizes:
        base = OUT / f"analysis-{days}d.db"
        if not base.exists():
            generate(base, days)
        work = OUT / f"analysis-{days}d-work.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copy(base, work)  # no stored summaries yet
        first, first_rss, report = analyze(work)
        first_cpu = CPU_S[-1]
        warm_runs = [analyze(work) for _ in range(args.repeat)]
        warm = statistics.median(r[0] for r in warm_runs)
        warm_rss = max(r[1] for r in warm_runs)
        warm_cpu = statistics.median(CPU_S[-args.repeat :])
        for suffix in ("", "-wal", "-shm"):  # keep only the generated base (disk space)
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        nights = report["nights_total"]
        cramps = report["cramps_total"]
        rows.append(
            (label, days, nights, cramps, first, warm, first_rss, warm_rss, first_cpu, warm_cpu)
        )
        print(
            f"{label:>9}: {nights} nights, {report['cramps_total']} cramps,"
            f" case-crossover {report['case_crossover'] and report['case_crossover']['cramps']}:"
            f" first run {first:.2f} s (CPU {first_cpu:.2f} s, peak RSS {first_rss:.0f} MB),"
            f" warm run {warm:.2f} s (CPU {warm_cpu:.2f} s, peak RSS {warm_rss:.0f} MB)"
            f"  (verdict {report['verdict']})",
            flush=True,
        )
    (l1, _, n1, _, f1, w1, *_), (l5, _, n5, _, f5, w5, *_) = rows

    def growth(small: float, large: float) -> str:
        if small - floor < 0.05:
            return "within noise of the import floor"
        return f"x{(large - floor) / (small - floor):.1f}"

    print(
        f"growth {l1} -> {l5}: nights x{n5 / n1:.1f}; time above the import floor:"
        f" first run {growth(f1, f5)}, warm run {growth(w1, w5)}"
    )
    if args.json_out:
        figures = {
            "import_floor_s": floor,
            "sizes": [
                {
                    "label": r[0],
                    "days": r[1],
                    "nights": r[2],
                    "cramps": r[3],
                    "first_s": r[4],
                    "warm_s": r[5],
                    "first_peak_rss_mb": r[6],
                    "warm_peak_rss_mb": r[7],
                    "first_cpu_s": r[8],
                    "warm_cpu_s": r[9],
                }
                for r in rows
            ],
        }
        Path(args.json_out).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
