#!/usr/bin/env bash
# Is `mlfaas bench` fast enough? Alternates wrk and `mlfaas bench run` against nginx serving a
# fixed JSON body, 18 connections, same request, in one invocation; prints req/s and p50/p99.
# Usage: bench/run_client_bench.sh [rounds] [seconds]; env BUILD (build), PEERS_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD; ROUNDS=${1:-3}; D=${2:-5}
BUILD=${BUILD:-$ROOT/build}; PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
BIN=$BUILD/bin/mlfaas
[ -x "$BIN" ] || bash scripts/build.sh mlfaas mlfaas-runtime
TMP=$(mktemp -d); NG=""
trap '[ -n "$NG" ] && kill $NG 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
cat >"$TMP/nginx.conf" <<CONF
worker_processes 2; daemon off; pid $TMP/nginx.pid; error_log $TMP/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:18180; location / { default_type application/json;
  return 200 '{"predictions":[{"anomaly":false,"probability":0.0012}],"model_version":"1"}'; } } }
CONF
nginx -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" & NG=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18180/ && break; sleep 0.05; done
cat >"$TMP/body.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450}]}'
LUA
cat >"$TMP/plan.yaml" <<YAML
execution:
- concurrency: 18
  hold-for: ${D}s
  scenario: s
scenarios:
  s:
    requests:
    - url: http://127.0.0.1:18180/
      method: POST
      headers: {Content-Type: application/json}
      body: {"instances": [{"duration": 0, "src_bytes": 181, "dst_bytes": 5450}]}
YAML
printf '%-6s %12s %12s %8s %18s %18s\n' round wrk_req/s mlfaas_req/s ratio wrk_p50/p99_ms mlfaas_p50/p99_ms
for r in $(seq 1 "$ROUNDS"); do
  wrk -t2 -c18 -d"${D}s" --latency -s "$TMP/body.lua" http://127.0.0.1:18180/ >"$TMP/wrk.txt"
  w=$(awk 'function ms(v){if(v~/us$/)return v/1000;if(v~/ms$/)return v+0;if(v~/s$/)return v*1000;return v}
    /Requests\/sec/{r=$2} / 50%/{a=ms($2)} / 99%/{b=ms($2)} END{printf "%.0f %.3f %.3f", r, a, b}' "$TMP/wrk.txt")
  "$BIN" bench run "$TMP/plan.yaml" ${MLFAAS_BENCH_ARGS:-} -q --report-dir "$TMP/rep" >"$TMP/mb.txt" 2>&1 || true
  m=$(awk '/requests/ && /req\/s/ {gsub(/[()]/,""); for(i=1;i<=NF;i++) if($(i+1)=="req/s") r=$i}
    /percentiles/ {for(i=1;i<=NF;i++){if($i=="p50")a=$(i+1); if($i=="p99")b=$(i+1)}}
    END{printf "%.0f %s %s", r, a, b}' "$TMP/mb.txt")
  read -r wr wa wb <<<"$w"; read -r mr ma mb <<<"$m"
  printf '%-6s %12s %12s %8s %18s %18s\n' "$r" "$wr" "$mr" "$(awk -v a="$mr" -v b="$wr" 'BEGIN{printf "%.2f", a/b}')" "$wa/$wb" "$ma/$mb"
done
