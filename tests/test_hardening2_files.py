"""Trial concealment on disk (issue 21, #8): the database, its -wal/-shm and every
backup are never readable by every local user, and a trial's schedule and salt are
sealed with a key only the database's owner reads, so the participant (in the
database's group) learns nothing from opening the file.  Real files, real modes, the
real CLI, and a real second user where the test runs as root.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.store import Store
from monitor.store.seal import key_path
from monitor.trial import design
from tests.support import ROOT, bedside_env, run_bedside, write_config
from tests.test_trial_cli import today_berlin

SIDE = ("", "-wal", "-shm")
PARTICIPANT = 65534  # nobody / nogroup: a user of the database's group, not its owner


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def login_umask():
    """The umask of a login shell, where `bedside backup` and a hand-started monitor run."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_database_and_its_side_files_are_0640(tmp_path, login_umask):
    db = tmp_path / "bedside.db"
    with Store.open(db):  # open: the -wal and -shm exist
        for suffix in SIDE:
            assert mode(Path(f"{db}{suffix}")) == 0o640, suffix


def test_under_the_services_umask_too_the_group_reads_and_others_get_nothing(tmp_path):
    old = os.umask(0o007)  # the units' UMask=0007
    try:
        db = tmp_path / "bedside.db"
        Store.open(db).close()
        assert mode(db) == 0o640
    finally:
        os.umask(old)


def test_an_old_world_readable_database_loses_others_bits_when_opened(tmp_path, login_umask):
    db = tmp_path / "old.db"
    sqlite3.connect(db).close()
    os.chmod(db, 0o644)
    Store.open(db).close()
    assert mode(db) == 0o640


def test_bedside_backup_is_0640_and_carries_the_key_0600(make_config, tmp_path, login_umask):
    path, config = make_config()
    first = today_berlin() + timedelta(days=3)
    r = run_bedside("trial", "start", "--nights", "12", "--first-night", str(first), config=path)
    assert r.returncode == 0, r.stderr
    db = Path(config.storage.database)
    assert mode(key_path(db)) == 0o600
    target = tmp_path / "copies" / "backup.db"
    r = run_bedside("backup", str(target), config=path)
    assert r.returncode == 0, r.stderr
    assert mode(target) == 0o640
    assert mode(key_path(target)) == 0o600
    assert key_path(target).read_bytes() == key_path(db).read_bytes()
    with Store.open_readonly(target) as copy, Store.open_readonly(db) as original:
        trial = original.latest_trial("bedroom") or original.latest_trial(config.node.id)
        assert copy.trial_schedule(trial.id) == original.trial_schedule(trial.id)


def test_the_file_alone_does_not_tell_the_schedule_or_the_salt(make_config):
    path, config = make_config()
    first = today_berlin() + timedelta(days=3)
    r = run_bedside("trial", "start", "--nights", "56", "--first-night", str(first), config=path)
    assert r.returncode == 0, r.stderr
    db = Path(config.storage.database)
    with Store.open_readonly(db) as s:  # as the owner: the store unseals
        trial = s.latest_trial(config.node.id)
        schedule = s.trial_schedule(trial.id)
    assert design.verify(trial.commitment, trial.salt, schedule)
    # What `sqlite3 bedside.db` shows anyone who can open the file:
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (raw_salt,) = raw.execute("SELECT salt FROM trials WHERE id = ?", (trial.id,)).fetchone()
    raw_schedule = raw.execute(
        "SELECT night, arm FROM trial_nights WHERE trial_id = ? ORDER BY position", (trial.id,)
    ).fetchall()
    raw.close()
    assert trial.salt not in raw_salt
    assert not design.verify(trial.commitment, raw_salt, raw_schedule)
    assert [n for n, _ in raw_schedule] == [n for n, _ in schedule]
    assert [a for _, a in raw_schedule] != [a for _, a in schedule]  # 1 in 2^56 to fail


@pytest.fixture
def participant_home():
    """A directory the participant may enter (pytest's own temporary ones are root's
    alone), as /var/lib/bedside is: the service's, the group's to read."""
    home = Path(tempfile.mkdtemp(prefix="bedside-participant-"))
    os.chmod(home, 0o755)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as a second user")
def test_the_participant_in_the_databases_group_cannot_read_the_schedule(participant_home):
    home = participant_home
    db = home / "bedside.db"
    config = write_config(
        home / "config.toml",
        {
            "node": {"id": "bedroom", "timezone": "Europe/Berlin"},
            "storage": {"database": str(db)},
            "mqtt": {"enabled": False},
        },
    )
    os.chmod(config, 0o644)
    first = today_berlin() + timedelta(days=3)
    r = run_bedside("trial", "start", "--nights", "12", "--first-night", str(first), config=config)
    assert r.returncode == 0, r.stderr
    for suffix in SIDE:  # the service's files, which group bedside (here: nogroup) reads
        file = Path(f"{db}{suffix}")
        if file.exists():
            os.chown(file, 0, PARTICIPANT)
            os.chmod(file, 0o660)  # even with group write: the key is what keeps it sealed
    os.chmod(home, 0o775)
    os.chown(home, 0, PARTICIPANT)

    def as_participant(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["setpriv", f"--reuid={PARTICIPANT}", f"--regid={PARTICIPANT}", "--clear-groups",
             *cmd],
            capture_output=True, text=True, timeout=120, env=bedside_env(HOME=str(home)),
            cwd=ROOT,
        )  # fmt: skip

    key = as_participant("cat", str(key_path(db)))
    assert key.returncode != 0 and "Permission denied" in key.stderr
    dump = as_participant("sqlite3", "-readonly", str(db), "SELECT salt FROM trials")
    assert dump.returncode == 0 and dump.stdout.startswith("sealed1:"), dump
    show = as_participant(sys.executable, "-m", "monitor", "--config", str(config), "trial", "show")
    assert show.returncode != 0 and "Traceback" not in show.stderr, show.stderr
    assert str(key_path(db)) in show.stderr and "sudo -u bedside" in show.stderr


def test_a_lost_key_leaves_the_now_page_working_and_the_trial_page_says_why(
    app_factory, db_path, make_config
):
    from monitor.clock import FakeClock
    from monitor.trial import service
    from tests.trial_support import FIRST, Script, local_ms, orders_for

    clock = FakeClock(local_ms(FIRST, "10:00"))
    _, config = make_config()
    with Store.open(db_path) as store:
        service.start_trial(
            store, config, clock.now_ms(), nights=12, rng=Script(orders_for(["usual", "warm"] * 6))
        )
    key_path(db_path).unlink()  # a database restored without its key
    client = app_factory(clock=clock).test_client()
    assert client.get("/").status_code == 200
    r = client.get("/api/trial")
    assert r.status_code == 503 and "is missing" in r.get_json()["error"]
    page = client.get("/trial")
    assert page.status_code == 503 and "restore it" in page.get_data(as_text=True)
