#!/usr/bin/env bash
# Install bedside as a service on a Raspberry Pi: Raspberry Pi OS or Debian, 64-bit (arm64)
# Bookworm (12) or Trixie (13); 32-bit (armhf) Trixie.  32-bit Bookworm and ARMv6 (Pi Zero W,
# Pi 1) are refused up front (hardware.md, "Which Pi, which OS, which driver", says why).
#
#   sudo ./scripts/install-pi.sh                  install or upgrade, enable, start
#   sudo ./scripts/install-pi.sh --uninstall      remove program + units, keep data + config
#   sudo ./scripts/install-pi.sh --uninstall --purge   ... and the data, config and user
#   ./scripts/install-pi.sh --root DIR --no-venv  write every file under DIR, run nothing
#   ./scripts/install-pi.sh --list-packages       every Debian package it may install
#
# No compiler is needed where the archive or PyPI has binaries: gpiozero's lgpio comes
# from Raspberry Pi OS's python3-lgpio (venv with --system-site-packages) or a PyPI wheel
# (Python <= 3.12); on 32-bit Trixie, Debian's python3-libgpiod / numpy / scipy /
# statsmodels stand in for the missing armv7l wheels.  Optional packages are installed only where
# `apt-cache show` finds them.  It ends with a smoke test that imports the configured
# driver stack as the service will (same venv, same user, the unit's environment).
#
# Off a booted Pi (a chroot, a container, an image build: systemd is not PID 1) the units
# are enabled offline, as symlinks, and start at the next boot.
#
# Idempotent: a second run with the same source changes nothing (files are only
# written when their content differs; the venv is only rebuilt when the source
# changed).  An existing /etc/bedside/config.toml is never overwritten.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/opt/bedside
VENV=$PREFIX/venv
CONF_DIR=/etc/bedside
CONFIG=$CONF_DIR/config.toml
STATE_DIR=/var/lib/bedside
UNIT_DIR=/etc/systemd/system
BIN_LINK=/usr/local/bin/bedside
UDEV_RULE=/etc/udev/rules.d/60-bedside-gpio.rules
SERVICE_USER=bedside
MARKER="# bedside: the DHT through the kernel's IIO dht11 driver (install-pi.sh --uninstall removes these lines)"
UNITS=(bedside-monitor.service bedside-web.service bedside-report.service bedside-report.timer bedside-recorder.service)
ENABLE=(bedside-monitor.service bedside-web.service bedside-report.timer)

ROOT=""
SENSOR=dht22
DRIVER=""
ARCH=""
PYVER=""
ALLOW_BUILD=0
LIST_PACKAGES=0
REBOOT_NEEDED=0
REMOTE_BROKER=0
MQTT_HOST=""
NO_VENV=0
UNINSTALL=0
PURGE=0
CHANGED=0

usage() {
  cat <<'EOF'
Usage: sudo scripts/install-pi.sh [OPTIONS]

Installs bedside under /opt/bedside, its config in /etc/bedside, its data in
/var/lib/bedside, and the systemd units; enables and starts them.

Options:
  --sensor KIND       dht22 (default), dht11 or simulated; used only when the
                      config is created (an existing config is never changed)
  --driver DRIVER     kernel (the default on a Raspberry Pi): add
                      dtoverlay=dht11,gpiopin=N to the boot config.txt (a reboot
                      loads it); blinka: adafruit_dht on Adafruit Blinka (installs
                      bedside[pi]); auto (the default elsewhere): the kernel
                      driver where its device exists, else Blinka
  --allow-build       where no binary exists (lgpio on plain Debian 13), install
                      a compiler and build it
  --remote-broker     do not install mosquitto (use a broker on another machine)
  --mqtt-host HOST    the broker's host for a new config (implies --remote-broker)
  --uninstall         stop and remove the program and the units; keep the data
                      (/var/lib/bedside) and the config (/etc/bedside)
  --purge             with --uninstall: also delete the data, the config and the user
  --root DIR          write every file under DIR (units enabled as symlinks) and
                      only print the apt-get, useradd and groupadd commands it
                      would run (for tests and image builders)
  --no-venv           skip creating the virtual environment (with --root: fast)
  --arch ARCH         the target's Debian architecture (arm64, armhf, amd64;
                      default: this machine's), for --root and image builders
  --python-version X.Y  the target's Python (default: this machine's python3)
  --list-packages     print every Debian package this script may install, and exit
  -h, --help          this text
EOF
}

die() { echo "install-pi: $*" >&2; exit 1; }
say() { echo "==> $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --sensor) [ $# -ge 2 ] || die "--sensor needs a value"; SENSOR="$2"; shift 2 ;;
    --sensor=*) SENSOR="${1#*=}"; shift ;;
    --driver) [ $# -ge 2 ] || die "--driver needs a value"; DRIVER="$2"; shift 2 ;;
    --driver=*) DRIVER="${1#*=}"; shift ;;
    --allow-build) ALLOW_BUILD=1; shift ;;
    --arch) [ $# -ge 2 ] || die "--arch needs a value"; ARCH="$2"; shift 2 ;;
    --arch=*) ARCH="${1#*=}"; shift ;;
    --python-version) [ $# -ge 2 ] || die "--python-version needs a value"; PYVER="$2"; shift 2 ;;
    --python-version=*) PYVER="${1#*=}"; shift ;;
    --list-packages) LIST_PACKAGES=1; shift ;;
    --remote-broker) REMOTE_BROKER=1; shift ;;
    --mqtt-host) [ $# -ge 2 ] || die "--mqtt-host needs a value"; MQTT_HOST="$2"; REMOTE_BROKER=1; shift 2 ;;
    --mqtt-host=*) MQTT_HOST="${1#*=}"; REMOTE_BROKER=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="$2"; shift 2 ;;
    --root=*) ROOT="${1#*=}"; shift ;;
    --no-venv) NO_VENV=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

case "$SENSOR" in dht22|dht11|simulated) ;; *) die "--sensor must be dht22, dht11 or simulated, got '$SENSOR'" ;; esac
case "$DRIVER" in ""|kernel|blinka|auto) ;; *) die "--driver must be kernel, blinka or auto, got '$DRIVER'" ;; esac
[[ "$PYVER" =~ ^([0-9]+\.[0-9]+)?$ ]] || die "--python-version must look like 3.13, got '$PYVER'"

# Every Debian package this script may install (tests/test_install_packages.py checks each
# against the bookworm and trixie archives).  Required ones exist in both releases; the
# others are installed only where `apt-cache show` finds them.
BASE_PACKAGES=(python3 python3-venv git)
BROKER_PACKAGES=(mosquitto mosquitto-clients)
# Raspberry Pi OS's archive only (not in Debian): gpiozero's pin library for Python 3.13.
RPIOS_PACKAGES=(python3-lgpio)
# 32-bit Trixie: PyPI has no armv7l wheels for these (gpiod 2, numpy, scipy, statsmodels,
# sysv_ipc); Debian 13's versions satisfy bedside's bounds.
ARMHF_PACKAGES=(python3-libgpiod python3-numpy python3-scipy python3-statsmodels python3-sysv-ipc)
# Only with --allow-build: what building lgpio (PYPI=1: liblgpio linked in) needs.
BUILD_PACKAGES=(build-essential python3-dev swig)
if [ "$LIST_PACKAGES" -eq 1 ]; then
  echo "required: ${BASE_PACKAGES[*]} ${BROKER_PACKAGES[*]}"
  echo "optional: ${RPIOS_PACKAGES[*]} ${ARMHF_PACKAGES[*]} ${BUILD_PACKAGES[*]}"
  exit 0
fi
[[ "$MQTT_HOST" =~ ^[A-Za-z0-9.:_-]*$ ]] || die "--mqtt-host: not a host name: '$MQTT_HOST'"
[ "$PURGE" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] || die "--purge goes with --uninstall"

if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT="$(cd "$ROOT" && pwd)"
  [ "$ROOT" != "/" ] || ROOT=""
fi
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root: sudo $0 $*  (or --root DIR to write into a directory)"
fi

# -- helpers -----------------------------------------------------------------------

# run CMD...: run it on the real system, or only print it in --root mode.
run() {
  if [ -n "$ROOT" ]; then
    echo "would run: $*"
  else
    "$@"
  fi
}

# put_file SRC DEST MODE: install when missing or different; report a change.
put_file() {
  local src="$1" dest="$ROOT$2" mode="$3"
  mkdir -p "$(dirname "$dest")"
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    if [ "$(stat -c %a "$dest")" != "$mode" ]; then chmod "$mode" "$dest"; CHANGED=1; fi
    return 0
  fi
  install -m "$mode" "$src" "$dest"
  echo "    wrote $2"
  CHANGED=1
}

# put_dir DIR MODE [OWNER:GROUP]
put_dir() {
  local dir="$ROOT$1" mode="$2" owner="${3:-}"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    echo "    created $1"
    CHANGED=1
  fi
  [ "$(stat -c %a "$dir")" = "$mode" ] || chmod "$mode" "$dir"
  if [ -n "$owner" ]; then
    if [ -n "$ROOT" ]; then
      echo "would run: chown $owner $1"
    else
      chown "$owner" "$dir"
    fi
  fi
}

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" -eq 0 ]; then apt-get update -qq; APT_UPDATED=1; fi
}

# apt_has PKG: the archive has it (a fresh image may have no package lists yet).
apt_has() {
  if [ -z "$ROOT" ]; then apt_update; fi
  apt-cache show "$1" >/dev/null 2>&1
}

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  CHANGED=1
}

# The boot partition's config.txt: /boot/firmware from Bookworm on, /boot before.
boot_config() {
  local path
  for path in /boot/firmware/config.txt /boot/config.txt; do
    if [ -f "$ROOT$path" ]; then echo "$path"; return 0; fi
  done
  return 1
}

# The [sensor] pin of a config file (4, the example's, when it has none).
config_pin() {
  local pin=""
  if [ -f "$1" ]; then
    pin="$(sed -n '/^\[sensor\]/,/^\[/{s/^pin[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p}' "$1" | head -n1)"
  fi
  echo "${pin:-4}"
}

# add_overlay PIN: dtoverlay=dht11,gpiopin=PIN in config.txt, once, under [all].
add_overlay() {
  local pin="$1" conf
  if ! conf="$(boot_config)"; then
    echo "install-pi: no /boot/firmware/config.txt or /boot/config.txt: add dtoverlay=dht11,gpiopin=$pin to your boot config yourself and reboot" >&2
    return 0
  fi
  local existing
  existing="$(grep -E '^[[:space:]]*dtoverlay=dht11([,[:space:]]|$)' "$ROOT$conf" || true)"
  if [ -n "$existing" ]; then
    if ! grep -qxE "[[:space:]]*dtoverlay=dht11,gpiopin=${pin}[[:space:]]*" <<<"$existing"; then
      echo "install-pi: $conf already has '$(head -n1 <<<"$existing")'; left as it is: [sensor] pin ($pin) must be the pin it names (bedside doctor checks)" >&2
    fi
    return 0
  fi
  say "adding dtoverlay=dht11,gpiopin=$pin to $conf (the kernel's DHT driver)"
  printf '\n%s\n[all]\ndtoverlay=dht11,gpiopin=%s\n' "$MARKER" "$pin" >>"$ROOT$conf"
  REBOOT_NEEDED=1
  CHANGED=1
}

# remove_overlay: the lines add_overlay wrote, and nothing else.
remove_overlay() {
  local conf
  conf="$(boot_config)" || return 0
  grep -qxF "$MARKER" "$ROOT$conf" || return 0
  local tmp
  tmp="$(mktemp)"
  awk -v marker="$MARKER" '
    { line[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++) {
        if (line[i] == marker && line[i + 1] == "[all]" && line[i + 2] ~ /^dtoverlay=dht11,gpiopin=[0-9]+$/) {
          drop[i] = drop[i + 1] = drop[i + 2] = 1
          if (i > 1 && line[i - 1] == "") drop[i - 1] = 1
        }
      }
      for (i = 1; i <= NR; i++) if (!(i in drop)) print line[i]
    }
  ' "$ROOT$conf" >"$tmp"
  cat "$tmp" >"$ROOT$conf"
  rm -f "$tmp"
  echo "    removed the dht11 overlay from $conf (a reboot unloads it)"
}

# group_exists NAME: in the target's /etc/group (--root) or this system's.
group_exists() {
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; else getent group "$1" >/dev/null; fi
}

# group_members NAME: its supplementary members, one a line.
group_members() {
  local line
  if [ -n "$ROOT" ]; then line="$(grep "^$1:" "$ROOT/etc/group" 2>/dev/null || true)"; else line="$(getent group "$1" || true)"; fi
  echo "${line##*:}" | tr ',' '\n' | sed '/^$/d'
}

# os_gpio_rule: a udev rule of the OS (not ours) that gives /dev/gpiochip* to group gpio
# (Raspberry Pi OS's 99-com.rules); empty on plain Debian.
os_gpio_rule() {
  grep -ls 'GROUP="gpio"' "$ROOT"/usr/lib/udev/rules.d/*.rules "$ROOT"/lib/udev/rules.d/*.rules \
    "$ROOT"/etc/udev/rules.d/*.rules 2>/dev/null | grep -v "/${UDEV_RULE##*/}\$" | head -n1 || true
}

GPIO_MARK="# bedside created group gpio (install-pi.sh --uninstall removes it with this rule)"

# systemd_booted: systemd is PID 1 on the target (sd_booted()'s test).  Not in a chroot, a
# container or an image being built; with --root, only where DIR has run/systemd/system.
systemd_booted() { [ -d "$ROOT/run/systemd/system" ]; }

# enable_offline UNIT...: what `systemctl enable` does without a running systemd: a symlink
# in the .wants directory of each WantedBy= target.
enable_offline() {
  local unit target link
  for unit in "$@"; do
    for target in $(sed -n 's/^WantedBy=//p' "$ROOT$UNIT_DIR/$unit"); do
      link="$ROOT$UNIT_DIR/$target.wants/$unit"
      [ "$(readlink "$link" 2>/dev/null)" = "$UNIT_DIR/$unit" ] && continue
      mkdir -p "$(dirname "$link")"
      ln -sfn "$UNIT_DIR/$unit" "$link"
      echo "    enabled $unit offline ($target.wants)"
    done
  done
}

# disable_offline UNIT...: remove those symlinks.
disable_offline() {
  local unit link
  for unit in "$@"; do
    for link in "$ROOT$UNIT_DIR"/*.wants/"$unit"; do
      if [ -L "$link" ]; then rm -f "$link"; echo "    disabled $unit offline"; fi
    done
  done
}

# A hash of everything pip would install: rebuild the venv only when it changes.
source_hash() {
  local paths=() path
  for path in pyproject.toml README.md monitor web; do
    if [ -e "$REPO/$path" ]; then paths+=("$path"); fi
  done
  (cd "$REPO" && find "${paths[@]}" -type f -not -path '*/__pycache__/*' -not -name '*.pyc' |
      LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

# -- uninstall ---------------------------------------------------------------------

uninstall() {
  say "stopping and removing the bedside units"
  local unit booted=0 created_gpio=0
  if systemd_booted; then booted=1; else echo "    systemd is not running here: disabling the units offline"; fi
  for unit in "${UNITS[@]}"; do
    if [ "$booted" -eq 1 ]; then run systemctl disable --now "$unit" 2>/dev/null || true; fi
    disable_offline "$unit"
    if [ -e "$ROOT$UNIT_DIR/$unit" ]; then rm -f "$ROOT$UNIT_DIR/$unit"; echo "    removed $UNIT_DIR/$unit"; fi
    if [ -d "$ROOT$UNIT_DIR/$unit.d" ]; then rm -rf "$ROOT$UNIT_DIR/$unit.d"; echo "    removed $UNIT_DIR/$unit.d"; fi
  done
  if [ "$booted" -eq 1 ]; then run systemctl daemon-reload; fi
  if [ -L "$ROOT$BIN_LINK" ]; then rm -f "$ROOT$BIN_LINK"; echo "    removed $BIN_LINK"; fi
  if [ -e "$ROOT$UDEV_RULE" ]; then
    if grep -qxF "$GPIO_MARK" "$ROOT$UDEV_RULE"; then created_gpio=1; fi
    rm -f "$ROOT$UDEV_RULE"; echo "    removed $UDEV_RULE"
  fi
  remove_overlay
  if [ -d "$ROOT$PREFIX" ]; then rm -rf "$ROOT$PREFIX"; echo "    removed $PREFIX"; fi
  if [ "$PURGE" -eq 1 ]; then
    say "purging data, config and the $SERVICE_USER user"
    rm -rf "$ROOT$STATE_DIR" "$ROOT$CONF_DIR"
    echo "    removed $STATE_DIR and $CONF_DIR"
    if [ -n "$ROOT" ] || id "$SERVICE_USER" >/dev/null 2>&1; then run userdel "$SERVICE_USER"; fi
  else
    say "kept the data in $STATE_DIR and the config in $CONF_DIR (--purge deletes them)"
  fi
  # The gpio group, where this script created it (plain Debian) and nobody else uses it.
  if [ "$created_gpio" -eq 1 ] && group_exists gpio; then
    local others
    others="$(group_members gpio | grep -vx "$SERVICE_USER" | paste -sd, - || true)"
    if [ -n "$others" ]; then
      echo "    kept group gpio: $others use it (sudo groupdel gpio removes it)"
    else
      run groupdel gpio
      echo "    removed group gpio"
    fi
  fi
}

if [ "$UNINSTALL" -eq 1 ]; then
  uninstall
  exit 0
fi

# -- install -----------------------------------------------------------------------

# 0. the target: architecture, Python, a Raspberry Pi?, the sensor driver
if [ -z "$ARCH" ]; then ARCH="$(dpkg --print-architecture 2>/dev/null || uname -m)"; fi
case "$ARCH" in aarch64) ARCH=arm64 ;; armv7l|armv6l) ARCH=armhf ;; x86_64) ARCH=amd64 ;; esac
if [ -z "$PYVER" ]; then
  PYVER="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
  [ -n "$PYVER" ] || die "python3 is missing: sudo apt-get install python3 python3-venv"
fi
PY_MINOR="${PYVER#*.}"
[ "${PYVER%%.*}" = 3 ] && [ "$PY_MINOR" -ge 11 ] ||
  die "bedside needs Python 3.11 or newer (Bookworm has 3.11, Trixie 3.13); found $PYVER"
# What bedside cannot promise, refused before anything is installed (hardware.md's table).
if [ "$ARCH" = armhf ] && [ "$PY_MINOR" -lt 13 ]; then
  die "32-bit Bookworm is not supported: Debian 12's scipy (1.10) and statsmodels (0.13) are older than bedside needs (scipy>=1.11, statsmodels>=0.14) and PyPI has no 32-bit ARM wheels (--allow-build cannot build scipy); install the 64-bit Raspberry Pi OS (any Pi 3, 4, 5 or Zero 2 W), or 32-bit Trixie"
fi
if [ -z "$ROOT" ] && [ "$(uname -m)" = armv6l ]; then
  die "ARMv6 (Pi Zero W, Pi 1) is not supported: no tested Python stack runs there; use a Pi Zero 2 W, 3, 4 or 5 with the 64-bit Raspberry Pi OS"
fi
IS_PI=0
if grep -qi "raspberry pi" "$ROOT/proc/device-tree/model" 2>/dev/null; then IS_PI=1; fi
if [ -z "$DRIVER" ]; then
  if [ "$IS_PI" -eq 1 ]; then DRIVER=kernel; else DRIVER=auto; fi
fi
say "target: $ARCH, Python $PYVER, sensor $SENSOR, driver $DRIVER"

# 1. Debian packages, and what pip takes from PyPI
PACKAGES=("${BASE_PACKAGES[@]}")
[ "$REMOTE_BROKER" -eq 1 ] || PACKAGES+=("${BROKER_PACKAGES[@]}")
# bedside[gpio] is gpiozero's lgpio; bedside[pi] adds Blinka, adafruit_dht and gpiod.
EXTRAS=gpio
if [ "$SENSOR" != simulated ] && [ "$DRIVER" != kernel ]; then EXTRAS=pi; fi
COMPILE=()        # packages pip may compile (--allow-build only)
if apt_has python3-lgpio; then
  PACKAGES+=(python3-lgpio)                  # Raspberry Pi OS: any Python, no compiler
elif [ "$PY_MINOR" -ge 13 ] && [ "$SENSOR" != simulated ]; then
  # PyPI has lgpio wheels for Python <= 3.12 only (and a 0.0.0.2 stub that bedside refuses).
  [ "$ALLOW_BUILD" -eq 1 ] ||
    die "no lgpio for Python $PYVER here: PyPI has no wheel and this archive no python3-lgpio (Raspberry Pi OS has it); re-run with --allow-build to compile it (installs ${BUILD_PACKAGES[*]})"
  COMPILE+=(lgpio)
fi
if [ "$ARCH" = armhf ]; then
  for pkg in "${ARMHF_PACKAGES[@]}"; do if apt_has "$pkg"; then PACKAGES+=("$pkg"); fi; done
fi
if [ ${#COMPILE[@]} -gt 0 ]; then PACKAGES+=("${BUILD_PACKAGES[@]}"); fi
# Compiled packages come as binaries only, unless a build was allowed for them.
ONLY_BINARY=(lgpio gpiod sysv_ipc numpy scipy statsmodels pandas)
if [ ${#COMPILE[@]} -gt 0 ]; then
  keep=()
  for pkg in "${ONLY_BINARY[@]}"; do [[ " ${COMPILE[*]} " == *" $pkg "* ]] || keep+=("$pkg"); done
  ONLY_BINARY=("${keep[@]}")
fi
ONLY_BINARY_ARG="$(IFS=,; echo "${ONLY_BINARY[*]}")"
if [ -n "$ROOT" ]; then
  echo "would run: apt-get install ${PACKAGES[*]}"
else
  apt_install "${PACKAGES[@]}"
fi

# 2. the service user, in group gpio (created with a udev rule where the OS has none)
say "service user $SERVICE_USER"
# The udev rule first, whenever the OS has none of its own: a run that failed after groupadd
# writes it the next time.
GPIO_NEW=0
group_exists gpio || GPIO_NEW=1
if [ -z "$(os_gpio_rule)" ]; then
  RULE_TMP="$(mktemp)"
  echo '# bedside: let group gpio use the GPIO character devices (Raspberry Pi OS ships its own rule)' >"$RULE_TMP"
  if [ "$GPIO_NEW" -eq 1 ] || grep -qsxF "$GPIO_MARK" "$ROOT$UDEV_RULE"; then echo "$GPIO_MARK" >>"$RULE_TMP"; fi
  echo 'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' >>"$RULE_TMP"
  RULE_CHANGED="$CHANGED"; CHANGED=0
  put_file "$RULE_TMP" "$UDEV_RULE" 644
  rm -f "$RULE_TMP"
  if [ "$CHANGED" -eq 1 ] && [ -z "$ROOT" ]; then
    { udevadm control --reload-rules && udevadm trigger --subsystem-match=gpio; } 2>/dev/null || true
  fi
  [ "$RULE_CHANGED" -eq 0 ] || CHANGED=1
fi
if [ "$GPIO_NEW" -eq 1 ]; then
  run groupadd --system gpio
  CHANGED=1
fi
if [ -n "$ROOT" ]; then
  echo "would run: useradd --system --user-group --home-dir $STATE_DIR --no-create-home --shell /usr/sbin/nologin $SERVICE_USER; usermod -a -G gpio $SERVICE_USER"
else
  if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
    CHANGED=1
  fi
  if ! id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx gpio; then
    usermod -a -G gpio "$SERVICE_USER"
    CHANGED=1
  fi
  # The person who ran sudo may use `bedside cramp` and `bedside doctor` (after re-login).
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] &&
     ! id -nG "$SUDO_USER" | tr ' ' '\n' | grep -qx "$SERVICE_USER"; then
    usermod -a -G "$SERVICE_USER" "$SUDO_USER"
    echo "    added $SUDO_USER to group $SERVICE_USER (log in again to use it)"
    CHANGED=1
  fi
fi

# 3. the program: a venv with bedside[pi], rebuilt only when the source changed
put_dir "$PREFIX" 755
put_dir "$PREFIX/docs" 755
for doc in hardware.md docs/operations.md; do
  if [ -f "$REPO/$doc" ]; then put_file "$REPO/$doc" "$PREFIX/docs/$(basename "$doc")" 644; fi
done
PIP_INSTALL=(-m pip install -q --disable-pip-version-check --only-binary "$ONLY_BINARY_ARG")
if [ "$NO_VENV" -eq 1 ]; then
  echo "    skipped the virtual environment (--no-venv)"
  if [ -n "$ROOT" ]; then
    echo "would run: python3 -m venv --system-site-packages $VENV"
    if [[ " ${COMPILE[*]} " == *" lgpio "* ]]; then
      echo "would run: PYPI=1 $VENV/bin/python ${PIP_INSTALL[*]} --no-binary lgpio 'lgpio>=0.2.2,<0.3'"
    fi
    echo "would run: $VENV/bin/python ${PIP_INSTALL[*]} bedside[$EXTRAS]"
  fi
else
  HASH="$(source_hash) bedside[$EXTRAS]"   # --driver blinka after kernel adds bedside[pi]
  STAMP="$ROOT$VENV/.bedside-source"
  if [ ! -x "$ROOT$VENV/bin/python" ]; then
    say "creating $VENV"
    # system site packages: Raspberry Pi OS's python3-lgpio, and on 32-bit Debian's
    # python3-libgpiod / numpy / scipy / statsmodels, stand in for missing wheels
    python3 -m venv --system-site-packages "$ROOT$VENV"
    CHANGED=1
  fi
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
    say "installing bedside[$EXTRAS] into $VENV"
    BUILD="$(mktemp -d)"
    trap 'rm -rf "$BUILD"' EXIT
    # build from a copy: no root-owned build/ or *.egg-info in the git checkout
    for path in pyproject.toml README.md monitor web; do
      if [ -e "$REPO/$path" ]; then cp -r "$REPO/$path" "$BUILD"/; fi
    done
    if [[ " ${COMPILE[*]} " == *" lgpio "* ]]; then
      # PYPI=1 links liblgpio in statically (its setup.py); swig generates the binding.
      PYPI=1 "$ROOT$VENV/bin/python" "${PIP_INSTALL[@]}" --no-binary lgpio 'lgpio>=0.2.2,<0.3'
    fi
    "$ROOT$VENV/bin/python" "${PIP_INSTALL[@]}" "${BUILD}[$EXTRAS]"
    "$ROOT$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$BUILD"
    echo "$HASH" >"$STAMP"
    CHANGED=1
  fi
fi
if [ "$(readlink "$ROOT$BIN_LINK" 2>/dev/null)" != "$VENV/bin/bedside" ]; then
  mkdir -p "$(dirname "$ROOT$BIN_LINK")"
  ln -sfn "$VENV/bin/bedside" "$ROOT$BIN_LINK"
  echo "    linked $BIN_LINK"
  CHANGED=1
fi

# 4. config (never overwritten) and the data directory
put_dir "$CONF_DIR" 750 "root:$SERVICE_USER"
put_dir "$STATE_DIR" 770 "$SERVICE_USER:$SERVICE_USER"
if [ -e "$ROOT$CONFIG" ]; then
  say "keeping the existing $CONFIG"
else
  say "writing $CONFIG (sensor: $SENSOR)"
  TMP_CONF="$(mktemp)"
  sed -e "s/^kind = \"simulated\"/kind = \"$SENSOR\"/" \
      -e "s/^driver = \"auto\"/driver = \"$DRIVER\"/" \
      -e "s|^# database = \"/var/lib/bedside/bedside.db\"|database = \"$STATE_DIR/bedside.db\"|" \
      "$REPO/monitor/config.example.toml" >"$TMP_CONF"
  if [ "$SENSOR" != simulated ]; then
    sed -i -e 's/^# pin = 27$/pin = 27/' "$TMP_CONF"   # the LED of hardware.md
  fi
  if [ -n "$MQTT_HOST" ]; then
    sed -i -e "s/^host = \"localhost\"/host = \"$MQTT_HOST\"/" "$TMP_CONF"
  fi
  grep -q "^kind = \"$SENSOR\"" "$TMP_CONF" || die "could not set the sensor kind in the example config"
  grep -q "^driver = \"$DRIVER\"" "$TMP_CONF" || die "could not set the sensor driver in the example config"
  install -m 640 "$TMP_CONF" "$ROOT$CONFIG"
  rm -f "$TMP_CONF"
  run chown "root:$SERVICE_USER" "$CONFIG"
  CHANGED=1
  if [ -z "$ROOT" ] && [ -x "$VENV/bin/bedside" ]; then
    "$VENV/bin/bedside" --config "$CONFIG" config check
  fi
fi

# 5. the kernel driver's overlay (loaded at the next boot)
if [ "$SENSOR" != simulated ] && [ "$DRIVER" = kernel ]; then
  add_overlay "$(config_pin "$ROOT$CONFIG")"
fi

# 6. the units
say "systemd units"
for unit in "${UNITS[@]}"; do
  put_file "$REPO/systemd/$unit" "$UNIT_DIR/$unit" 644
done

# 7. smoke test: import the configured driver stack as the service will: the same venv,
# user and Environment= lines (LG_WD: a scratch directory, as /run/bedside exists only
# while the unit runs).
SMOKE_ENV=()
while IFS= read -r line; do
  SMOKE_ENV+=("${line#Environment=}")
done < <(grep '^Environment=' "$REPO/systemd/bedside-monitor.service")
SMOKE=(env -i PATH=/usr/bin:/bin "${SMOKE_ENV[@]}")
if [ -n "$ROOT" ]; then
  echo "would run: smoke test as $SERVICE_USER: ${SMOKE[*]} LG_WD=<scratch> $VENV/bin/python -m monitor.cli.smoke --config $CONFIG"
elif [ "$NO_VENV" -eq 1 ]; then
  echo "    skipped the smoke test (--no-venv)"
else
  say "smoke test: importing the sensor and GPIO stack as $SERVICE_USER"
  SCRATCH="$(mktemp -d)"
  chown "$SERVICE_USER" "$SCRATCH"
  if ! (cd "$SCRATCH" && runuser -u "$SERVICE_USER" -- "${SMOKE[@]}" LG_WD="$SCRATCH" HOME="$SCRATCH" \
        "$VENV/bin/python" -m monitor.cli.smoke --config "$CONFIG"); then
    rm -rf "$SCRATCH"
    die "the smoke test failed (the lines above say why and how to fix it): bedside-monitor would not work; fix it and run this script again"
  fi
  rm -rf "$SCRATCH"
fi

# 8. enable and start (restart when anything changed: an upgrade migrates on start)
if systemd_booted; then
  run systemctl daemon-reload
  run systemctl enable "${ENABLE[@]}"
  if [ "$CHANGED" -eq 1 ]; then
    run systemctl restart bedside-monitor.service bedside-web.service
  fi
  run systemctl start "${ENABLE[@]}"
else
  enable_offline "${ENABLE[@]}"
  say "systemd is not running here (a chroot, a container or an image build): enabled ${ENABLE[*]} offline; they start at the next boot"
fi
if [ "$REBOOT_NEEDED" -eq 1 ]; then
  say "REBOOT NEEDED: the dht11 overlay loads at boot (sudo reboot); until then the monitor retries the sensor and the button works"
fi
if [ -z "$ROOT" ]; then
  say "done. Check the install with: bedside doctor   (logs: journalctl -u bedside-monitor)"
else
  say "done: files written under $ROOT"
fi
