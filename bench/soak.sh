#!/usr/bin/env bash
# Soak: `mlfaas serve` under 18 closed-loop users for DURATION seconds (default 600), the alias
# flipped every 30 s and a busy worker SIGKILLed every 60 s. Pass: no unexpected errors (only the
# killed invocations fail, each a typed 502 Runtime.ExitError), gateway RSS grows < 5 % after the
# warm-up, no fd / process / cgroup leak (instances idle 20 s are reaped; once all are, fds,
# children and cgroups are back to the baseline taken before the load), the function's log within
# --log-retention-mb.
# Usage: bench/soak.sh [DURATION_S] [RETENTION_MB]   (not part of CI; needs a built build/)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-600}
RETENTION=${2:-16}
B=$PWD/build/bin/mlfaas
[ -x "$B" ] || { echo "soak: build first (bash scripts/build.sh)" >&2; exit 1; }
HOME_DIR=$(mktemp -d /tmp/mlfaas-soak.XXXXXX)
trap 'kill $GW 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$HOME_DIR"' EXIT
"$B" --home "$HOME_DIR" train --data data/kdd99-http.csv.gz --out "$HOME_DIR/kdd.zip" >/dev/null
"$B" --home "$HOME_DIR" function create kdd --package "$HOME_DIR/kdd.zip" >/dev/null
"$B" --home "$HOME_DIR" function publish kdd >/dev/null
"$B" --home "$HOME_DIR" function update-config kdd --memory 256 >/dev/null
"$B" --home "$HOME_DIR" function publish kdd >/dev/null
"$B" --home "$HOME_DIR" alias create kdd live --version 2 >/dev/null
"$B" --home "$HOME_DIR" serve --port 0 --log-retention-mb "$RETENTION" --idle-timeout 20 >"$HOME_DIR/serve.log" 2>&1 &
GW=$!
for _ in $(seq 200); do
  PORT=$(grep -oE 'listening on http://127.0.0.1:[0-9]+' "$HOME_DIR/serve.log" | head -1 | grep -oE '[0-9]+$' || true)
  [ -n "$PORT" ] && break
  sleep 0.05
done
[ -n "${PORT:-}" ] || { echo "soak: gateway did not start" >&2; cat "$HOME_DIR/serve.log" >&2; exit 1; }
echo "soak: gateway pid $GW on port $PORT, $DURATION s, retention $RETENTION MB" >&2
python3 bench/soak.py --port "$PORT" --gateway-pid "$GW" --mlfaas "$B" --home "$HOME_DIR" \
  --duration "$DURATION" --retention-mb "$RETENTION" --idle-timeout 20
