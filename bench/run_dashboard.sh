#!/usr/bin/env bash
# What the dashboard costs the data plane, every contender measured in this one invocation:
#   (a) mlfaas Invoke under wrk -c18, nobody looking
#   (b) the same with the dashboard open 16 times over: 16 event streams
#       (GET /v1/dashboard/stream, a sample a second each) and a page's polling (the functions
#       table and one function's page, every second)
#   (c) nginx returning a fixed JSON body (../shared/peers), for scale
# Rounds alternate between the contenders (default 3); medians are shown. Then the latency of
# the dashboard's own routes (50 calls each, at the client) and whether every stream got its
# sample every second.
# Usage: bench/run_dashboard.sh [seconds-per-run] ; env PEERS_DIR, BUILD, ROUNDS
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
D=${1:-10}
ROUNDS=${ROUNDS:-3}
BUILD=${BUILD:-$ROOT/build}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
BIN=$BUILD/bin/mlfaas
[ -x "$BIN" ] || bash scripts/build.sh
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export MLFAAS_HOME=$TMP/home NO_PROXY='*' no_proxy='*'
cat >"$TMP/body.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"duration":0,"src_bytes":215,"dst_bytes":45076}'
LUA
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "bench: $1 never came up" >&2; return 1; }
run_wrk() {  # name url -> "name rps p99_ms"
  wrk -t2 -c18 -d"${D}s" --latency -s "$TMP/body.lua" "$2" >"$TMP/$1.wrk" 2>&1
  awk -v n="$1" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ {rps=$2} / 99%/ {p99=ms($2)}
    END {printf "%s %.0f %.3f\n", n, rps, p99}' "$TMP/$1.wrk"
}
median() {  # contender -> "median_rps median_p99"
  local r p
  r=$(grep "^$1 " "$TMP/rounds" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  p=$(grep "^$1 " "$TMP/rounds" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$r $p"
}

echo "== training and publishing kdd99-anomaly" >&2
"$BIN" train --data data/kdd99-http.csv.gz --out "$TMP/kdd.zip" >/dev/null
"$BIN" function create kdd99-anomaly --package "$TMP/kdd.zip" >/dev/null
"$BIN" function publish kdd99-anomaly >/dev/null
"$BIN" serve --port 18190 >"$TMP/serve.log" 2>&1 & PIDS+=($!)
if [ -f "$PEERS_DIR/nginx.conf" ]; then
  sed "s#/tmp/peers-nginx#$TMP/nginx#g" "$PEERS_DIR/nginx.conf" >"$TMP/nginx.conf"
  nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" & PIDS+=($!)
  wait_http http://127.0.0.1:18080/
fi
G=http://127.0.0.1:18190
wait_http $G/healthz
URL=$G/2015-03-31/functions/kdd99-anomaly/invocations
curl -s -o /dev/null -X POST "$URL" -d '{"duration":0,"src_bytes":215,"dst_bytes":45076}'

open_dashboard() {  # 16 streams and a polling page, until killed; stream bytes in $TMP/s<i>
  for i in $(seq 16); do
    curl -sN "$G/v1/dashboard/stream" >"$TMP/s$i" 2>/dev/null & DASH+=($!)
  done
  (while :; do
    curl -s -o /dev/null "$G/v1/dashboard"; curl -s -o /dev/null "$G/v1/dashboard/functions/kdd99-anomaly"
    sleep 1
  done) & DASH+=($!)
}
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS: wrk -c18 -d${D}s" >&2
  run_wrk closed "$URL" >>"$TMP/rounds"
  DASH=()
  open_dashboard
  sleep 1
  start=$(date +%s)
  run_wrk open "$URL" >>"$TMP/rounds"
  secs=$(($(date +%s) - start))
  kill "${DASH[@]}" 2>/dev/null || true
  wait "${DASH[@]}" 2>/dev/null || true
  # Samples each stream got while open (about one a second: secs + 1 s before wrk + start).
  for i in $(seq 16); do grep -c '^event: sample' "$TMP/s$i" || true; done | sort -n |
    awk -v s="$secs" 'NR==1{min=$1} {max=$1} END {printf "streams %d %d %d\n", min, max, s}' >>"$TMP/streams"
  [ -f "$TMP/nginx.conf" ] && run_wrk nginx http://127.0.0.1:18080/ >>"$TMP/rounds"
done
lat() {  # url -> "p50 p99" ms over 50 calls
  for _ in $(seq 50); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done | sort -n |
    awk '{a[NR]=$1} END {printf "%.2f %.2f", a[int(NR*0.5+0.5)]*1000, a[int(NR*0.99+0.5)]*1000}'
}
read -r c_rps c_p99 <<<"$(median closed)"
read -r o_rps o_p99 <<<"$(median open)"
echo
echo "| contender | req/s (median of $ROUNDS) | p99 ms |"
echo "|---|---|---|"
echo "| mlfaas Invoke, dashboard closed | $c_rps | $c_p99 |"
echo "| mlfaas Invoke, dashboard open (16 streams + polling) | $o_rps | $o_p99 |"
if [ -f "$TMP/nginx.conf" ]; then
  read -r n_rps n_p99 <<<"$(median nginx)"
  echo "| nginx fixed JSON | $n_rps | $n_p99 |"
fi
awk -v a="$o_rps" -v b="$c_rps" -v p="$o_p99" -v q="$c_p99" 'BEGIN{printf "\nopen/closed: req/s %.3fx, p99 %.2fx\n", a/b, p/q}'
[ -f "$TMP/nginx.conf" ] && awk -v a="$c_rps" -v b="$n_rps" -v c="$o_rps" 'BEGIN{printf "mlfaas/nginx: %.2fx closed, %.2fx open\n", a/b, c/b}'
awk '{printf "samples per stream in a %d-s open window: min %d, max %d\n", $4, $2, $3}' "$TMP/streams"
read -r d50 d99 <<<"$(lat $G/v1/dashboard)"
read -r f50 f99 <<<"$(lat $G/v1/dashboard/functions/kdd99-anomaly)"
read -r u50 u99 <<<"$(lat $G/ui/)"
read -r m50 m99 <<<"$(lat $G/metrics)"
echo "GET /v1/dashboard p50 $d50 ms p99 $d99 ms; /v1/dashboard/functions/F p50 $f50 p99 $f99; /ui/ p50 $u50 p99 $u99; /metrics p50 $m50 p99 $m99 (curl, loopback)"
