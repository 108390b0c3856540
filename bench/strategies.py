#!/usr/bin/env python3
"""Model-loading strategies, measured at the client (docs/results.md, "Model-loading strategies").

Trains the shipped data once, creates one function per strategy (per-invoke, init, lazy,
snapshot) with the built-in runtime, and init and snapshot with the Python example
(examples/python), at 512 MB, serves them with one `mlfaas serve`
(--idle-timeout 1, so that every sample after an idle pause is a fresh instance), and prints:
  - cold start at the client: the first request of a fresh instance (p50, p90, max), and the
    init duration the gateway reports for it;
  - warm latency: sequential requests on a warm instance (average, p99).

Usage: bench/strategies.py [--cold N] [--warm N] [--bin build/bin/mlfaas]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

EVENT = json.dumps({"duration": 0, "src_bytes": 215, "dst_bytes": 45076})
STRATEGIES = ["per-invoke", "init", "lazy", "snapshot"]
PYTHON_STRATEGIES = ["init", "snapshot"]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def invoke(port, fn):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    c.request("POST", f"/2015-03-31/functions/{fn}/invocations", body=EVENT)
    r = c.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t) * 1000
    if r.status != 200 or b"predictions" not in body:
        sys.exit(f"strategies.py: {fn}: HTTP {r.status}: {body[:200]!r}")
    return ms, r.getheader("X-Mlfaas-Cold-Start") == "true", r.getheader("X-Mlfaas-Init-Duration-Ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=20)
    ap.add_argument("--warm", type=int, default=300)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "mlfaas"))
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="mlfaas-strategies-")
    env = dict(os.environ, MLFAAS_HOME=home)
    data = os.path.join(os.path.dirname(__file__), "..", "data", "kdd99-http.csv.gz")
    pkg = os.path.join(home, "kdd.zip")
    subprocess.run([a.bin, "train", "--data", data, "--out", pkg], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    functions = []  # (name, label)
    for s in STRATEGIES:
        subprocess.run([a.bin, "function", "create", s, "--package", pkg, "--memory", "512",
                        "--model-loading", s], env=env, check=True, stdout=subprocess.DEVNULL)
        functions.append((s, f"built-in, {s}"))
    bundle = os.path.join(home, "python.zip")
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([os.path.join(here, "..", "examples", "python", "make_bundle.sh"), pkg, bundle],
                   check=True, stdout=subprocess.DEVNULL)
    for s in PYTHON_STRATEGIES:
        subprocess.run([a.bin, "function", "create", "py-" + s, "--package", bundle, "--runtime",
                        "provided", "--memory", "512", "--model-loading", s], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        functions.append(("py-" + s, f"Python, {s}"))
    log = open(os.path.join(home, "serve.log"), "w+")
    serve = subprocess.Popen([a.bin, "serve", "--port", "0", "--idle-timeout", "1"], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(200):
            log.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        if not port:
            sys.exit("strategies.py: mlfaas serve did not start")
        rows = []
        for s, label in functions:
            invoke(port, s)  # a snapshot's template is started by the first cold start
            cold, inits = [], []
            while len(cold) < a.cold:
                time.sleep(1.6)  # past --idle-timeout: the instance is reaped
                ms, was_cold, init = invoke(port, s)
                if was_cold:
                    cold.append(ms)
                    inits.append(float(init or 0))
            warm = [invoke(port, s)[0] for _ in range(a.warm)]
            rows.append((label, cold, inits, warm))
            print(f"  {label}: done", file=sys.stderr)
        print(f"| runtime, strategy | cold start p50 | p90 | max | init duration p50 | warm avg | warm p99 |")
        print("|---|---|---|---|---|---|---|")
        for s, cold, inits, warm in rows:
            print(f"| {s} | {pct(cold, 50):.2f} ms | {pct(cold, 90):.2f} ms | {max(cold):.2f} ms | "
                  f"{pct(inits, 50):.3f} ms | {statistics.mean(warm):.3f} ms | {pct(warm, 99):.3f} ms |")
        print(f"({a.cold} cold starts and {a.warm} warm requests per function, one client, "
              f"512 MB, strict isolation)")
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
