"""Concealment: no future arm anywhere — page, API, MQTT, CLI, logs.

Two trials with the same data whose schedules agree on every night announced so far
and differ on every later pair must look the same everywhere, except for the
commitment (a hash that, without the salt, says nothing).  The same comparison one
announcement later, once they differ on an announced night, must tell them apart:
the check sees arms when they are there.
"""

from __future__ import annotations

import argparse
import logging
import re

import pytest

from monitor.cli.trial import run_trial
from monitor.clock import FakeClock
from monitor.config import load
from monitor.store import Store
from monitor.trial import service
from tests.support import write_config
from tests.trial_support import FIRST, NODE, Announcer, Script, add_cramp, fill_night, local_ms

# Pairs 0 and 1 agree; pairs 2 to 5 are drawn the other way round.
ARMS_A = ["usual", "warm", "warm", "usual"] + ["warm", "usual", "usual", "warm"] * 2
ARMS_B = ["usual", "warm", "warm", "usual"] + ["usual", "warm", "warm", "usual"] * 2
PAGES = ("/", "/now/live", "/trial", "/trial/print", "/api/trial", "/api/current")


def make_world(root, arms):
    root.mkdir()
    path = write_config(
        root / "config.toml",
        {
            "node": {"id": NODE, "timezone": "Europe/Berlin"},
            "storage": {"database": str(root / "bedside.db")},
            "mqtt": {"enabled": False},
        },
    )
    config = load(path)
    clock = FakeClock(local_ms(FIRST, "10:00"))
    orders = [0 if arms[i] == "warm" else 1 for i in range(0, len(arms), 2)]
    with Store.open(root / "bedside.db") as store:
        service.start_trial(store, config, clock.now_ms(), nights=12, rng=Script(orders))
        loaded = service.load(store, NODE)
        assert loaded.arms == arms
        for i in range(3):  # the nights before the moment we look: the same in both
            fill_night(store, loaded.protocol, loaded.protocol.dates()[i], 17.0 + i)
            add_cramp(store, loaded.protocol, loaded.protocol.dates()[i])
    return config, clock, loaded


def everything_shown(config, clock, loaded, until_ms, capsys, caplog) -> dict:
    """Every output a person or a program sees, from the start up to until_ms."""
    from web.app import create_app

    caplog.clear()
    out = {}
    # MQTT: the announcer, cycling every hour from the start.
    with Store.open(config.storage.database) as store:
        announcer = Announcer(config, store, clock)
        announcer.start()
        while clock.now_ms() < until_ms:
            clock.set_wall(min(until_ms, clock.now_ms() + 3_600_000))
            announcer.cycle()
        out["mqtt"] = announcer.payloads()
    # The dashboard.
    app = create_app(config, clock=clock, test_config={"REPORT_JOB_ENABLED": False})
    try:
        client = app.test_client()
        for page in PAGES:
            response = client.get(page)
            assert response.status_code == 200, page
            out[page] = response.get_data(as_text=True)
    finally:
        app.extensions["bedside"]["data"].close()
    # The CLI.
    capsys.readouterr()
    for action in ("show", "report"):
        for as_json in (False, True):
            args = argparse.Namespace(trial_command=action, json=as_json, node=None)
            assert run_trial(args, config, clock) == 0
            out[f"cli {action} {as_json}"] = capsys.readouterr().out
    out["logs"] = caplog.text
    commitment = loaded.trial.commitment
    root = str(config.storage.database).rsplit("/", 2)[0]

    def clean(text):
        if isinstance(text, list):  # MQTT payloads
            return text
        text = text.replace(commitment, "<commitment>").replace(root, "<root>")
        return re.sub(r'name="csrf_token" value="[^"]+"', "<csrf>", text)

    return {k: clean(v) for k, v in out.items()}


@pytest.mark.parametrize("moment", ["planned", "after the third announcement"])
def test_two_schedules_agreeing_so_far_look_the_same_everywhere(tmp_path, capsys, caplog, moment):
    caplog.set_level(logging.DEBUG)
    world_a = make_world(tmp_path / "a", ARMS_A)
    world_b = make_world(tmp_path / "b", ARMS_B)
    p = world_a[2].protocol
    if moment == "planned":
        until = p.announce_ms(p.first_night) - 60_000
    else:  # nights 0-3 announced (pairs 0 and 1), pairs 2 and 3 still hidden
        until = p.announce_ms(p.dates()[3]) + 3_600_000
    shown_a = everything_shown(*world_a, until, capsys, caplog)
    shown_b = everything_shown(*world_b, until, capsys, caplog)
    for key in shown_a:
        assert shown_a[key] == shown_b[key], key
    if moment != "planned":  # the comparison is not vacuous: announced arms are shown
        assert "is a <strong>usual</strong> night" in shown_a["/"]  # night 3
        assert b'"arm":"usual"' in shown_a["mqtt"][-1]
        assert "night of 2026-06-13 is a usual night" in shown_a["logs"]


def test_one_announcement_later_the_same_check_tells_them_apart(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    world_a = make_world(tmp_path / "a", ARMS_A)
    world_b = make_world(tmp_path / "b", ARMS_B)
    p = world_a[2].protocol
    until = p.announce_ms(p.dates()[4]) + 3_600_000  # night 4 differs, and is announced
    shown_a = everything_shown(*world_a, until, capsys, caplog)
    shown_b = everything_shown(*world_b, until, capsys, caplog)
    differ = {key for key in shown_a if shown_a[key] != shown_b[key]}
    assert {"mqtt", "/", "/now/live", "/trial", "/api/trial", "logs"} <= differ
    assert {"cli show False", "cli show True"} <= differ
