#!/usr/bin/env bash
# End-to-end serving benchmark, every contender measured in this one invocation:
#   (a) mlfaas warm (default: worker protocol over a Unix socket, strict isolation)
#   (a16) mlfaas warm, 16 invocations per instance (--max-concurrency-per-instance 16, pipelined
#        worker protocol) at --memory 3538 (2 vCPUs at Lambda's 1769 MB per vCPU)
#   (a') mlfaas warm with --worker-transport http (the Runtime API over loopback TCP)
#   (a'') mlfaas warm with --isolation off (instances as plain root processes: the cost of
#        isolation on the warm path)
#   (a4) mlfaas warm with authentication on: a Bearer key, and an AWS SigV4 signature (signed
#        once by botocore and replayed: the gateway verifies it on every request)
#   (b) nginx returning a fixed JSON body   (c) sklearn + Flask + gunicorn -w 2
# wrk at 18 connections (the study's top concurrency), then cold starts (first request on 100
# fresh instances, measured at the client) with stem cells (default) and without, each at strict
# isolation (default) and at --isolation off, and warm worker RSS.
# The wrk runs alternate between contenders for ROUNDS rounds (default 3); the table shows each
# contender's median req/s and median p99 (shared, noisy machines: one run can catch a stall).
# Usage: bench/run_e2e.sh [seconds-per-run] ; env PEERS_DIR (default ../shared/peers), BUILD
# (build), ROUNDS
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
export MLFAAS_HOME=$TMP/home
BODY=$PEERS_DIR/body.lua
[ -f "$BODY" ] || { BODY=$TMP/body.lua; cat >"$BODY" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450}]}'
LUA
}

wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "bench: $1 never came up" >&2; return 1; }
run_wrk() {  # name url [wrk args...] -> "name rps avg_ms p99_ms"
  local name=$1 url=$2; shift 2
  wrk -t2 -c18 -d"${D}s" --latency -s "$BODY" "$@" "$url" >"$TMP/$name.wrk" 2>&1
  awk -v n="$name" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ {rps=$2} /^    Latency/ {avg=ms($2)} / 99%/ {p99=ms($2)}
    /Non-2xx/ {bad=$NF}
    END {printf "%s %.0f %.3f %.3f %s\n", n, rps, avg, p99, (bad==""?0:bad)}' "$TMP/$name.wrk"
}

echo "== training and publishing kdd99-anomaly" >&2
"$BIN" train --data data/kdd99-http.csv.gz --out "$TMP/kdd.zip" >/dev/null
"$BIN" function create kdd99-anomaly --package "$TMP/kdd.zip" >/dev/null
"$BIN" function publish kdd99-anomaly >/dev/null
"$BIN" function create kdd99-multi --package "$TMP/kdd.zip" --memory 3538 \
  --max-concurrency-per-instance 16 >/dev/null
for i in $(seq 1 100); do "$BIN" function create "cold-$i" --package "$TMP/kdd.zip" >/dev/null; done

# Authentication on: the same registry in a home of its own, with a key (keys are per home).
cp -a "$MLFAAS_HOME" "$TMP/home-auth"
KEY=$("$BIN" --home "$TMP/home-auth" key create --name bench --scope 'invoke:*' --rate 1000000 --json)
KID=$(echo "$KEY" | sed -n 's/.*"AccessKeyId": "\(.*\)".*/\1/p')
KSECRET=$(echo "$KEY" | sed -n 's/.*"SecretAccessKey": "\(.*\)".*/\1/p')
URL5=http://127.0.0.1:18095/2015-03-31/functions/kdd99-anomaly/invocations
BODY_TEXT=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$BODY")
# botocore signs the exact request wrk sends (method, path, host, body); valid 15 minutes.
mapfile -t SIGV4 < <(/usr/bin/python3 - "$URL5" "$KID" "$KSECRET" "$BODY_TEXT" <<'PY'
import sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, kid, secret, body = sys.argv[1:5]
req = AWSRequest(method="POST", url=url, data=body.encode(),
                 headers={"Content-Type": "application/json"})
SigV4Auth(Credentials(kid, secret), "lambda", "us-east-1").add_auth(req)
print("X-Amz-Date: " + req.headers["X-Amz-Date"])
print("Authorization: " + req.headers["Authorization"])
PY
)
"$BIN" --home "$TMP/home-auth" serve --port 18095 --max-instances 256 >"$TMP/serve-auth.log" 2>&1 & PIDS+=($!)
"$BIN" serve --port 18090 --max-instances 256 >"$TMP/serve.log" 2>&1 & PIDS+=($!)
if [ -f "$PEERS_DIR/nginx.conf" ]; then
  sed "s#/tmp/peers-nginx#$TMP/nginx#g" "$PEERS_DIR/nginx.conf" >"$TMP/nginx.conf"
  nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" & PIDS+=($!)
fi
if [ -f "$PEERS_DIR/sklearn_flask.py" ]; then
  (cd "$PEERS_DIR" && exec /usr/bin/python3 -m gunicorn -w 2 -b 127.0.0.1:18081 --log-level warning sklearn_flask:app) & PIDS+=($!)
fi
wait_http http://127.0.0.1:18090/v2/health/live

cold_starts() {  # port -> "p50 p99" (ms) of the first request on 100 fresh instances
  for i in $(seq 1 100); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST \
      "http://127.0.0.1:$1/2015-03-31/functions/cold-$i/invocations" \
      -d '{"duration":0,"src_bytes":215,"dst_bytes":45076}'
  done | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f", a[int(NR*0.50+0.5)]*1000, a[int(NR*0.99+0.5)]*1000}'
}
# A gateway that has been up a moment: its stem cells are started.
for _ in $(seq 100); do curl -s http://127.0.0.1:18090/v1/status | grep -Eq '"stem_cells_ready": ?4' && break; sleep 0.05; done
echo "== cold starts: first request on 100 fresh instances" >&2
read -r cold_p50 cold_p99 <<<"$(cold_starts 18090)"

# The same at --isolation off (before isolation), on a gateway of its own over the same registry.
"$BIN" serve --port 18094 --max-instances 256 --isolation off >"$TMP/serve-off.log" 2>&1 & PIDS+=($!)
wait_http http://127.0.0.1:18094/v2/health/live
for _ in $(seq 100); do curl -s http://127.0.0.1:18094/v1/status | grep -Eq '"stem_cells_ready": ?4' && break; sleep 0.05; done
read -r off_p50 off_p99 <<<"$(cold_starts 18094)"

# The warm path over HTTP, on a second gateway over the same registry.
"$BIN" serve --port 18093 --worker-transport http >"$TMP/serve-http.log" 2>&1 & PIDS+=($!)
wait_http http://127.0.0.1:18093/v2/health/live
URL=http://127.0.0.1:18090/2015-03-31/functions/kdd99-anomaly/invocations
URL16=http://127.0.0.1:18090/2015-03-31/functions/kdd99-multi/invocations
URL3=http://127.0.0.1:18093/2015-03-31/functions/kdd99-anomaly/invocations
URL4=http://127.0.0.1:18094/2015-03-31/functions/kdd99-anomaly/invocations
for u in "$URL" "$URL16" "$URL3" "$URL4"; do curl -s -o /dev/null -X POST "$u" -d '{"duration":0,"src_bytes":215,"dst_bytes":45076}'; done
wait_http http://127.0.0.1:18095/healthz
curl -s -o /dev/null -H "Authorization: Bearer $KID:$KSECRET" -X POST "$URL5" -d '{}'
[ -f "$TMP/nginx.conf" ] && wait_http http://127.0.0.1:18080/
[ -f "$PEERS_DIR/sklearn_flask.py" ] && { wait_http http://127.0.0.1:18081/ || true; }
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS: wrk -c18 -d${D}s against each contender" >&2
  run_wrk mlfaas "$URL" >>"$TMP/rounds"
  run_wrk mlfaas-n16 "$URL16" >>"$TMP/rounds"
  run_wrk mlfaas-http "$URL3" >>"$TMP/rounds"
  run_wrk mlfaas-iso-off "$URL4" >>"$TMP/rounds"
  run_wrk mlfaas-bearer "$URL5" -H "Authorization: Bearer $KID:$KSECRET" >>"$TMP/rounds"
  run_wrk mlfaas-sigv4 "$URL5" -H "${SIGV4[0]}" -H "${SIGV4[1]}" >>"$TMP/rounds"
  [ -f "$TMP/nginx.conf" ] && run_wrk nginx http://127.0.0.1:18080/ >>"$TMP/rounds"
  [ -f "$PEERS_DIR/sklearn_flask.py" ] && run_wrk sklearn-flask http://127.0.0.1:18081/predict >>"$TMP/rounds"
done
rss_kb=$(for p in $(pgrep -x mlfaas-runtime); do awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null; done | sort -n | tail -1)
median() {  # contender -> "name median_rps median_avg median_p99 total_non2xx"
  grep "^$1 " "$TMP/rounds" | awk -v n="$1" '
    {r[NR]=$2; a[NR]=$3; p[NR]=$4; bad+=$5}
    function med(x, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }; return x[int((k + 1) / 2)] }
    END { if (NR) printf "%s %.0f %.3f %.3f %d\n", n, med(r, NR), med(a, NR), med(p, NR), bad }'
}
M=$(median mlfaas); M16=$(median mlfaas-n16); H=$(median mlfaas-http); O=$(median mlfaas-iso-off); N=$(median nginx)
S=$(median sklearn-flask); AB=$(median mlfaas-bearer); AS=$(median mlfaas-sigv4)

# The same cold starts on fresh gateways (every instance is new): without stem cells, at strict
# and at --isolation off.
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
"$BIN" serve --port 18091 --max-instances 256 --stem-cells 0 >"$TMP/serve-nostem.log" 2>&1 & P1=$!; PIDS+=($P1)
wait_http http://127.0.0.1:18091/v2/health/live
read -r nostem_p50 nostem_p99 <<<"$(cold_starts 18091)"
kill "$P1"; wait "$P1" 2>/dev/null || true
"$BIN" serve --port 18092 --max-instances 256 --stem-cells 0 --isolation off >"$TMP/serve-nocg.log" 2>&1 & P2=$!; PIDS+=($P2)
wait_http http://127.0.0.1:18092/v2/health/live
read -r nocg_p50 nocg_p99 <<<"$(cold_starts 18092)"
kill "$P2"; wait "$P2" 2>/dev/null || true

echo
echo "machine: $(nproc) cores, $(uname -r); date: $(date -u +%FT%TZ)"
echo "per round:"; cat "$TMP/rounds"
echo "medians of $ROUNDS rounds:"
printf '%-16s %10s %10s %10s %8s\n' contender req/s avg_ms p99_ms non2xx
for line in "$M" "$M16" "$H" "$O" "$AB" "$AS" "$N" "$S"; do [ -n "$line" ] && printf '%-16s %10s %10s %10s %8s\n' $line; done
read -r _ mr ma mp _ <<<"$M"
read -r _ hr _ hp _ <<<"$H"
awk -v a="$mr" -v b="$hr" 'BEGIN{printf "mlfaas socket/http worker transport: req/s %.2fx\n", a/b}'
read -r _ or _ op _ <<<"$O"
awk -v a="$mr" -v b="$or" -v p="$mp" -v q="$op" 'BEGIN{printf "mlfaas strict/off isolation, warm: req/s %.2fx, p99 %.2fx\n", a/b, p/q}'
read -r _ abr _ abp abad <<<"$AB"; read -r _ asr _ asp asbad <<<"$AS"
awk -v a="$abr" -v s="$asr" -v m="$mr" -v ap="$abp" -v sp="$asp" -v mp="$mp" -v x="$abad" -v y="$asbad" \
  'BEGIN{printf "mlfaas with auth / without, warm: Bearer req/s %.2fx p99 %.2fx; SigV4 req/s %.2fx p99 %.2fx (non-2xx: %d, %d)\n", a/m, ap/mp, s/m, sp/mp, x, y}'
if [ -n "$N" ]; then read -r _ nr na np _ <<<"$N"
  awk -v a="$mr" -v b="$nr" -v p="$mp" -v q="$np" 'BEGIN{printf "mlfaas/nginx (N=1): req/s %.2fx (goal >= 0.25), p99 %.2fx\n", a/b, p/q}'
  read -r _ m16r _ m16p m16bad <<<"$M16"
  awk -v a="$m16r" -v b="$nr" -v p="$m16p" -v q="$np" -v x="$m16bad" 'BEGIN{printf "mlfaas/nginx (N=16, 3538 MB): req/s %.2fx (goal >= 0.6), p99 %.2fx (goal <= 1.5), non-2xx %d\n", a/b, p/q, x}'; fi
if [ -n "$S" ]; then read -r _ sr sa sp _ <<<"$S"
  awk -v a="$mr" -v b="$sr" -v p="$mp" -v q="$sp" 'BEGIN{printf "mlfaas/sklearn-flask: req/s %.2fx, p99 %.2fx\n", a/b, p/q}'; fi
iso=$(grep -o '"isolation": *"[a-z]*"' <(curl -s http://127.0.0.1:18093/v1/status) | grep -o '[a-z]*"$' | tr -d '"')
echo "cold start at the client (100 fresh instances), stem cells, isolation ${iso:-?}: p50 ${cold_p50} ms (goal <= 5), p99 ${cold_p99} ms (goal <= 20)"
echo "cold start at the client (100 fresh instances), stem cells, --isolation off: p50 ${off_p50} ms, p99 ${off_p99} ms"
echo "cold start at the client (100 fresh instances), --stem-cells 0, isolation ${iso:-?}: p50 ${nostem_p50} ms, p99 ${nostem_p99} ms"
echo "cold start at the client (100 fresh instances), --stem-cells 0 --isolation off: p50 ${nocg_p50} ms, p99 ${nocg_p99} ms"
echo "warm worker RSS: $(( ${rss_kb:-0} / 1024 )) MiB (${rss_kb:-?} kB; goal <= 8 MiB)"
