#!/usr/bin/env bash
# Install the desk phone on a fresh Raspberry Pi OS card (bookworm, aarch64), as an appliance.
# Run once as root from the project's source tree; running it again is harmless (idempotent):
#
#   deploy/install.sh --image FILE [--key PUBKEY] [--config FILE] [--wheels DIR] [--no-apt]
#                     [--board rpi4]
#
#   --image FILE    a signed full firmware image (python -m tools.mkimage build): slot a
#   --key PUBKEY    the public key that verifies it, and every update after it
#                   (default: the dev key keys/dev-ed25519.pub.pem, with a warning)
#   --config FILE   the phone's config, installed as /etc/hardphone.toml (mode 0600) unless
#                   one is there already (never overwritten); default: deploy/hardphone.toml
#   --wheels DIR    pip installs offline from DIR (--no-index --find-links DIR); else PyPI
#   --no-apt        the Debian packages (deploy/packages.txt) are there already
#   --board NAME    the board (board/NAME/board.toml); default rpi4
#
# What it does, and why: docs/pi.md. HARDPHONE_ROOT=DIR (tests only) puts every file under
# DIR instead of / and starts nothing; HARDPHONE_TEST_PYTHON=EXE (with it) stands in for
# the venv's interpreter, so no pip install runs.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
R=${HARDPHONE_ROOT:-}

USER_NAME=hardphone
DEVICE_GROUPS=(gpio i2c dialout audio)
VENV=/opt/hardphone/venv
STATE=/var/lib/hardphone
UPDATE=$STATE/update
CONFIG=/etc/hardphone.toml
KEY_DIR=/etc/hardphone
KEY_DEST=$KEY_DIR/update-key.pem
UNIT=/etc/systemd/system/hardphone.service
UDEV_RULES=/etc/udev/rules.d/60-hardphone.rules
TIMESYNCD_DROPIN=/etc/systemd/timesyncd.conf.d/hardphone.conf

image="" key="" config="" wheels="" apt=1 board=rpi4
warnings=()       # said again at the end

say() { printf 'install: %s\n' "$*"; }
warn() { printf 'install: WARNING: %s\n' "$*" >&2; warnings+=("$*"); }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=${2:?--image needs a file}; shift 2 ;;
    --key) key=${2:?--key needs a file}; shift 2 ;;
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --wheels) wheels=${2:?--wheels needs a directory}; shift 2 ;;
    --no-apt) apt=0; shift ;;
    --board) board=${2:?--board needs a name}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) printf 'install: unknown argument: %s\n\n' "$1" >&2; usage 2 ;;
  esac
done

[ -n "$image" ] || die "--image FILE is required (a signed full image: python -m tools.mkimage build)"
[ -f "$image" ] || die "--image $image: no such file"
image=$(readlink -f "$image")
[ -f "$SRC/board/$board/board.toml" ] || die "--board $board: no board/$board/board.toml in $SRC"
if [ -z "$key" ] && [ -f "$R$KEY_DEST" ]; then
  key=$R$KEY_DEST                          # installed before: never swapped for the dev key
elif [ -z "$key" ]; then
  key=$SRC/keys/dev-ed25519.pub.pem
  [ -f "$key" ] || die "--key PUBKEY is required (no dev key at $key)"
  warn "no --key: using the DEV key $key; production phones take the release key"
fi
[ -f "$key" ] || die "--key $key: no such file"
key=$(readlink -f "$key")
if [ -n "$config" ]; then
  [ -f "$config" ] || die "--config $config: no such file"
  config=$(readlink -f "$config")
fi
if [ -n "$wheels" ]; then
  [ -d "$wheels" ] || die "--wheels $wheels: no such directory"
  wheels=$(readlink -f "$wheels")
fi
if [ -n "$R" ]; then
  [[ "$R" = /* ]] || die "HARDPHONE_ROOT must be an absolute path"
  mkdir -p "$R"
fi

is_root() { [ "$(id -u)" -eq 0 ]; }
is_root || [ -n "$R" ] || die "run as root (sudo $0 ...)"
prefix=()                                  # useradd & co. work on $R/etc when staging
root_opt=()                                # systemctl works on $R offline when staging
if [ -n "$R" ]; then
  prefix=(--prefix "$R")
  root_opt=(--root="$R")
fi

# A running systemd we may talk to: not a chroot (the aarch64 test root), not a staging root.
live_system() {
  [ -z "$R" ] && [ -d /run/systemd/system ] || return 1
  ! { command -v systemd-detect-virt >/dev/null && systemd-detect-virt --quiet --chroot; }
}

# -- 1. Debian packages --------------------------------------------------------------------------
packages() { sed -e 's/#.*//' "$SRC/deploy/packages.txt" | tr -s ' \t' '\n' | sed '/^$/d'; }
if [ "$apt" = 1 ]; then
  [ -z "$R" ] || die "HARDPHONE_ROOT: pass --no-apt (apt installs into / only)"
  mapfile -t wanted < <(packages)
  say "apt-get install ${wanted[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${wanted[@]}"
else
  say "--no-apt: Debian packages not installed (deploy/packages.txt lists them)"
fi

# -- 2. the system user and its device groups ----------------------------------------------------
in_file() { grep -q "^$1:" "$R$2" 2>/dev/null; }
if is_root; then
  for g in "${DEVICE_GROUPS[@]}"; do
    in_file "$g" /etc/group || { groupadd "${prefix[@]}" --system "$g"; say "group $g created"; }
  done
  if ! in_file "$USER_NAME" /etc/passwd; then
    useradd "${prefix[@]}" --system --user-group --home-dir "$STATE" --no-create-home \
      --shell /usr/sbin/nologin --comment "hardphone desk phone" "$USER_NAME"
    say "user $USER_NAME created"
  fi
  usermod "${prefix[@]}" -a -G "$(IFS=,; echo "${DEVICE_GROUPS[*]}")" "$USER_NAME"
  owner=$(awk -F: -v u="$USER_NAME" '$1 == u { print $3 ":" $4 }' "$R/etc/passwd")
else
  owner=""
  warn "not root: no user $USER_NAME, files owned by $(id -un) (staging only)"
fi

# -- 3. the state directory: where everything the phone writes lives ------------------------------
install -d -m 0755 "$R/var/lib"
install -d -m 0750 "$R$STATE" "$R$UPDATE"
[ -z "$owner" ] || chown "$owner" "$R$STATE" "$R$UPDATE"
# It must be a filesystem of its own, not the root that the overlay makes forget.
persistent=staging
if [ -z "$R" ]; then
  fstype=$(findmnt -n -o FSTYPE --target "$STATE" 2>/dev/null || true)
  mountpoint=$(findmnt -n -o TARGET --target "$STATE" 2>/dev/null || true)
  if [ -z "$mountpoint" ]; then
    persistent=unknown
  elif [ "$fstype" = overlay ] || [ "$mountpoint" = / ]; then
    persistent=no
  else
    persistent=yes
  fi
fi

# -- 4. the venv: the launcher and the firmware's dependencies ------------------------------------
pip_from=()
[ -z "$wheels" ] || pip_from=(--no-index --find-links "$wheels")
if [ -n "${HARDPHONE_TEST_PYTHON:-}" ]; then
  [ -n "$R" ] || die "HARDPHONE_TEST_PYTHON is for tests, with HARDPHONE_ROOT"
  install -d "$R$VENV/bin"
  printf '#!/bin/sh\nexec %q "$@"\n' "$HARDPHONE_TEST_PYTHON" > "$R$VENV/bin/python"
  chmod 0755 "$R$VENV/bin/python"
  say "venv: $R$VENV/bin/python runs $HARDPHONE_TEST_PYTHON (test run: no pip)"
else
  if [ ! -x "$R$VENV/bin/python" ]; then
    python3 -m venv "$R$VENV"
    say "venv $VENV created"
  fi
  # The project, not editable: the launcher and tools.mkimage run from the venv, the
  # firmware itself from the slots. A wheel of it in --wheels is taken by name; else it is
  # built from this tree (offline, --wheels must then hold setuptools too).
  if [ -n "$wheels" ] && compgen -G "$wheels/hardphone-*.whl" >/dev/null; then
    target="hardphone[rpi]"
  else
    target="$SRC[rpi]"
  fi
  say "pip install $target ${pip_from[*]}"
  "$R$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade \
    "${pip_from[@]}" "$target"
fi
py="$R$VENV/bin/python"

# -- 5. the update root: slot a from the signed image --------------------------------------------
install -d -m 0755 "$R$KEY_DIR"
[ "$key" = "$(readlink -f "$R$KEY_DEST")" ] || install -m 0644 "$key" "$R$KEY_DEST"
if [ -e "$R$UPDATE/current" ] || [ -L "$R$UPDATE/current" ]; then
  slot_note="update root in use (current -> $(readlink "$R$UPDATE/current")): slots left alone (flash.sh updates them)"
  say "$slot_note"
else
  # tools.mkimage provision checks the signature, board and every file against the signed
  # manifest; the launcher points `current` at slot a on its first start (a new root).
  (cd "$SRC" && "$py" -m tools.mkimage provision --root "$R$UPDATE" --image "$image" \
      --slot a --board "$board" --key "$R$KEY_DEST")
  slot_note="slot a provisioned from $(basename "$image")"
fi
[ -z "$owner" ] || chown -R "$owner" "$R$STATE"

# -- 6. /etc/hardphone.toml (0600: PIN, SIP password) ---------------------------------------------
if [ -e "$R$CONFIG" ]; then
  config_note="$CONFIG kept as it was (never overwritten)"
  [ -z "$config" ] || warn "--config $config NOT installed: $CONFIG exists (edit it, or remove it first)"
else
  install -m 0600 "${config:-$SRC/deploy/hardphone.toml}" "$R$CONFIG"
  config_note="$CONFIG written from ${config:-deploy/hardphone.toml}"
fi
chmod 0600 "$R$CONFIG"
[ -z "$owner" ] || chown "$owner" "$R$CONFIG"
if ! (cd "$SRC" && "$py" -c 'import sys; from firmware.app.config import load_config; load_config(sys.argv[1])' "$R$CONFIG"); then
  warn "$CONFIG does not load (above): the phone will not start until it does"
fi
servers=$(cd "$SRC" && "$py" -c 'import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(" ".join(tomllib.load(f).get("time", {}).get("servers", [])))' "$R$CONFIG" 2>/dev/null || true)

# -- 7. devices: ALSA names, udev rules, I2C, the console UART ------------------------------------
install -d "$R/etc/udev/rules.d" "$R/etc/modules-load.d"
if [ -f "$SRC/board/$board/asound.conf" ]; then
  if [ -f "$R/etc/asound.conf" ] && ! cmp -s "$R/etc/asound.conf" "$SRC/board/$board/asound.conf" \
      && [ ! -e "$R/etc/asound.conf.before-hardphone" ]; then
    cp -p "$R/etc/asound.conf" "$R/etc/asound.conf.before-hardphone"
  fi
  install -m 0644 "$SRC/board/$board/asound.conf" "$R/etc/asound.conf"
fi
install -m 0644 "$SRC/deploy/60-hardphone.rules" "$R$UDEV_RULES"
printf '# the LCD on I2C bus 1 (hardphone)\ni2c-dev\n' > "$R/etc/modules-load.d/hardphone.conf"
boot_dir=""
for d in /boot/firmware /boot; do
  [ -f "$R$d/config.txt" ] && { boot_dir=$d; break; }
done
if [ -n "$boot_dir" ]; then
  # the LCD's I2C, and the PL011 UART on the header as /dev/ttyAMA0 (Bluetooth off it)
  for line in dtparam=i2c_arm=on enable_uart=1 dtoverlay=disable-bt; do
    grep -qx "$line" "$R$boot_dir/config.txt" || echo "$line" >> "$R$boot_dir/config.txt"
  done
  # the console UART is the phone's service console, not a login console
  [ ! -f "$R$boot_dir/cmdline.txt" ] || sed -i -E \
    's/ ?console=(serial0|ttyAMA0|ttyS0),[0-9]+//g' "$R$boot_dir/cmdline.txt"
  boot_note="$boot_dir/config.txt: I2C on, UART on ttyAMA0, Bluetooth off it (takes effect at reboot)"
else
  boot_note="no /boot/firmware/config.txt (not a Pi card): I2C/UART boot settings left alone"
fi
if command -v systemctl >/dev/null; then
  systemctl "${root_opt[@]}" mask serial-getty@ttyAMA0.service serial-getty@serial0.service \
    >/dev/null 2>&1 || true
  systemctl "${root_opt[@]}" disable hciuart.service >/dev/null 2>&1 || true
fi

# -- 8. time before trust: network time, and the last known time across reboots -----------------
install -d "$R/etc/systemd/timesyncd.conf.d" "$R/etc/default" \
  "$R/etc/systemd/system/fake-hwclock.service.d" "$R/etc/systemd/journald.conf.d"
{
  cat "$SRC/deploy/timesyncd.conf"
  [ -z "$servers" ] || printf 'NTP=%s\n' "$servers"
} > "$R$TIMESYNCD_DROPIN"
chmod 0644 "$R$TIMESYNCD_DROPIN"
time_note="NTP: ${servers:-DHCP option 42, else the Debian pool} (systemd-timesyncd)"
if [ -d "$R/etc/NetworkManager" ]; then     # Raspberry Pi OS bookworm: NetworkManager
  install -D -m 0755 "$SRC/deploy/nm-dhcp-ntp" "$R/etc/NetworkManager/dispatcher.d/50-hardphone-ntp"
fi
# fake-hwclock keeps its time where writes survive the read-only root
printf '# hardphone: kept on the persistent state partition (the root is read-only)\nFILE=%s/fake-hwclock.data\n' \
  "$STATE" > "$R/etc/default/fake-hwclock"
printf '[Unit]\nRequiresMountsFor=%s\n' "$STATE" \
  > "$R/etc/systemd/system/fake-hwclock.service.d/hardphone.conf"
# the journal in RAM: no log writes wear the card (the root is read-only anyway)
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' > "$R/etc/systemd/journald.conf.d/hardphone.conf"
if command -v systemctl >/dev/null; then
  for u in systemd-timesyncd.service fake-hwclock.service; do
    systemctl "${root_opt[@]}" enable "$u" >/dev/null 2>&1 \
      || warn "$u not enabled (is its package installed? deploy/packages.txt)"
  done
fi

# -- 9. the service ------------------------------------------------------------------------------
install -d "$R/etc/systemd/system" "$R/usr/share/doc/hardphone"
sed -e "s/--board rpi4/--board $board/" "$SRC/deploy/hardphone.service" > "$R$UNIT"
chmod 0644 "$R$UNIT"
install -m 0644 "$SRC/docs/pi.md" "$R/usr/share/doc/hardphone/pi.md"
if command -v systemctl >/dev/null; then
  systemctl "${root_opt[@]}" enable hardphone.service >/dev/null 2>&1 \
    || systemctl "${root_opt[@]}" enable hardphone.service
fi
if live_system; then
  udevadm control --reload && udevadm trigger --subsystem-match=gpio \
    --subsystem-match=i2c-dev --subsystem-match=tty || true
  systemctl daemon-reload
  systemctl restart systemd-timesyncd.service || warn "systemd-timesyncd did not start"
  systemctl restart hardphone.service
  service_note="hardphone.service enabled and (re)started: journalctl -u hardphone -f"
else
  service_note="hardphone.service enabled; not started (chroot or staging root): it starts at boot"
fi

# -- 10. read-only root ---------------------------------------------------------------------------
# Power is pulled, never shut down: the root filesystem is an overlay in RAM, only
# /var/lib/hardphone (its own partition) is written, with fsync + rename (docs/pi.md).
if [ "$persistent" = no ]; then
  overlay_note="NOT enabled: $STATE is on the root filesystem, which an overlay would make forget every write"
  warn "$STATE is not a filesystem of its own: mount a persistent partition there (docs/pi.md, \"Read-only root\"), then run this again to make the root read-only"
elif [ "$persistent" = unknown ] || ! live_system; then
  overlay_note="not enabled here (chroot or staging root): on the Pi, run this again there"
elif ! command -v raspi-config >/dev/null; then
  overlay_note="not enabled: no raspi-config (Raspberry Pi OS has it: raspi-config nonint do_overlayfs 0)"
  warn "the root filesystem stays writable: a pulled plug may corrupt it (docs/pi.md)"
else
  raspi-config nonint do_overlayfs 0
  overlay_note="enabled with raspi-config nonint do_overlayfs 0: the root is read-only from the next boot"
fi

# -- summary --------------------------------------------------------------------------------------
version=$(cd "$SRC" && "$py" -c 'import sys; from firmware.update.manifest import slot_version; print(slot_version(sys.argv[1]) or "?")' "$R$UPDATE/slots/a" 2>/dev/null || echo "?")
cat <<EOF

hardphone installed${R:+ under $R} (board $board)
  user        $USER_NAME, groups ${DEVICE_GROUPS[*]}
  venv        $VENV
  firmware    $UPDATE: $slot_note (version $version)
  image key   $KEY_DEST
  config      $config_note (mode 0600)
  devices     /etc/asound.conf, $UDEV_RULES, i2c-dev; $boot_note
  time        $time_note; fake-hwclock in $STATE
  service     $UNIT: $service_note
  state       $STATE (its own filesystem: $persistent)
  read-only   $overlay_note
EOF
if [ ${#warnings[@]} -gt 0 ]; then
  printf '\n%d warning(s):\n' "${#warnings[@]}"
  printf '  - %s\n' "${warnings[@]}"
fi
