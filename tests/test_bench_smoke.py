"""Every benchmark still runs (in its --quick mode): benches that nothing runs rot silently.

Only that they run and report figures is asserted here; speed is judged by the
benchmarks themselves (bench/run_all.py), never by a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT, bedside_env


@pytest.mark.slow
def test_every_benchmark_runs_in_quick_mode(tmp_path):
    figures = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, "bench/run_all.py", "--quick", "--json-out", str(figures)],
        cwd=ROOT,
        env=bedside_env(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    reported = json.loads(figures.read_text())["figures"]
    assert set(reported) == {"import", "daemon", "web", "analysis", "latency", "recorder"}
    assert all(reported.values()), [name for name, f in reported.items() if not f]
