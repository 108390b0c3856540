#!/usr/bin/env bash
# The study's Java finding: the model served by the plain-Java custom runtime (examples/java) at
# 256, 512 and 1024 MB. mlfaas gives a function memory/1769 of a CPU, as Lambda does (cgroup CPU
# quota), so 256 MB is 0.145 vCPU, 512 MB 0.289 and 1024 MB 0.579.
# For each size, measured at the client against `mlfaas serve` (default: strict isolation):
#   cold starts: the first request to N functions of their own (each a new instance: the JVM
#     starts, loads the model, then answers), one at a time, each on a new connection; with the
#     gateway's init duration (X-Mlfaas-Init-Duration-Ms: instance start to the runtime's first
#     /next). These functions have a 1 s idle timeout and the next cold start waits COLD_GAP
#     seconds, so idle JVMs do not pile up beside the one starting;
#   warm latency: WARM sequential invocations on one warm instance (a function of its own) over
#     one keep-alive connection, after WARMUP unmeasured ones (which let the JIT compile the hot
#     path);
#   max memory used: the REPORT line's "Max Memory Used" (the instance's cgroup peak) after the
#     warm run.
# Usage: bench/java_memory.sh [N] ; env WARM (200), WARMUP (200), COLD_GAP (2),
# MEMORIES ("256 512 1024"), BUILD (build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-10}
WARM=${WARM:-200}
WARMUP=${WARMUP:-200}
COLD_GAP=${COLD_GAP:-2}
MEMORIES=${MEMORIES:-256 512 1024}
BUILD=${BUILD:-$ROOT/build}
BIN=$BUILD/bin/mlfaas
[ -x "$BIN" ] || { echo "java_memory.sh: $BIN is missing (bash scripts/build.sh)" >&2; exit 1; }
command -v javac >/dev/null || {
  echo "java_memory.sh: javac not found (bash scripts/deps.sh installs default-jdk-headless)" >&2
  exit 1
}
TMP=$(mktemp -d)
SERVE=""
cleanup() {
  if [ -n "$SERVE" ]; then kill -TERM "$SERVE" 2>/dev/null || true; wait "$SERVE" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
export MLFAAS_HOME=$TMP/home

echo "== training kdd99-anomaly, building the Java bundle" >&2
"$BIN" train --data data/kdd99-http.csv.gz --out "$TMP/kdd.zip" --name kdd99-anomaly >/dev/null
MLFAAS_JAVA_JAR_CACHE=$BUILD/java-jar-cache examples/java/make_bundle.sh "$TMP/kdd.zip" "$TMP/java.zip" >/dev/null
for mem in $MEMORIES; do
  for i in $(seq "$N"); do
    "$BIN" function create "java-$mem-$i" --package "$TMP/java.zip" --runtime provided \
      --memory "$mem" --timeout 60 --idle-timeout 1 >/dev/null
  done
  "$BIN" function create "java-$mem-warm" --package "$TMP/java.zip" --runtime provided \
    --memory "$mem" --timeout 60 >/dev/null
done

"$BIN" serve --port 0 >"$TMP/serve.log" 2>&1 &
SERVE=$!
PORT=""
for _ in $(seq 200); do
  PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/serve.log" | head -1)
  [ -n "$PORT" ] && break
  kill -0 "$SERVE" 2>/dev/null || break
  sleep 0.05
done
[ -n "$PORT" ] || { cat "$TMP/serve.log" >&2; echo "java_memory.sh: mlfaas serve did not start" >&2; exit 1; }
ISOLATION=$(curl -s "http://127.0.0.1:$PORT/v1/status" | grep -o '"isolation": *"[a-z]*"' | grep -o '[a-z]*"$' | tr -d '"')

echo "== measuring (isolation ${ISOLATION:-?}, $N cold starts and $WARM warm calls per size)" >&2
python3 - "$PORT" "$N" "$WARM" "$WARMUP" "$COLD_GAP" "$ISOLATION" $MEMORIES <<'PY'
import base64, http.client, math, re, statistics, sys, time

port, n, warm, warmup = (int(a) for a in sys.argv[1:5])
cold_gap, isolation = float(sys.argv[5]), sys.argv[6]
memories = [int(m) for m in sys.argv[7:]]
EVENT = b'{"duration":0,"src_bytes":215,"dst_bytes":45076}'

def invoke(conn, fn, tail=False):
    headers = {"Content-Type": "application/json"}
    if tail:
        headers["X-Amz-Log-Type"] = "Tail"
    t0 = time.perf_counter()
    conn.request("POST", f"/2015-03-31/functions/{fn}/invocations", body=EVENT, headers=headers)
    r = conn.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if r.status != 200 or r.getheader("X-Amz-Function-Error") or b'"predictions"' not in body:
        sys.exit(f"java_memory.sh: {fn} answered {r.status}: {body[:300]!r}")
    return ms, r

def max_memory(r):
    log = base64.b64decode(r.getheader("X-Amz-Log-Result") or "").decode(errors="replace")
    m = re.search(r"Max Memory Used: (\d+) MB", log)
    return int(m.group(1)) if m else None

def pct(values, p):
    s = sorted(values)  # nearest rank
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]

rows = []
for mem in memories:
    cold, init = [], []
    for i in range(1, n + 1):
        time.sleep(cold_gap)  # the previous cold function's instance is reaped meanwhile
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        ms, r = invoke(conn, f"java-{mem}-{i}")
        if r.getheader("X-Mlfaas-Cold-Start") != "true":
            sys.exit(f"java_memory.sh: java-{mem}-{i}: expected a cold start")
        cold.append(ms)
        init.append(float(r.getheader("X-Mlfaas-Init-Duration-Ms") or "nan"))
        conn.close()
        print(f"  {mem} MB cold start {i}: {ms:.0f} ms (init {init[-1]:.0f} ms)", file=sys.stderr)
    fn = f"java-{mem}-warm"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(warmup + 1):  # the first is its cold start
        invoke(conn, fn)
    lat = []
    for _ in range(warm):
        ms, r = invoke(conn, fn)
        if r.getheader("X-Mlfaas-Cold-Start") != "false":
            sys.exit(f"java_memory.sh: {fn}: a warm call was a cold start")
        lat.append(ms)
    _, r = invoke(conn, fn, tail=True)
    conn.close()
    rows.append((mem, mem / 1769, statistics.median(cold), max(cold), statistics.median(init),
                 statistics.mean(lat), pct(lat, 99), max_memory(r)))

print(f"Java custom runtime (examples/java, JDK 17, strategy init), isolation {isolation or '?'}: "
      f"{n} cold starts and {warm} warm calls per size, at the client")
print("| memory | vCPU | cold start p50 (ms) | cold start max (ms) | init duration p50 (ms) "
      "| warm avg (ms) | warm p99 (ms) | max memory used (MB) |")
print("|---|---|---|---|---|---|---|---|")
for mem, cpu, c50, cmax, i50, wavg, w99, peak in rows:
    print(f"| {mem} MB | {cpu:.3f} | {c50:.0f} | {cmax:.0f} | {i50:.0f} | {wavg:.2f} | {w99:.2f} "
          f"| {peak if peak is not None else '?'} |")
PY
