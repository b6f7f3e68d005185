"""What the installer asks apt and pip for, against the real archives of both releases.

tests/data/apt/{bookworm,trixie}-{arm64,armhf}.txt are extracts of Debian's own Packages
indexes (see their headers).  The installer runs in --root mode with a stand-in
`apt-cache` on PATH that answers `show` from one of those lists, as if on that release:
every package it would install must be in that list.  Raspberry Pi OS adds its own
archive on top of Debian's; the one package bedside takes from it, python3-lgpio, is
not in Debian (checked in these lists), so the "Raspberry Pi OS" runs add it by hand.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

INSTALLER = ROOT / "scripts" / "install-pi.sh"
APT_LISTS = ROOT / "tests" / "data" / "apt"
RELEASES = ("bookworm", "trixie")
ARCHES = ("arm64", "armhf")
PYTHON = {"bookworm": "3.11", "trixie": "3.13"}


def archive(release: str, arch: str) -> set[str]:
    names = set()
    for line in (APT_LISTS / f"{release}-{arch}.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            names.add(line.split()[0])
    return names


def fake_apt(tmp_path: Path, names: set[str]) -> Path:
    """A bin dir whose apt-cache knows exactly ``names`` (and nothing needs dpkg)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "names.txt").write_text("\n".join(sorted(names)) + "\n")
    script = bin_dir / "apt-cache"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = show ] && [ -n "$2" ] && grep -qxF -- "$2" "{tmp_path / "names.txt"}"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def run_installer(tmp_path, names, *args, pip_conf: str | None = None):
    root = tmp_path / "pi"
    if pip_conf is not None:
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "etc/pip.conf").write_text(pip_conf)
    env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
    env["PATH"] = f"{fake_apt(tmp_path, names)}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), "--no-venv", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def apt_line(result) -> list[str]:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("would run: apt-get install")]
    return line.removeprefix("would run: apt-get install").split()


def listed(kind: str) -> list[str]:
    out = subprocess.run(
        ["bash", str(INSTALLER), "--list-packages"], capture_output=True, text=True, check=True
    ).stdout
    (line,) = [x for x in out.splitlines() if x.startswith(f"{kind}:")]
    return line.split(":", 1)[1].split()


def test_every_required_package_exists_in_both_releases_on_both_arches():
    required = listed("required")
    assert {"python3", "python3-venv", "mosquitto"} <= set(required)
    for release in RELEASES:
        for arch in ARCHES:
            missing = set(required) - archive(release, arch)
            assert not missing, f"{release}/{arch} lacks {missing}"
    assert "libgpiod2" not in required + listed("optional"), "trixie has libgpiod3 only"


def test_optional_packages_exist_in_debian_except_raspberry_pi_os_lgpio():
    for name in listed("optional"):
        present = {(r, a) for r in RELEASES for a in ARCHES if name in archive(r, a)}
        if name == "python3-lgpio":
            assert not present, "if Debian ships it now, the installer and docs can say so"
        else:
            assert len(present) == 4, f"{name} only in {sorted(present)}"


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("driver", ["kernel", "blinka"])
def test_raspberry_pi_os_installs_from_its_archive_without_a_compiler(
    tmp_path, release, arch, driver
):
    names = archive(release, arch) | {"python3-lgpio"}  # Debian + Raspberry Pi OS's archive
    pip_conf = "[global]\nextra-index-url=https://www.piwheels.org/simple\n"  # RPi OS's
    result = run_installer(
        tmp_path,
        names,
        "--arch",
        arch,
        "--python-version",
        PYTHON[release],
        "--driver",
        driver,
        pip_conf=pip_conf,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    packages = apt_line(result)
    assert set(packages) <= names
    assert "python3-lgpio" in packages
    assert not {"build-essential", "python3-dev", "swig"} & set(packages), "no compiler"
    if arch == "armhf":  # no armv7l wheels: Debian's builds through --system-site-packages
        assert {"python3-libgpiod", "python3-numpy", "python3-scipy"} <= set(packages)
    assert "PYPI=1" not in result.stdout
    assert f"bedside[{'gpio' if driver == 'kernel' else 'pi'}]" in result.stdout


@pytest.mark.parametrize("arch", ARCHES)
def test_plain_debian_bookworm_needs_no_lgpio_package(tmp_path, arch):
    names = archive("bookworm", arch)
    pip_conf = "extra-index-url=https://www.piwheels.org/simple\n" if arch == "armhf" else None
    result = run_installer(
        tmp_path, names, "--arch", arch, "--python-version", "3.11", pip_conf=pip_conf
    )
    assert result.returncode == 0, result.stdout + result.stderr
    packages = apt_line(result)
    assert set(packages) <= names and "python3-lgpio" not in packages  # PyPI's cp311 wheel


def test_plain_debian_trixie_refuses_to_compile_lgpio_unless_allowed(tmp_path):
    names = archive("trixie", "arm64")
    refused = run_installer(tmp_path, names, "--arch", "arm64", "--python-version", "3.13")
    assert refused.returncode != 0
    assert "no lgpio for Python 3.13" in refused.stderr and "--allow-build" in refused.stderr
    allowed = run_installer(
        tmp_path, names, "--arch", "arm64", "--python-version", "3.13", "--allow-build"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert {"build-essential", "python3-dev", "swig"} <= set(apt_line(allowed)) <= names
    assert "PYPI=1" in allowed.stdout and "--no-binary lgpio" in allowed.stdout


def test_32_bit_bookworm_without_piwheels_is_refused_with_the_reason(tmp_path):
    names = archive("bookworm", "armhf") | {"python3-lgpio"}
    result = run_installer(tmp_path, names, "--arch", "armhf", "--python-version", "3.11")
    assert result.returncode != 0
    assert "statsmodels" in result.stderr and "64-bit" in result.stderr
