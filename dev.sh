#!/usr/bin/env bash
# Witness Kiosk set-up and entry points. Usage:
#   ./dev.sh serve   install everything, then serve the demo at http://127.0.0.1:5000
#   ./dev.sh test    install everything, then run the whole test suite
#   ./dev.sh setup   install only
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
VENV=${KIOSK_VENV:-.venv}
# Debian packages the kiosk needs at run time / for tests.
RUNTIME_DEBS="espeak-ng libespeak-ng1 ffmpeg"
TEST_DEBS="chromium sox nodejs fonts-wqy-microhei"

need_debs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo ">> installing Debian packages: ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
}

setup_python() {
  command -v "$PY" >/dev/null || PY=python3
  "$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 11), sys.version' 2>/dev/null || {
    echo "Python 3.11 is required (found: $("$PY" --version 2>&1)). Install python3.11 and python3.11-venv." >&2
    exit 1
  }
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV" || { echo "Could not create a venv: install python3-venv." >&2; exit 1; }
  fi
  local stamp="$VENV/.kiosk-installed" want
  want=$(cat pyproject.toml requirements-nodeps.txt | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo ">> installing Python packages into $VENV (first run takes a few minutes)"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[test]"
    # Packages whose own dependencies would clash or pull torch: see requirements-nodeps.txt.
    "$VENV/bin/pip" install -q --no-deps -r requirements-nodeps.txt
    echo "$want" > "$stamp"
  fi
}

cmd=${1:-serve}
shift || true
case "$cmd" in
  setup)
    need_debs $RUNTIME_DEBS $TEST_DEBS
    setup_python
    ;;
  serve)
    need_debs $RUNTIME_DEBS
    setup_python
    exec "$VENV/bin/kiosk" serve --demo "$@"
    ;;
  test)
    need_debs $RUNTIME_DEBS $TEST_DEBS
    setup_python
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh serve|test|setup [args]" >&2
    exit 2
    ;;
esac
