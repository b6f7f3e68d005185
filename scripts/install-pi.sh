#!/usr/bin/env bash
# Install bedside as a service on a Raspberry Pi (Raspberry Pi OS Bookworm / Debian 12).
#
#   sudo ./scripts/install-pi.sh                  install or upgrade, enable, start
#   sudo ./scripts/install-pi.sh --uninstall      remove program + units, keep data + config
#   sudo ./scripts/install-pi.sh --uninstall --purge   ... and the data, config and user
#   ./scripts/install-pi.sh --root DIR --no-venv  write every file under DIR, run nothing
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
UNITS=(bedside-monitor.service bedside-web.service bedside-report.service bedside-report.timer bedside-recorder.service)
ENABLE=(bedside-monitor.service bedside-web.service bedside-report.timer)

ROOT=""
SENSOR=dht22
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
  --remote-broker     do not install mosquitto (use a broker on another machine)
  --mqtt-host HOST    the broker's host for a new config (implies --remote-broker)
  --uninstall         stop and remove the program and the units; keep the data
                      (/var/lib/bedside) and the config (/etc/bedside)
  --purge             with --uninstall: also delete the data, the config and the user
  --root DIR          write every file under DIR and only print the apt-get,
                      useradd and systemctl commands it would run (for tests and
                      image builders)
  --no-venv           skip creating the virtual environment (with --root: fast)
  -h, --help          this text
EOF
}

die() { echo "install-pi: $*" >&2; exit 1; }
say() { echo "==> $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --sensor) [ $# -ge 2 ] || die "--sensor needs a value"; SENSOR="$2"; shift 2 ;;
    --sensor=*) SENSOR="${1#*=}"; shift ;;
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

apt_has() { apt-cache show "$1" >/dev/null 2>&1; }

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  CHANGED=1
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
  local unit
  for unit in "${UNITS[@]}"; do
    run systemctl disable --now "$unit" 2>/dev/null || true
    if [ -e "$ROOT$UNIT_DIR/$unit" ]; then rm -f "$ROOT$UNIT_DIR/$unit"; echo "    removed $UNIT_DIR/$unit"; fi
    if [ -d "$ROOT$UNIT_DIR/$unit.d" ]; then rm -rf "$ROOT$UNIT_DIR/$unit.d"; echo "    removed $UNIT_DIR/$unit.d"; fi
  done
  run systemctl daemon-reload
  if [ -L "$ROOT$BIN_LINK" ]; then rm -f "$ROOT$BIN_LINK"; echo "    removed $BIN_LINK"; fi
  if [ -e "$ROOT$UDEV_RULE" ]; then rm -f "$ROOT$UDEV_RULE"; echo "    removed $UDEV_RULE"; fi
  if [ -d "$ROOT$PREFIX" ]; then rm -rf "$ROOT$PREFIX"; echo "    removed $PREFIX"; fi
  if [ "$PURGE" -eq 1 ]; then
    say "purging data, config and the $SERVICE_USER user"
    rm -rf "$ROOT$STATE_DIR" "$ROOT$CONF_DIR"
    echo "    removed $STATE_DIR and $CONF_DIR"
    if [ -n "$ROOT" ] || id "$SERVICE_USER" >/dev/null 2>&1; then run userdel "$SERVICE_USER"; fi
  else
    say "kept the data in $STATE_DIR and the config in $CONF_DIR (--purge deletes them)"
  fi
}

if [ "$UNINSTALL" -eq 1 ]; then
  uninstall
  exit 0
fi

# -- install -----------------------------------------------------------------------

# 1. Debian packages
PACKAGES=(python3 python3-venv git libgpiod2)
[ "$REMOTE_BROKER" -eq 1 ] || PACKAGES+=(mosquitto mosquitto-clients)
if [ -n "$ROOT" ]; then
  echo "would run: apt-get install ${PACKAGES[*]} python3-lgpio (where available)"
else
  # python3-lgpio and liblgpio1 come from the Raspberry Pi OS archive.
  for pkg in python3-lgpio liblgpio1; do apt_has "$pkg" && PACKAGES+=("$pkg"); done
  apt_install "${PACKAGES[@]}"
  python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null ||
    die "bedside needs Python 3.11 or newer (Raspberry Pi OS Bookworm has it)"
fi

# 2. the service user, in group gpio (created with a udev rule where the OS has none)
say "service user $SERVICE_USER"
if [ -n "$ROOT" ]; then
  echo "would run: groupadd --system gpio (if missing) + udev rule for /dev/gpiochip*"
  echo "would run: useradd --system --user-group --home-dir $STATE_DIR --no-create-home --shell /usr/sbin/nologin $SERVICE_USER; usermod -a -G gpio $SERVICE_USER"
else
  if ! getent group gpio >/dev/null; then
    groupadd --system gpio
    printf '%s\n' '# bedside: let group gpio use the GPIO character devices (Raspberry Pi OS ships its own rule)' \
      'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"' >"$UDEV_RULE"
    { udevadm control --reload-rules && udevadm trigger --subsystem-match=gpio; } 2>/dev/null || true
    CHANGED=1
  fi
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
if [ "$NO_VENV" -eq 1 ]; then
  echo "    skipped the virtual environment (--no-venv)"
else
  HASH="$(source_hash)"
  STAMP="$ROOT$VENV/.bedside-source"
  if [ ! -x "$ROOT$VENV/bin/python" ]; then
    say "creating $VENV"
    # system site packages: python3-lgpio from Raspberry Pi OS satisfies bedside[pi]
    python3 -m venv --system-site-packages "$ROOT$VENV"
    CHANGED=1
  fi
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
    say "installing bedside[pi] into $VENV"
    BUILD="$(mktemp -d)"
    trap 'rm -rf "$BUILD"' EXIT
    # build from a copy: no root-owned build/ or *.egg-info in the git checkout
    for path in pyproject.toml README.md monitor web; do
      if [ -e "$REPO/$path" ]; then cp -r "$REPO/$path" "$BUILD"/; fi
    done
    "$ROOT$VENV/bin/python" -m pip install -q --disable-pip-version-check "${BUILD}[pi]"
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
      -e "s|^# database = \"/var/lib/bedside/bedside.db\"|database = \"$STATE_DIR/bedside.db\"|" \
      "$REPO/monitor/config.example.toml" >"$TMP_CONF"
  if [ "$SENSOR" != simulated ]; then
    sed -i -e 's/^# pin = 27$/pin = 27/' "$TMP_CONF"   # the LED of hardware.md
  fi
  if [ -n "$MQTT_HOST" ]; then
    sed -i -e "s/^host = \"localhost\"/host = \"$MQTT_HOST\"/" "$TMP_CONF"
  fi
  grep -q "^kind = \"$SENSOR\"" "$TMP_CONF" || die "could not set the sensor kind in the example config"
  install -m 640 "$TMP_CONF" "$ROOT$CONFIG"
  rm -f "$TMP_CONF"
  run chown "root:$SERVICE_USER" "$CONFIG"
  CHANGED=1
  if [ -z "$ROOT" ] && [ -x "$VENV/bin/bedside" ]; then
    "$VENV/bin/bedside" --config "$CONFIG" config check
  fi
fi

# 5. the units
say "systemd units"
for unit in "${UNITS[@]}"; do
  put_file "$REPO/systemd/$unit" "$UNIT_DIR/$unit" 644
done

# 6. enable and start (restart when anything changed: an upgrade migrates on start)
run systemctl daemon-reload
run systemctl enable "${ENABLE[@]}"
if [ "$CHANGED" -eq 1 ]; then
  run systemctl restart bedside-monitor.service bedside-web.service
fi
run systemctl start "${ENABLE[@]}"
if [ -z "$ROOT" ]; then
  say "done. Check the install with: bedside doctor   (logs: journalctl -u bedside-monitor)"
else
  say "done: files written under $ROOT"
fi
