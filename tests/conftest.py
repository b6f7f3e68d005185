"""Shared fixtures: a temporary database and config, a real mosquitto, a subscriber."""

from __future__ import annotations

import os

import pytest

from monitor.clock import FakeClock
from monitor.config import load
from monitor.store import Store
from tests.support import MOSQUITTO, Broker, Subscriber, write_config

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

pytest_plugins = ["tests.web_fixtures", "tests.evidence_fixtures"]  # dashboard fixtures


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "bedside.db"


@pytest.fixture
def store(db_path):
    s = Store.open(db_path)
    yield s
    s.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_config(tmp_path, db_path):
    """make_config({"sensor": {...}}) -> (path, Config) with a temp database, MQTT off."""

    def make(sections: dict | None = None, name: str = "config.toml"):
        merged = {
            "node": {"id": "testroom", "timezone": "Europe/Berlin"},
            "storage": {"database": str(db_path)},
            "mqtt": {"enabled": False},
        }
        for section, keys in (sections or {}).items():
            merged.setdefault(section, {}).update(keys)
        path = write_config(tmp_path / name, merged)
        return path, load(path)

    return make


@pytest.fixture
def broker(tmp_path_factory):
    if not os.path.exists(MOSQUITTO):
        pytest.fail("mosquitto is not installed: run the README's test command (scripts/test)")
    b = Broker(tmp_path_factory.mktemp("broker")).start()
    yield b
    b.kill()


@pytest.fixture
def subscriber(broker):
    sub = Subscriber(broker, "#")
    yield sub
    sub.close()


@pytest.fixture
def tiny_fs():
    """A 2 MB filesystem of its own (a full disk on demand); skips where none can be made."""
    from tests.fault_support import TinyFilesystem

    why = TinyFilesystem.why_not()
    if why:
        pytest.skip(why)
    try:
        with TinyFilesystem(size_kb=2048) as fs:
            yield fs
    except OSError as exc:
        pytest.skip(str(exc))
