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


# Every (release, architecture) the installer accepts; 32-bit Bookworm is refused (below).
SUPPORTED = [("bookworm", "arm64"), ("trixie", "arm64"), ("trixie", "armhf")]


@pytest.mark.parametrize(("release", "arch"), SUPPORTED)
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


def test_plain_debian_bookworm_needs_no_lgpio_package(tmp_path):
    names = archive("bookworm", "arm64")
    result = run_installer(tmp_path, names, "--arch", "arm64", "--python-version", "3.11")
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


REFUSED_32_BIT_BOOKWORM = "32-bit Bookworm is not supported: Debian 12's scipy (1.10)"


@pytest.mark.parametrize("extra", [(), ("--allow-build",)], ids=["wheels-only", "allow-build"])
@pytest.mark.parametrize("piwheels", [False, True], ids=["debian", "raspberry-pi-os"])
def test_32_bit_bookworm_is_refused_up_front_with_the_reason(tmp_path, extra, piwheels):
    """Debian 12's scipy 1.10.1 / statsmodels 0.13.5 are below bedside's bounds, PyPI has no
    armv7l wheels, and building scipy is not an option: no path works, so none is tried."""
    names = archive("bookworm", "armhf") | {"python3-lgpio"}
    pip_conf = "extra-index-url=https://www.piwheels.org/simple\n" if piwheels else None
    result = run_installer(
        tmp_path, names, "--arch", "armhf", "--python-version", "3.11", *extra, pip_conf=pip_conf
    )
    assert result.returncode == 1
    assert REFUSED_32_BIT_BOOKWORM in result.stderr and "64-bit" in result.stderr
    assert "would run" not in result.stdout, "refused before anything"
    assert not (tmp_path / "pi/etc/bedside").exists() and not (tmp_path / "pi/opt").exists()
