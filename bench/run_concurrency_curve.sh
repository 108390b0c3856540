#!/usr/bin/env bash
# The scaling curve of the warm invoke path, 4 to 256 connections (wrk -t2), every contender in
# this one invocation, alternating per point:
#   n1      mlfaas, one invocation per instance (Lambda's default model), 512 MB
#   n16     mlfaas, 16 invocations per instance (pipelined worker protocol), 3538 MB (2 vCPUs)
#   n16-r100  as n16 with --reserved-concurrency 100: 429 beyond 100 concurrent invocations
#   nginx   a fixed JSON body (../shared/peers/nginx.conf)
# The gateway runs with the default --max-instances 64: n1 reaches its limit at 64 connections
# (429 beyond), n16 does not (64 x 16). Prints one table: req/s, p99 and non-2xx per point.
# Usage: bench/run_concurrency_curve.sh [seconds-per-point] ; env PEERS_DIR, BUILD, CONNS
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
D=${1:-5}
BUILD=${BUILD:-$ROOT/build}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
CONNS=${CONNS:-"4 8 18 32 64 128 256"}
BIN=$BUILD/bin/mlfaas
[ -x "$BIN" ] || bash scripts/build.sh
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export MLFAAS_HOME=$TMP/home
BODY=$TMP/body.lua
cat >"$BODY" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450}]}'
LUA
[ -f "$PEERS_DIR/body.lua" ] && BODY=$PEERS_DIR/body.lua
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "curve: $1 never came up" >&2; return 1; }
ulimit -n 65536 2>/dev/null || true

"$BIN" train --data data/kdd99-http.csv.gz --out "$TMP/kdd.zip" >/dev/null
"$BIN" function create n1 --package "$TMP/kdd.zip" >/dev/null
"$BIN" function create n16 --package "$TMP/kdd.zip" --memory 3538 --max-concurrency-per-instance 16 >/dev/null
"$BIN" function create n16-r100 --package "$TMP/kdd.zip" --memory 3538 --max-concurrency-per-instance 16 \
  --reserved-concurrency 100 >/dev/null
"$BIN" serve --port 18190 >"$TMP/serve.log" 2>&1 & PIDS+=($!)
wait_http http://127.0.0.1:18190/v2/health/live
if [ -f "$PEERS_DIR/nginx.conf" ]; then
  sed "s#/tmp/peers-nginx#$TMP/nginx#g" "$PEERS_DIR/nginx.conf" >"$TMP/nginx.conf"
  nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" & PIDS+=($!)
  wait_http http://127.0.0.1:18080/
fi
url() { echo "http://127.0.0.1:18190/2015-03-31/functions/$1/invocations"; }
for f in n1 n16 n16-r100; do curl -s -o /dev/null -X POST "$(url $f)" -d '{"duration":0,"src_bytes":1,"dst_bytes":1}'; done

point() {  # name url conns -> "name conns rps p99_ms non2xx"
  wrk -t2 -c"$3" -d"${D}s" --latency -s "$BODY" "$2" >"$TMP/w" 2>&1 || true
  awk -v n="$1" -v c="$3" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ {rps=$2} / 99%/ {p99=ms($2)} /Non-2xx/ {bad=$NF}
    END {printf "%s %d %.0f %.3f %d\n", n, c, rps, p99, bad}' "$TMP/w"
}
for c in $CONNS; do
  echo "== $c connections" >&2
  point n1 "$(url n1)" "$c" >>"$TMP/points"
  point n16 "$(url n16)" "$c" >>"$TMP/points"
  point n16-r100 "$(url n16-r100)" "$c" >>"$TMP/points"
  [ -f "$TMP/nginx.conf" ] && point nginx http://127.0.0.1:18080/ "$c" >>"$TMP/points"
done
inst=$(curl -s http://127.0.0.1:18190/v1/status | grep -o '"live_instances": *[0-9]*' | grep -o '[0-9]*$')
echo
echo "machine: $(nproc) cores, $(uname -r); date: $(date -u +%FT%TZ); ${D} s per point; live instances at the end: ${inst:-?}"
printf '%-6s' conns; for n in n1 n16 n16-r100 nginx; do printf ' %28s' "$n req/s p99ms non2xx"; done; echo
for c in $CONNS; do
  printf '%-6s' "$c"
  for n in n1 n16 n16-r100 nginx; do
    awk -v n="$n" -v c="$c" '$1==n && $2==c {printf " %12s %8s %6s", $3, $4, $5; f=1} END {if (!f) printf " %28s", "-"}' "$TMP/points"
  done
  echo
done
awk '$1=="nginx" {ng[$2]=$3} $1=="n1" {a[$2]=$3} $1=="n16" {b[$2]=$3}
     END {for (c in ng) if (ng[c] > 0) printf "ratio to nginx at %s connections: n1 %.2fx, n16 %.2fx\n", c, a[c]/ng[c], b[c]/ng[c]}' "$TMP/points" | sort -t' ' -k5 -n
