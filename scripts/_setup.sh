# Sourced by scripts/demo and scripts/test: one place that prepares a machine.
# Fresh Debian 12 / Raspberry Pi OS: installs what is missing, then a .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BEDSIDE_VENV:-$ROOT/.venv}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {  # apt_install PACKAGE... (only those missing)
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_python() {
  if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "bedside needs Python 3.11 or newer (Debian 12 / Raspberry Pi OS Bookworm have it)" >&2
    exit 1
  fi
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3-venv
  fi
}

installed_with() {  # installed_with EXTRAS: an install stamp, not older than pyproject.toml,
  # whose extras include every one asked for (the test env serves the demo: no reinstall)
  local want="$1" stamp have extra ok
  for stamp in "$VENV"/.bedside-installed-*; do
    [ -f "$stamp" ] || continue
    [ "$ROOT/pyproject.toml" -nt "$stamp" ] && continue
    have=",${stamp##*/.bedside-installed-},"
    ok=1
    for extra in ${want//,/ }; do
      case "$have" in *",$extra,"*) ;; *) ok=0 ;; esac
    done
    [ "$ok" -eq 1 ] && return 0
  done
  return 1
}

ensure_venv() {  # ensure_venv EXTRAS (e.g. "test", or "" for none)
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.bedside-installed-$extras"
  if ! installed_with "$extras"; then
    echo "==> installing bedside${extras:+[$extras]} into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT${extras:+[$extras]}"
    touch "$stamp"
  fi
}

# Test-only tools kept outside the repository, in a cache that survives between runs.
TEST_CACHE="${BEDSIDE_TEST_CACHE:-$HOME/.cache/bedside-test}"
export BEDSIDE_TEST_CACHE="$TEST_CACHE"
HA_VERSION="2024.3.3"  # the last Home Assistant for Python 3.11; its MQTT discovery schemas

# What `hass` itself needs to start (its default integrations: frontend, backup, hardware,
# person, recorder...) at the versions Home Assistant pins, so the tests run it with
# --skip-pip (no installs at test time); josepy<2: with 2.x its http middleware cannot answer.
HA_RUN_PACKAGES=(
  "josepy<2" "home-assistant-frontend==20240307.0" "janus==1.0.0" "Pillow==10.2.0"
  "psutil-home-assistant==0.0.1" "securetar==2024.2.1" "SQLAlchemy==2.0.27"
  "fnv-hash-fast==0.5.0" "PyQRCode==1.2.1" "pyotp==2.8.0"
)

ensure_ha_schemas() {  # Home Assistant in its own venv (it pins many packages of its own)
  local venv="$TEST_CACHE/ha-venv"
  local stamp="$venv/.bedside-ha-$HA_VERSION-runnable-1"
  [ -f "$stamp" ] && return 0
  if [ ! -f "$venv/.bedside-ha-$HA_VERSION" ]; then
    echo "==> installing Home Assistant $HA_VERSION (its discovery schemas) into $venv"
    rm -rf "$venv"
    mkdir -p "$TEST_CACHE"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q "homeassistant==$HA_VERSION" "paho-mqtt==1.6.1"
    touch "$venv/.bedside-ha-$HA_VERSION"
  fi
  echo "==> installing what Home Assistant $HA_VERSION needs to run (tests/test_ha_live.py)"
  "$venv/bin/python" -m pip install -q "${HA_RUN_PACKAGES[@]}"
  touch "$stamp"
}
