#!/usr/bin/env bash
# Where the CPU goes per request on the warm invoke path: wrk -t2 -c18 (the study's top
# concurrency) against each contender, alternating for ROUNDS rounds, and the user and system
# CPU (/proc/PID/stat ticks over the run, divided by the requests answered) of the gateway
# process (all its threads), of all mlfaas-runtime processes together, and of nginx:
#   n1      mlfaas, one invocation per instance (Lambda's default model), 512 MB
#   n16     mlfaas, 16 invocations per instance at 3538 MB (2 vCPUs): the issue's setting; at 18
#           connections it runs on 2 instances (least-loaded routing)
#   n32     mlfaas, 32 per instance at 3538 MB: the same load on one instance
#   nginx   a fixed JSON body (../shared/peers/nginx.conf)
# Prints one line per contender: medians of the rounds (req/s, p99, µs/request by process).
# Usage: bench/run_cpu_per_request.sh [seconds-per-run] ; env PEERS_DIR, BUILD, ROUNDS
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
D=${1:-5}
ROUNDS=${ROUNDS:-3}
BUILD=${BUILD:-$ROOT/build}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
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
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "cpu: $1 never came up" >&2; return 1; }

"$BIN" train --data data/kdd99-http.csv.gz --out "$TMP/kdd.zip" >/dev/null
"$BIN" function create n1 --package "$TMP/kdd.zip" >/dev/null
"$BIN" function create n16 --package "$TMP/kdd.zip" --memory 3538 --max-concurrency-per-instance 16 >/dev/null
"$BIN" function create n32 --package "$TMP/kdd.zip" --memory 3538 --max-concurrency-per-instance 32 >/dev/null
"$BIN" serve --port 18290 >"$TMP/serve.log" 2>&1 & GW=$!; PIDS+=($GW)
sed "s#/tmp/peers-nginx#$TMP/nginx#g; s#127.0.0.1:18080#127.0.0.1:18280#" "$PEERS_DIR/nginx.conf" >"$TMP/nginx.conf"
nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" & PIDS+=($!)
wait_http http://127.0.0.1:18290/v2/health/live
wait_http http://127.0.0.1:18280/
url() { [ "$1" = nginx ] && echo http://127.0.0.1:18280/ || echo "http://127.0.0.1:18290/2015-03-31/functions/$1/invocations"; }
for f in n1 n16 n32; do  # warm: every instance the load needs is started before measuring
  wrk -t2 -c18 -d2s -s "$BODY" "$(url $f)" >/dev/null
done

ticks() {  # pid comm utime stime, for the gateway, every mlfaas-runtime and nginx
  for p in $GW $(pgrep -x mlfaas-runtime) $(pgrep -x nginx); do
    awk -v p="$p" '{print p, $2, $14, $15}' "/proc/$p/stat" 2>/dev/null || true
  done
}
HZ=$(getconf CLK_TCK)
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS" >&2
  for c in n1 n16 n32 nginx; do
    ticks >"$TMP/t0"
    wrk -t2 -c18 -d"${D}s" --latency -s "$BODY" "$(url $c)" >"$TMP/wrk" 2>&1
    ticks >"$TMP/t1"
    n=$(awk '/requests in/{print $1}' "$TMP/wrk")
    rps=$(awk '/Requests\/sec/{print $2}' "$TMP/wrk")
    p99=$(awk '/ 99%/{v=$2; if (v ~ /us$/) v=v/1000; else if (v ~ /ms$/) v=v+0; else if (v ~ /s$/) v=v*1000; print v}' "$TMP/wrk")
    # A process present at both ends counts its difference (one that started meanwhile: none do
    # once warm).
    join <(sort "$TMP/t0") <(sort "$TMP/t1") | awk -v c="$c" -v n="$n" -v hz="$HZ" -v rps="$rps" -v p99="$p99" '
      { k = ($2 ~ /runtime/) ? "runtime" : ($2 ~ /nginx/) ? "nginx" : "gateway";
        u[k] += $6 - $3; s[k] += $7 - $4 }
      END { us = 1e6 / hz / n;
        printf "%s %.0f %.2f %.1f %.1f %.1f %.1f %.1f %.1f\n", c, rps, p99,
          u["gateway"] * us, s["gateway"] * us, u["runtime"] * us, s["runtime"] * us,
          u["nginx"] * us, s["nginx"] * us }' >>"$TMP/rounds"
  done
done
echo
echo "machine: $(nproc) cores, $(uname -r); date: $(date -u +%FT%TZ); $ROUNDS rounds of ${D} s, medians"
printf '%-8s %9s %8s | %-15s | %-15s | %-15s\n' contender req/s p99_ms "gateway usr/sys" "runtime usr/sys" "nginx usr/sys"
for c in n1 n16 n32 nginx; do
  grep "^$c " "$TMP/rounds" | awk -v c="$c" '
    function med(col,   i, j, t, k, x) { k = 0; for (i = 1; i <= NR; i++) x[++k] = v[i, col];
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
      return x[int((k + 1) / 2)] }
    { for (f = 2; f <= 9; f++) v[NR, f] = $f }
    END { printf "%-8s %9.0f %8.2f | %6.1f / %6.1f | %6.1f / %6.1f | %6.1f / %6.1f  (µs per request)\n",
      c, med(2), med(3), med(4), med(5), med(6), med(7), med(8), med(9) }'
done
