#!/usr/bin/env bash
# The runtime's HTTP adapter mode (what a Knative image runs: `bootstrap --http :8080`,
# docs/runtime.md "HTTP adapter mode"), every contender measured in this one invocation:
#   (a) mlfaas-bootstrap --http, one invocation at a time (AWS_LAMBDA_MAX_CONCURRENCY unset)
#   (b) mlfaas-bootstrap --http, AWS_LAMBDA_MAX_CONCURRENCY=16 at 3538 MB (2 handler threads)
#   (c) nginx returning a fixed JSON body (the peers' nginx.conf)
# wrk -t2 at 18 connections, POST / with one event, ROUNDS rounds alternating (default 3),
# medians. Then start-up: spawn to the first 200 from /v2/health/ready, 20 times each, for the
# static mlfaas-bootstrap and the dynamically linked mlfaas-runtime.
# Usage: bench/run_adapter.sh [seconds-per-run] ; env PEERS_DIR (default ../shared/peers), BUILD
# (build), ROUNDS
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
D=${1:-5}
ROUNDS=${ROUNDS:-3}
BUILD=${BUILD:-$ROOT/build}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
for b in mlfaas mlfaas-bootstrap mlfaas-runtime; do
  [ -x "$BUILD/bin/$b" ] || { echo "run_adapter.sh: $BUILD/bin/$b is missing (scripts/build.sh)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "run_adapter.sh: wrk is missing (scripts/deps.sh)" >&2; exit 2; }
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export MLFAAS_HOME=$TMP/home

# The task root: the manifest of a model trained on the shipped data.
"$BUILD/bin/mlfaas" train --data data/kdd99-http.csv.gz --out "$TMP/kdd.zip" >/dev/null
mkdir -p "$TMP/task"
/usr/bin/python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))' \
  "$TMP/kdd.zip" "$TMP/task/manifest.json"

cat >"$TMP/body.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"duration":0,"src_bytes":181,"dst_bytes":5450}'
LUA

wait_http() {  # url: bounded wait for a 200
  for _ in $(seq 1 500); do
    curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$1" 2>/dev/null | grep -q 200 && return 0
    sleep 0.01
  done
  echo "run_adapter.sh: $1 did not answer" >&2
  return 1
}
adapter() {  # binary port [env...]: start an adapter in the background
  local bin=$1 port=$2
  shift 2
  env -i PATH=/usr/bin:/bin LAMBDA_TASK_ROOT="$TMP/task" AWS_LAMBDA_FUNCTION_NAME=kdd \
    AWS_LAMBDA_FUNCTION_VERSION=1 "$@" "$bin" --http "127.0.0.1:$port" >"$TMP/adapter-$port.log" 2>&1 &
  PIDS+=($!)
}

adapter "$BUILD/bin/mlfaas-bootstrap" 18091
adapter "$BUILD/bin/mlfaas-bootstrap" 18092 AWS_LAMBDA_MAX_CONCURRENCY=16 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=3538
HAVE_NGINX=0
if [ -f "$PEERS_DIR/nginx.conf" ] && command -v nginx >/dev/null; then
  sed "s#/tmp/peers-nginx#$TMP/nginx#g" "$PEERS_DIR/nginx.conf" >"$TMP/nginx.conf"
  nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" & PIDS+=($!)
  HAVE_NGINX=1
fi
wait_http http://127.0.0.1:18091/v2/health/ready
wait_http http://127.0.0.1:18092/v2/health/ready
[ $HAVE_NGINX = 1 ] && wait_http http://127.0.0.1:18080/

run_wrk() {  # name url -> "name rps p99_ms non2xx"
  local name=$1 url=$2
  wrk -t2 -c18 -d"${D}s" --latency -s "$TMP/body.lua" "$url" >"$TMP/$name.wrk" 2>&1
  awk -v n="$name" '/Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
    /Non-2xx/ {bad=$NF} END {printf "%s %.0f %.3f %s\n", n, rps, p99, (bad==""?0:bad)}' "$TMP/$name.wrk"
}
echo "== wrk -t2 -c18 -d${D}s, $ROUNDS rounds alternating ($(nproc) cpu, load $(cut -d' ' -f1-3 /proc/loadavg))"
: >"$TMP/rounds"
for r in $(seq 1 "$ROUNDS"); do
  run_wrk adapter-n1 http://127.0.0.1:18091/ >>"$TMP/rounds"
  run_wrk adapter-n16 http://127.0.0.1:18092/ >>"$TMP/rounds"
  [ $HAVE_NGINX = 1 ] && run_wrk nginx http://127.0.0.1:18080/ >>"$TMP/rounds"
done
median() { grep "^$1 " "$TMP/rounds" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf "%-12s %10s %10s %8s\n" contender "req/s" "p99 ms" non-2xx
for n in adapter-n1 adapter-n16 nginx; do
  grep -q "^$n " "$TMP/rounds" || continue
  printf "%-12s %10s %10s %8s\n" "$n" "$(median $n 2)" "$(median $n 3)" "$(grep "^$n " "$TMP/rounds" | awk '{s+=$4} END {print s}')"
done
if [ $HAVE_NGINX = 1 ]; then
  awk -v a="$(median adapter-n1 2)" -v b="$(median adapter-n16 2)" -v n="$(median nginx 2)" \
    'BEGIN {printf "adapter/nginx req/s: N=1 %.2fx, N=16 %.2fx\n", a/n, b/n}'
fi

echo "== start-up: spawn to the first 200 from /v2/health/ready, 20 runs each"
/usr/bin/python3 - "$BUILD/bin" "$TMP/task" <<'PY'
import http.client, os, socket, statistics, subprocess, sys, time
bindir, task = sys.argv[1], sys.argv[2]
env = {"PATH": "/usr/bin:/bin", "LAMBDA_TASK_ROOT": task, "AWS_LAMBDA_FUNCTION_NAME": "kdd"}
for b in ("mlfaas-bootstrap", "mlfaas-runtime"):
    times = []
    for i in range(20):
        port = 18100 + i
        t0 = time.perf_counter()
        p = subprocess.Popen([os.path.join(bindir, b), "--http", f"127.0.0.1:{port}"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = False
        for _ in range(20000):  # bounded: 10 s of 0.5-ms polls
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/v2/health/ready")
                ok = c.getresponse().status == 200
                c.close()
                if ok:
                    break
            except OSError:
                time.sleep(0.0005)
        times.append((time.perf_counter() - t0) * 1e3)
        p.terminate(); p.wait()
        if not ok:
            sys.exit(f"{b} did not answer")
    times.sort()
    print(f"{b:18s} p50 {statistics.median(times):.2f} ms, min {times[0]:.2f} ms, max {times[-1]:.2f} ms")
PY
