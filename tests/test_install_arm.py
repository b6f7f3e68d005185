"""scripts/test-arm's pure parts, in the default run (the script itself takes long: README).

What it proves must be what the installer accepts and the README promises: every target it
runs by default is accepted by install-pi.sh for that architecture and Python, and the
refused combination (32-bit Bookworm) is not among them.
"""

from __future__ import annotations

import subprocess

from tests.support import ROOT

TEST_ARM = ROOT / "scripts" / "test-arm"
INSTALLER = ROOT / "scripts" / "install-pi.sh"
PYTHON = {"bookworm": "3.11", "trixie": "3.13"}


def targets() -> list[str]:
    out = subprocess.run([str(TEST_ARM), "--list"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_it_proves_64_bit_bookworm_and_trixie_and_the_readme_says_so():
    assert sorted(targets()) == ["bookworm-arm64", "trixie-arm64"]
    readme = (ROOT / "README.md").read_text()
    assert "scripts/test-arm" in readme and "arm64 Debian 12 and 13 roots" in readme


def test_every_target_is_one_the_installer_accepts(tmp_path):
    for target in targets():
        release, arch = target.split("-")
        extra = ["--allow-build"] if release == "trixie" else []  # plain Debian: no lgpio
        result = subprocess.run(
            ["bash", str(INSTALLER), "--root", str(tmp_path / target), "--no-venv",
             "--arch", arch, "--python-version", PYTHON[release], "--driver", "kernel", *extra],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"{target}: {result.stderr}"


def test_bad_arguments_and_a_cache_inside_the_repository_are_refused():
    bad = subprocess.run([str(TEST_ARM), "bookworm-i386"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown argument 'bookworm-i386'" in bad.stderr
    inside = subprocess.run(
        [str(TEST_ARM), "bookworm-arm64"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "BEDSIDE_TEST_CACHE": str(ROOT / "cache")},
    )
    assert inside.returncode == 2 and "outside the repository" in inside.stderr
