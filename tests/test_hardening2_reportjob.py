"""The dashboard's report job computes into the database the dashboard serves (issue 21, #7).

`bedside --config c.toml --database other.db web` used to start `python -m monitor
--config c.toml report` from the repository's directory: a relative ``--config`` could
not be read there, and an absolute one sent the report into c.toml's own database.
Here the real CLI runs as subprocesses, started from a directory of their own with
relative paths, and the report has to land in other.db.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests

from monitor.store import Store
from tests.support import EVENT_TIMEOUT, bedside_env, free_port, wait_until, write_config
from web import demo

NODE = "bedroom"


@pytest.mark.slow
@pytest.mark.parametrize("config_arg", ["relative", "absolute"])
def test_the_report_job_uses_the_dashboards_config_and_database(tmp_path, config_arg):
    work = tmp_path / "work"
    work.mkdir()
    configured = work / "configured.db"  # what c.toml names: must stay without a report
    config = write_config(
        work / "c.toml",
        {
            "node": {"id": NODE, "timezone": "Europe/Berlin"},
            "storage": {"database": str(configured)},
            "mqtt": {"enabled": False},
        },
    )
    other = work / "other.db"
    with Store.open(other) as s:
        demo.fill_history(s, NODE, "Europe/Berlin", 1, 6, int(time.time() * 1000))
    Store.open(configured).close()

    port = free_port()
    config_path = "c.toml" if config_arg == "relative" else str(config)
    cmd = [sys.executable, "-m", "monitor", "--config", config_path, "--database", "other.db"]
    proc = subprocess.Popen(
        [*cmd, "web", "--port", str(port)],
        cwd=work,  # relative paths are relative to where the owner typed the command
        env=bedside_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _answers(port), what="the dashboard answers")
        r = requests.get(f"http://127.0.0.1:{port}/evidence", timeout=EVENT_TIMEOUT)
        assert r.status_code == 200

        def report_or_error():
            with Store.open_readonly(other) as s:
                if s.latest_report(NODE) is not None:
                    return "stored"
            with Store.open_readonly(configured) as s:
                if s.latest_report(NODE) is not None:
                    return f"computed into {configured.name}, not {other.name}"
            time.sleep(0.5)  # polling pace only: the page below starts nothing new
            page = requests.get(f"http://127.0.0.1:{port}/evidence", timeout=EVENT_TIMEOUT)
            failed = re.search(r"The last attempt failed</summary><code>(.*?)</code>", page.text)
            return failed.group(1) if failed else None

        outcome = wait_until(report_or_error, timeout=240, what="the evidence report")
        assert outcome == "stored", f"the report job failed: {outcome}"
        with Store.open_readonly(configured) as s:
            assert s.latest_report(NODE) is None
    finally:
        proc.terminate()
        proc.wait(EVENT_TIMEOUT)


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False
