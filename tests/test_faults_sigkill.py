"""Fault: `bedside monitor` SIGKILLed 20 times at random moments while readings flow and
the user logs cramps (the web API's 201, `bedside cramp`'s exit 0).

Afterwards the database is intact, has no duplicate rows, holds every cramp that was
confirmed to the user, and every stored reading reaches the broker once a last clean
run has drained the outbox.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

from monitor.clock import iso_utc
from tests.fault_support import (
    duplicates,
    integrity,
    received_cramp_ids,
    received_reading_ts,
    stored_cramp_ids,
    stored_ts,
)
from tests.support import (
    EVENT_TIMEOUT,
    Subscriber,
    free_port,
    run_bedside,
    start_bedside,
    stop_process,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.broker]

KILLS = 20
SEED = 20261125
PASSWORD = "night-owl"


def post_cramp(url: str, ts_ms: int) -> int | None:
    """POST /api/cramps as a client would; the new cramp's id on 201, else None."""
    body = json.dumps({"ts": iso_utc(ts_ms), "leg": "right", "severity": 2}).encode()
    request = urllib.request.Request(
        f"{url}/api/cramps",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {PASSWORD}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=EVENT_TIMEOUT) as response:
            if response.status == 201:
                return json.loads(response.read())["cramp"]["id"]
    except (urllib.error.URLError, OSError):
        pass
    return None


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_twenty_sigkills_lose_nothing_confirmed(make_config, db_path, broker, tmp_path):
    web_port = free_port()
    path, _ = make_config(
        {
            "sensor": {"kind": "simulated", "interval_s": 2},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "web": {"port": web_port, "password": PASSWORD},
        }
    )
    rng = random.Random(SEED)
    url = f"http://127.0.0.1:{web_port}"
    sub = Subscriber(broker, "bedside/#")
    # The first run creates the database; the web process reads it.
    proc = start_bedside("monitor", config=path, log=tmp_path / "monitor-0.log")
    wait_until(lambda: stored_ts(db_path), what="the first stored reading")
    first_run = 0  # readings stored before the kills started (set below)
    web = start_bedside("web", config=path, log=tmp_path / "web.log")
    confirmed: set[int] = set()
    done = threading.Event()
    web_errors: list[str] = []

    def user_logs_cramps():
        """The web user: a cramp every ~0.3 s, each at its own instant in the past hour."""
        n = 0
        base = int(time.time() * 1000) - 3_600_000
        while not done.is_set():
            n += 1
            cramp_id = post_cramp(url, base + n * 1000)
            if cramp_id is not None:
                confirmed.add(cramp_id)
            else:
                web_errors.append(f"POST {n} not confirmed")
            done.wait(0.3)

    user = threading.Thread(target=user_logs_cramps, daemon=True)
    try:
        wait_until(lambda: healthy(url), what="the dashboard answering")
        user.start()
        first_run = len(stored_ts(db_path))
        cli_base = int(time.time()) - 7200
        for kill in range(1, KILLS + 1):
            if kill > 1:
                proc = start_bedside("monitor", config=path, log=tmp_path / f"monitor-{kill}.log")
            if kill % 4 == 0:  # the shell user too; exit 0 means stored
                at = iso_utc((cli_base + kill) * 1000)
                result = run_bedside("cramp", "--at", at, config=path)
                assert result.returncode == 0, result.stderr
                confirmed.add(int(result.stdout.split()[1]))
            time.sleep(rng.uniform(0.05, 3.5))  # a random moment: startup, read, publish
            proc.kill()
            proc.wait(EVENT_TIMEOUT)
        done.set()
        user.join(EVENT_TIMEOUT)
        assert len(confirmed) >= KILLS  # the fault really ran while cramps flowed

        during_kills = len(stored_ts(db_path)) - first_run
        # A last clean run drains the outbox.
        proc = start_bedside("monitor", config=path, log=tmp_path / "monitor-final.log")
        wait_until(lambda: len(stored_ts(db_path)) > 0)
        expected = set(stored_ts(db_path))
        cramps = stored_cramp_ids(db_path)
        sub.wait_for(lambda s: expected <= received_reading_ts(sub), timeout=4 * EVENT_TIMEOUT)
        sub.wait_for(lambda s: cramps <= received_cramp_ids(sub), timeout=4 * EVENT_TIMEOUT)
        assert stop_process(proc, signal.SIGTERM) == 0
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(EVENT_TIMEOUT)
        stop_process(web, signal.SIGTERM)
        sub.close()

    assert integrity(db_path) == "ok"
    assert duplicates(db_path) == {"readings": 0, "cramps": 0}
    assert confirmed <= stored_cramp_ids(db_path), "a confirmed cramp is missing"
    assert web_errors == [], web_errors[:5]  # the web never failed a write over a kill
    readings = stored_ts(db_path)
    assert readings == sorted(set(readings))
    assert during_kills > KILLS // 4  # readings flowed between the kills
