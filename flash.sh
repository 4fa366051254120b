#!/usr/bin/env bash
# Field flashing: ./flash.sh PORT IMAGE  (see README "Field flashing").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$here/.venv/bin/python" ] || make -C "$here" setup >&2
exec "$here/.venv/bin/python" -m tools.flash "$@"
