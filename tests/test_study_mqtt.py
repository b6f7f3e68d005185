"""A pooled study across rooms over a real mosquitto: each node says its time zone
(retained info) and, once a warm-night trial has FINISHED, its discordant pairs; the
recorder stores both and `bedside analyze --pooled` counts them.  Before the end nothing of
the trial leaves the node (its schedule is secret until then)."""

from __future__ import annotations

import json
import signal

import pytest

from monitor.clock import FakeClock, SystemClock
from monitor.config import load
from monitor.mqtt.payloads import PayloadError, parse_trial_result, trial_result_payload
from monitor.mqtt.recorder import Recorder
from monitor.store import Store
from monitor.trial import service
from tests.support import (
    EVENT_TIMEOUT,
    run_bedside,
    start_bedside,
    stop_process,
    wait_until,
    write_config,
)
from tests.trial_support import NODE, Announcer

RESULT = f"bedside/{NODE}/trial/result"
DAY_MS = 86_400_000


def test_the_trial_result_payload_contract():
    body = trial_result_payload("2026-06-10", 6, 3, 1)
    assert parse_trial_result(body) == json.loads(body)
    for bad in (
        b'{"first_night": "2026-06-10", "pairs": 6, "usual_only": 5, "warm_only": 2}',
        b'{"first_night": "June", "pairs": 6, "usual_only": 1, "warm_only": 1}',
        b'{"first_night": "2026-06-10", "pairs": 6, "usual_only": true, "warm_only": 0}',
        b'{"pairs": 6, "usual_only": 1, "warm_only": 1}',
    ):
        with pytest.raises(PayloadError):
            parse_trial_result(bad)


def test_a_running_trial_publishes_no_result_and_a_finished_one_does(make_config, store):
    _, config = make_config({"node": {"id": NODE, "timezone": "Europe/Berlin"}})
    clock = FakeClock(1_780_000_000_000)
    trial = service.start_trial(store, config, clock.now_ms(), nights=12)
    announcer = Announcer(config, store, clock)
    announcer.start()
    end = service.load(store, NODE).protocol.end_ms
    while clock.now_ms() < end:
        announcer.cycle()
        clock.advance(6 * 3_600_000)
    assert not [t for t, _ in announcer.states if t == RESULT]  # concealed while it runs
    clock.advance(60_000)
    announcer.cycle()
    announcer.cycle()  # once per change, not once per cycle
    results = [p for t, p in announcer.states if t == RESULT]
    assert len(results) == 1
    got = parse_trial_result(results[0])
    assert got["first_night"] == service.load(store, NODE).protocol.first_night.isoformat()
    assert got["pairs"] == service.report(store, service.load(store, NODE), clock.now_ms())["pairs"]
    assert trial.id


@pytest.mark.broker
@pytest.mark.slow
def test_the_recorder_pools_a_nodes_zone_and_finished_trial(broker, tmp_path, db_path):
    node_db = tmp_path / "node.db"
    node_cfg = write_config(
        tmp_path / "node.toml",
        {
            "node": {"id": NODE, "timezone": "Pacific/Auckland"},
            "storage": {"database": str(node_db)},
            "sensor": {"kind": "simulated", "interval_s": 2},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "button": {"enabled": False},
        },
    )
    now = SystemClock().now_ms()
    with Store.open(node_db) as store:  # a 12-night trial that ended days ago
        service.start_trial(store, load(node_cfg), now - 20 * DAY_MS, nights=12)
        loaded = service.load(store, NODE)
        want = service.report(store, loaded, now)
    rec_cfg = write_config(
        tmp_path / "recorder.toml",
        {
            "node": {"id": "hall", "timezone": "UTC"},
            "storage": {"database": str(db_path)},
            "mqtt": {"enabled": True, "host": broker.host, "port": broker.port},
            "recorder": {"client_id": "study-recorder", "batch_wait_s": 0.05},
        },
    )
    recorder = Recorder(load(rec_cfg), clock=SystemClock()).start()
    assert recorder.ready.wait(EVENT_TIMEOUT)
    daemon = start_bedside("monitor", config=node_cfg, log=tmp_path / "node.log")
    try:
        with Store.open_readonly(db_path) as reader:
            wait_until(
                lambda: (
                    reader.node_timezones().get(NODE) == "Pacific/Auckland"
                    and NODE in reader.trial_results()
                    and reader.newest_reading(NODE) is not None
                ),
                what="the node's zone, finished trial and a reading on the recorder",
            )
            assert reader.trial_results()[NODE] == (
                want["pairs"],
                want["usual_only"],
                want["warm_only"],
            )
    finally:
        assert stop_process(daemon, signal.SIGTERM) == 0
        recorder.stop()
    done = run_bedside("analyze", "--pooled", "--json", config=rec_cfg)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [r["node"] for r in report["per_person"]] == [NODE]
    assert report["trial"]["people"] == 1
    assert report["trial"]["pairs"] == want["pairs"]
