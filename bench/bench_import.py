"""Import throughput: `bedside import readings` vs the sqlite3 shell's `.import`.

One year of 30-second readings (about 1.05 million rows) is written as CSV in
the shared format, then imported twice on the same machine:
  1. `bedside import readings FILE` into a fresh bedside database (parsing,
     validation, all-or-nothing, the real schema with its primary key);
  2. `sqlite3 DB ".import --csv FILE t"` into a plain table (no checks).
Prints rows, seconds, rows/s for each and the ratio (aim: within 4x).

    python bench/bench_import.py            # one year (~1.05 M rows)
    python bench/bench_import.py --quick    # four weeks (~80 k rows), a few seconds
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP_MS = 30_000
# The year ends a day before now: an import refuses rows stamped in the future.
START_MS = (int(time.time()) // 86_400 - 367) * 86_400_000


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as f:
        f.write("timestamp,temperature_c,humidity_pct\n")
        for i in range(rows):
            ts = datetime.fromtimestamp((START_MS + i * STEP_MS) / 1000, tz=UTC)
            day = i / 2880
            temp = 19.0 + 2.0 * math.sin(day * 2 * math.pi) + (i % 7) / 10
            f.write(f"{ts:%Y-%m-%dT%H:%M:%SZ},{temp:.1f},{50 + (i % 13) / 2:.1f}\n")


def timed(cmd: list[str], **kw) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="four weeks instead of a year")
    ap.add_argument("--rows", type=int, help="number of rows (overrides --quick)")
    ap.add_argument("--json-out", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args()
    rows = args.rows or (28 * 2880 if args.quick else 365 * 2880)
    sqlite3 = shutil.which("sqlite3")
    if not sqlite3:
        sys.exit("the sqlite3 shell is not installed (apt-get install sqlite3)")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        tmp = Path(tmp)
        csv_path = tmp / "readings.csv"
        t0 = time.perf_counter()
        write_csv(csv_path, rows)
        print(
            f"CSV: {rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB"
            f" (written in {time.perf_counter() - t0:.1f} s)"
        )

        # Best of two runs each (the machine is shared; the minimum is the least disturbed).
        shell_runs = []
        for i in range(2):
            plain_db = tmp / f"plain{i}.db"
            shell_runs.append(timed([sqlite3, str(plain_db), f".import --csv {csv_path} t"]))
        shell_s = min(shell_runs)

        bedside_runs = []
        for i in range(2):
            db = tmp / f"b{i}.db"
            config = tmp / "config.toml"
            config.write_text(
                f'[node]\nid = "bench"\ntimezone = "UTC"\n[storage]\ndatabase = "{db}"\n'
                "[mqtt]\nenabled = false\n"
            )
            bedside_runs.append(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "monitor",
                        "--config",
                        str(config),
                        "import",
                        "readings",
                        str(csv_path),
                    ],
                    cwd=ROOT,
                )
            )
        bedside_s = min(bedside_runs)
        again_s = timed(
            [
                sys.executable,
                "-m",
                "monitor",
                "--config",
                str(config),
                "import",
                "readings",
                str(csv_path),
            ],
            cwd=ROOT,
        )
        print(f"sqlite3 .import (plain table)  : {shell_s:7.2f} s  {rows / shell_s:>10,.0f} rows/s")
        print(
            f"bedside import readings        : {bedside_s:7.2f} s  {rows / bedside_s:>10,.0f}"
            f" rows/s  (database {db.stat().st_size / 1e6:.1f} MB)"
        )
        print(f"bedside import, same file again: {again_s:7.2f} s  (idempotent: nothing new)")
        print(f"ratio bedside / sqlite3 shell  : {bedside_s / shell_s:.2f}x  (aim: <= 4x)")
        if args.json_out:
            figures = {
                "rows": rows,
                "shell_s": shell_s,
                "bedside_s": bedside_s,
                "bedside_rows_per_s": rows / bedside_s,
                "shell_rows_per_s": rows / shell_s,
                "ratio": bedside_s / shell_s,
            }
            Path(args.json_out).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
