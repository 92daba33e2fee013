#!/usr/bin/env bash
# Witness Kiosk set-up and entry points. Usage:
#   ./dev.sh serve   install everything, then serve the demo at http://127.0.0.1:5000
#   ./dev.sh test    install everything, then ruff, mypy and the whole test suite
#   ./dev.sh setup   install only
#   ./dev.sh cluster [down]   a local cluster on loopback: Redis, PostgreSQL, moto, two nodes
#                    and nginx (kiosk/testing/cluster.py); prints the balancer's URL
#                    (`./dev.sh cluster up --own-session`: each process in a session of its own)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
VENV=${KIOSK_VENV:-.venv}
# Debian packages the kiosk needs at run time / for tests.
RUNTIME_DEBS="espeak-ng libespeak-ng1 ffmpeg"
# postgresql, redis-server: tests start throw-away servers (kiosk.testing.postgres,
# kiosk.testing.redis); never on the serve path.
TEST_DEBS="chromium sox nodejs fonts-wqy-microhei nginx-light postgresql redis-server coturn"

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

# The voice vectors of the natural test voices (kiosk/testing/voices.py) ship only in the npm
# package kokoro-js (Apache-2.0); it is packed once into the venv and checked by its sha256.
KOKORO_JS=kokoro-js-1.2.1.tgz
KOKORO_JS_SHA256=1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860
setup_test_voices() {
  local dest="$VENV/share/$KOKORO_JS"
  if [ -f "$dest" ] && echo "$KOKORO_JS_SHA256  $dest" | sha256sum -c --quiet 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null || need_debs npm
  mkdir -p "$VENV/share"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent kokoro-js@1.2.1 >/dev/null)
  echo "$KOKORO_JS_SHA256  $tmp/$KOKORO_JS" | sha256sum -c --quiet || {
    echo "kokoro-js@1.2.1 from npm does not match its pinned sha256" >&2; exit 1; }
  mv "$tmp/$KOKORO_JS" "$dest"
  rm -rf "$tmp"
}

cmd=${1:-serve}
shift || true
case "$cmd" in
  setup)
    need_debs $RUNTIME_DEBS $TEST_DEBS
    setup_python
    setup_test_voices
    ;;
  serve)
    need_debs $RUNTIME_DEBS
    setup_python
    exec "$VENV/bin/kiosk" serve --demo --dev "$@"  # Werkzeug: the demo in one process
    ;;
  test)
    need_debs $RUNTIME_DEBS $TEST_DEBS
    setup_python
    echo "== ruff"
    "$VENV/bin/ruff" check kiosk tests
    echo "== mypy"
    "$VENV/bin/mypy" kiosk
    setup_test_voices
    echo "== pytest"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  cluster)
    need_debs $RUNTIME_DEBS nginx-light postgresql redis-server
    setup_python
    # Pid files, logs and the nodes' data under .cluster/ (KIOSK_CLUSTER_DIR), port 8080
    # (KIOSK_CLUSTER_PORT); `./dev.sh cluster down` stops exactly what `up` started.
    # `./dev.sh cluster stop-node NAME` / `start-node NAME` stop (drain) or start one node;
    # `./dev.sh cluster env` prints the settings kiosk commands need for this cluster.
    run=${KIOSK_CLUSTER_DIR:-.cluster}
    case "${1:-up}" in
      down|env|stop-node|start-node)
        cmd=$1; shift
        exec "$VENV/bin/python" -m kiosk.testing.cluster "$cmd" --run "$run" "$@"
        ;;
    esac
    [ "${1:-}" = up ] && shift
    # The processes stay in this terminal's session (nice ranks them against investors
    # started from here); `./dev.sh cluster up --own-session` puts each in a session of its own.
    exec "$VENV/bin/python" -m kiosk.testing.cluster up --run "$run" \
      --port "${KIOSK_CLUSTER_PORT:-8080}" "$@"
    ;;
  *)
    echo "usage: ./dev.sh serve|test|setup|cluster [up|down|env|stop-node NAME|start-node NAME] [args]" >&2
    exit 2
    ;;
esac
