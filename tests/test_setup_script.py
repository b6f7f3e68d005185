"""scripts/_setup.sh: the demo reuses an environment the tests installed (no reinstall, no
setuptools banners), and pyproject.toml uses the SPDX licence form setuptools wants."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support import ROOT

SETUP = ROOT / "scripts" / "_setup.sh"


@pytest.fixture
def venv(tmp_path) -> Path:
    """A stand-in venv whose python only records that something tried to install."""
    bin_ = tmp_path / "venv" / "bin"
    bin_.mkdir(parents=True)
    python = bin_ / "python"
    python.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "pip-calls"}\n')
    python.chmod(0o755)
    return tmp_path / "venv"


def setup(venv: Path, script: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BEDSIDE_VENV": str(venv)}
    return subprocess.run(
        ["bash", "-c", f'source "{SETUP}"; {script}'],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_demo_reuses_the_test_environment(venv):
    (venv / ".bedside-installed-test").touch()
    done = setup(venv, 'ensure_venv ""')
    assert done.returncode == 0, done.stderr
    assert "installing" not in done.stdout
    assert not (venv.parent / "pip-calls").exists()


def test_an_environment_without_the_extras_or_older_than_pyproject_is_installed_again(venv):
    (venv / ".bedside-installed-").touch()
    assert setup(venv, 'installed_with ""').returncode == 0
    assert setup(venv, "installed_with test").returncode == 1  # the demo's env lacks [test]
    old = venv / ".bedside-installed-test"
    old.touch()
    os.utime(old, (0, 0))  # older than pyproject.toml
    assert setup(venv, "installed_with test").returncode == 1
    done = setup(venv, "ensure_venv test")
    assert done.returncode == 0 and "installing bedside[test]" in done.stdout
    calls = (venv.parent / "pip-calls").read_text()
    assert "install -q -e" in calls and "[test]" in calls


def test_pyproject_uses_the_spdx_licence_and_a_setuptools_that_reads_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert project["build-system"]["requires"] == ["setuptools>=77"]
