#!/usr/bin/env bash
# Install the Debian packages the phone's tests and demo need, if any are missing.
# As root it installs them; otherwise it prints the command to run and fails.
set -euo pipefail

PACKAGES=(
  libasound2-dev        # pyalsaaudio builds against it ...
  gcc libc6-dev python3-dev   # ... from source (PyPI has no wheel): a compiler and Python.h
  libasound2-plugins    # ALSA pulse plugin
  pulseaudio pulseaudio-utils
  socat                 # serial cables between the HIL suite and the sim phone
  kamailio              # SIP registrar/proxy for the integration tests and the demo
  kamailio-tls-modules  # ... and its SIP over TLS (the lab's calls are TLS + SRTP)
  kamailio-sqlite-modules  # ... and SQLite: it routes personal calls from ccsim's database
  tcpdump               # a test captures the loopback: no SIP or audio crosses in clear
  sip-tester            # SIPp: the INVITE flood benchmark's caller (tools/bench/flood.py)
  chromium              # browser tests of the virtual board page (driven by Playwright)
  fonts-dejavu-core     # LCD renders
  libspeexdsp1          # echo cancellation and noise removal (firmware/audio/speex.py)
  libspandsp2           # packet loss concealment (firmware/audio/spandsp.py)
  espeak-ng sox         # speech for the voice cleanup tests and bench (tools/speech.py)
  systemd               # systemd-analyze verify checks deploy/hardphone.service (a container
                        # image has no systemd; installing it starts nothing)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
