#!/usr/bin/python3
"""Discrete-event simulation of one function's instance pool under Lambda semantics.

docs/scaling.md ("Simulation") explains the model and shows the table this script writes.
Standard library only; deterministic for a given --seed.

What is modelled (one function, one version, the policy of src/gateway/pool/scaling_policy.cc):
  - an invocation goes to the ready instance with a free slot and the least load, ties to the
    most recently idle one (ChooseInstance); else to a starting instance with a free slot (N > 1,
    or a provisioned one still starting); else a new instance is cold-started for it
    (DecideInvoke: kUseIdle, kJoinStarting, kStartNew);
  - reserved concurrency caps invocations in flight; beyond it the invocation is throttled (429,
    no queue), as DecideInvoke's kThrottle; there is no global instance cap (one node's
    --max-instances does not apply to a fleet);
  - an idle instance is reaped `idle timeout` after it became idle (SelectIdleToReap);
    provisioned instances are never reaped and are ready at t = 0;
  - per-instance concurrency N: an instance runs up to N invocations at once. CPU sharing is
    processor sharing: an instance of M MB has v = M / 1769 vCPUs (DESIGN.md §3); one invocation
    alone runs at the measured warm speed; k invocations each progress at
    min(1, v/k) / min(1, v) of it (v < 1: the quota is shared, 1/k; v = 2: full speed up to 2).
    The instance's CPU is its own (no neighbours on the host);
  - service time is deterministic (the measured warm average); a cold request waits for the
    instance's init, which is (measured cold start at the client - warm average), so a cold
    request's latency equals the measured cold start.

Workloads (the study's two scenarios, DESIGN.md §1 and bench/scenarios/*.yaml, times --scale):
  - keepalive: `scale` requests at each of minutes 0, 6, 16, 31, 61 (open, one shot each);
  - concurrency: closed loop, stage 1 C=9*scale users joining one every 180 s / C, the stage
    lasting 240 s; then stage 2, 18*scale users all at once for 60 s. Stages are sequential as in
    src/loadtest/runner.cc: stage 2 starts when stage 1's last request has returned. A user
    sends, waits for the answer, thinks Exp(mean Z), sends again; Z = study cycle - warm
    service, where the study cycle (251 ms) is derived from its figures (see STUDY_CYCLE_S);
  - study: keepalive then concurrency on the same pool (what `mlfaas bench study` runs);
  - poisson: open Poisson arrivals at 40 req/s * scale (the study's ~40 predictions/s).

Usage:
  bench/scaling_sim.py                  # the docs/scaling.md tables (about 30-50 s on 2 cores)
  bench/scaling_sim.py --quick          # the same at 100x instead of 1000x (a few seconds)
  bench/scaling_sim.py --check          # invariants; exit status 1 on failure (ctest)
  bench/scaling_sim.py --sanity         # 1x, as docs/results.md's matrix ran it
  options: --settings abcde --profiles builtin,python --workloads keepalive,concurrency,poisson
           --out FILE.md --csv FILE.csv --jobs 2 --seed 1 --scale 1000
"""

import argparse
import collections
import heapq
import math
import multiprocessing
import random
import sys
import time
import zlib

# ---------------------------------------------------------------------------------------------
# Measured inputs (docs/results.md). Each profile: warm service time alone (s), cold start at
# the client (s), memory (MB), and where the figures come from.
PROFILES = {
    "builtin": dict(
        service=0.513e-3, cold=3.08e-3, mem=512,
        src='docs/results.md "Model-loading strategies and snapshots": built-in runtime, init, '
            '512 MB: warm avg 0.513 ms, cold start p50 3.08 ms'),
    "python": dict(
        service=1.034e-3, cold=155.12e-3, mem=512,
        src='docs/results.md "Model-loading strategies and snapshots": Python, init, 512 MB: '
            'warm avg 1.034 ms, cold start p50 155.12 ms'),
    "python-snapshot": dict(
        service=0.676e-3, cold=7.57e-3, mem=512,
        src='docs/results.md "Model-loading strategies and snapshots": Python, snapshot, '
            '512 MB: warm avg 0.676 ms, cold start p50 7.57 ms'),
    "java": dict(
        service=3.56e-3, cold=1.027, mem=512,
        src='docs/results.md "Java": 512 MB, init: warm avg 3.56 ms, cold start p50 1,027 ms'),
    "lambda-study": dict(
        service=0.200, cold=7.0, mem=512,
        src='DESIGN.md §1: the study on AWS Lambda, ~200 ms average, cold 6-8 s (Python; 7 s '
            'used)'),
}

# The study's per-user cycle. DESIGN.md §1: Python 256 MB averaged 33.4 hits/s over the
# concurrency scenario; its users (bench/scenarios/concurrency.yaml) give 2,520 user-seconds
# over 300 s, 8.4 users on average: 33.4 / 8.4 = 3.98 requests/s per user, a 251 ms cycle
# (~200 ms of Lambda latency + ~50 ms on the client's side).
STAGE1_USERS, STAGE1_RAMP, STAGE1_HOLD = 9, 180.0, 60.0
STAGE2_USERS, STAGE2_HOLD = 18, 60.0
KEEPALIVE_MINUTES = [0, 6, 16, 31, 61]
STUDY_MEAN_HITS = 33.4
USER_SECONDS = (sum(STAGE1_RAMP + STAGE1_HOLD - STAGE1_RAMP * i / STAGE1_USERS
                    for i in range(STAGE1_USERS)) + STAGE2_USERS * STAGE2_HOLD)
SCENARIO_S = STAGE1_RAMP + STAGE1_HOLD + STAGE2_HOLD
STUDY_CYCLE_S = (USER_SECONDS / SCENARIO_S) / STUDY_MEAN_HITS  # s per request per user
LAMBDA_IDLE_S = 1200.0  # 20 min: the study's instances survived 15 idle minutes, not 30
                        # (DESIGN.md §3); `mlfaas bench study` uses it (src/loadtest/study.cc)
SHORT_IDLE_S = 30.0     # Knative's scale-to-zero grace (DESIGN.md §3)
VCPU_MB = 1769.0        # 1,769 MB = one vCPU (DESIGN.md §3)
GBS_PRICE = 0.0000166667
REQ_PRICE = 0.20 / 1e6


# ---------------------------------------------------------------------------------------------
# Workloads: lists of phases run one after the other on the same pool.
#   ("at", [times])                        one request at each time (relative to phase start)
#   ("closed", [join offsets], length, Z)  closed-loop users; exponential think time, mean Z
#   ("poisson", rate, length)              open Poisson arrivals

def keepalive_phases(scale, time_scale=1.0):
    times = []
    for m in KEEPALIVE_MINUTES:
        times.extend([m * 60.0 / time_scale] * scale)
    return [("at", times)]


def concurrency_phases(scale, think, time_scale=1.0):
    c1 = STAGE1_USERS * scale
    ramp = STAGE1_RAMP / time_scale
    joins1 = [ramp * i / c1 for i in range(c1)]
    len1 = (STAGE1_RAMP + STAGE1_HOLD) / time_scale
    joins2 = [0.0] * (STAGE2_USERS * scale)
    return [("closed", joins1, len1, think), ("closed", joins2, STAGE2_HOLD / time_scale, think)]


def workload(name, scale, think, time_scale_ka=1.0, time_scale_cc=1.0, poisson_s=60.0):
    if name == "keepalive":
        return keepalive_phases(scale, time_scale_ka)
    if name == "concurrency":
        return concurrency_phases(scale, think, time_scale_cc)
    if name == "study":
        return keepalive_phases(scale, time_scale_ka) + concurrency_phases(
            scale, think, time_scale_cc)
    if name == "poisson":
        return [("poisson", 40.0 * scale, poisson_s)]
    raise ValueError(name)


# ---------------------------------------------------------------------------------------------
class Result(dict):
    """The figures of one run (see CSV_FIELDS)."""


def simulate(phases, service, init, idle_timeout, n=1, mem=512, provisioned=0, reserved=None,
             seed=1, general=False, min_retry=1e-3):
    """Runs the phases on one pool of one function; returns a Result (times in seconds).

    With n == 1 and general=False the fast path runs (no processor sharing is needed, so each
    completion time is known when the invocation is dispatched); general=True forces the
    processor-sharing path, which must give the same figures (--check compares them)."""
    rng = random.Random(seed)
    if n == 1 and not general:
        return _fast(phases, service, init, idle_timeout, mem, provisioned, reserved, rng,
                     min_retry)
    return _general(phases, service, init, idle_timeout, n, mem, provisioned, reserved, rng,
                    min_retry)


def _phase_setup(ph, t0, rng):
    """(mode, sends heap, end of sends, mean think, poisson rate, first poisson arrival)."""
    if ph[0] == "closed":
        return "closed", [t0 + x for x in ph[1]], t0 + ph[2], ph[3], 0.0, math.inf
    if ph[0] == "at":
        sends = sorted(t0 + x for x in ph[1])
        return "at", sends, (sends[-1] if sends else t0), 0.0, 0.0, math.inf
    rate = ph[1]
    return "poisson", [], t0 + ph[2], 0.0, rate, t0 - math.log(1.0 - rng.random()) / rate


def _result(mem, reqs, throttles, inits, cold_req, end, inst_s, inst_s_window, max_live,
            billed_ms, p50, p99, lat_max, lat_sum, area_in, max_inflight):
    gb = mem / 1024.0
    return Result(
        requests=reqs, throttles=throttles, inits=inits, cold_requests=cold_req,
        cold_rate=cold_req / reqs if reqs else 0.0,
        cold_per_1k=1000.0 * inits / reqs if reqs else 0.0,
        duration=end, mean_instances=inst_s_window / end if end > 0 else 0.0,
        max_instances=max_live, instance_s=inst_s, instance_gbs=inst_s * gb,
        billed_gbs=billed_ms / 1000.0 * gb,
        cost_on_demand=reqs * REQ_PRICE + billed_ms / 1000.0 * gb * GBS_PRICE,
        cost_instances=reqs * REQ_PRICE + inst_s * gb * GBS_PRICE,
        p50=p50, p99=p99, lat_max=lat_max, lat_mean=lat_sum / reqs if reqs else 0.0,
        mean_inflight=area_in / end if end > 0 else 0.0, max_inflight=max_inflight)


def _fast(phases, S, init, T, mem, P, reserved, rng, min_retry):
    """N = 1. An instance is (time it became idle or will finish, time it was born); born < 0
    marks a provisioned one. Warm and cold completions each come in dispatch order (constant
    service and init), so two deques replace an event heap; closed-loop users' next sends are
    one heap of times."""
    rand = rng.random
    log = math.log
    hpop = heapq.heappop
    hrep = heapq.heapreplace
    inf = math.inf
    cap = reserved if reserved is not None else inf
    CS = init + S
    wq = collections.deque()      # warm invocations in flight: (finish, born)
    cq = collections.deque()      # cold ones
    idle = collections.deque()    # on-demand idle instances: (idle since, born), oldest left
    idle_p = collections.deque()  # provisioned idle instances
    for _ in range(P):
        idle_p.append((0.0, -1.0))
    live = max_live = P
    inits = warm = cold = throttles = inflight = max_inflight = 0
    inst_s = inst_s_window = 0.0
    t0 = 0.0
    last_fin = 0.0
    for ph in phases:
        mode, sends, end, Z, prate, nxt = _phase_setup(ph, t0, rng)
        closed = mode == "closed"
        while True:
            if prate:
                ts = nxt
                if ts >= end:
                    break
                nxt = ts - log(1.0 - rand()) / prate
            else:
                if not sends:
                    break
                ts = sends[0]
                if closed and ts >= end:
                    break
            # release the invocations finished by ts, in finishing order
            while True:
                if wq and wq[0][0] <= ts:
                    e = cq.popleft() if (cq and cq[0][0] < wq[0][0]) else wq.popleft()
                elif cq and cq[0][0] <= ts:
                    e = cq.popleft()
                else:
                    break
                inflight -= 1
                if e[1] < 0.0:
                    idle_p.append(e)
                else:
                    idle.append(e)
            if inflight >= cap:
                throttles += 1
                if closed:
                    hrep(sends, ts + max(min_retry, -log(1.0 - rand()) * Z))
                elif not prate:
                    hpop(sends)
                continue
            inflight += 1
            if inflight > max_inflight:
                max_inflight = inflight
            # reap the instances idle for T by now
            lim = ts - T
            while idle and idle[0][0] <= lim:
                e = idle.popleft()
                inst_s += e[0] + T - e[1]
                live -= 1
            # the most recently idle instance, else a cold start
            if idle:
                if idle_p and idle_p[-1][0] >= idle[-1][0]:
                    born = idle_p.pop()[1]
                else:
                    born = idle.pop()[1]
                fin = ts + S
                wq.append((fin, born))
                warm += 1
            elif idle_p:
                fin = ts + S
                wq.append((fin, idle_p.pop()[1]))
                warm += 1
            else:
                live += 1
                if live > max_live:
                    max_live = live
                fin = ts + CS
                cq.append((fin, ts))
                cold += 1
            if closed:
                hrep(sends, fin - log(1.0 - rand()) * Z if Z > 0.0 else fin)
            elif not prate:
                hpop(sends)
            if fin > last_fin:
                last_fin = fin
        # the phase ends when its last invocation is back
        while wq or cq:
            if wq and (not cq or wq[0][0] <= cq[0][0]):
                e = wq.popleft()
            else:
                e = cq.popleft()
            inflight -= 1
            (idle_p if e[1] < 0.0 else idle).append(e)
        t0 = max(end, last_fin)
    end_t = t0
    # instances reaped during the run lie inside [0, end_t]; the rest are reaped T after they
    # became idle; provisioned ones are counted until the end of the workload
    inst_s_window = inst_s
    for since, born in idle:
        e = since + T
        inst_s += e - born
        inst_s_window += min(e, end_t) - born
    inst_s += P * end_t
    inst_s_window += P * end_t
    inits = cold
    reqs = warm + cold
    billed_ms = warm * int(math.ceil(S * 1e3 - 1e-9)) + cold * int(math.ceil(CS * 1e3 - 1e-9))

    def pct(p):
        if reqs == 0:
            return 0.0
        rank = max(1, int(math.ceil(p / 100.0 * reqs)))
        lo, hi = (S, CS) if S <= CS else (CS, S)
        n_lo = warm if S <= CS else cold
        return int((lo if rank <= n_lo else hi) * 1e6 + 0.5) / 1e6
    lat_max = CS if cold else (S if warm else 0.0)
    lat_sum = warm * S + cold * CS
    # in flight, integrated over time, equals the sum of latencies here (every invocation
    # lies inside [0, end_t])
    return _result(mem, reqs, throttles, inits, cold, end_t, inst_s, inst_s_window, max_live,
                   billed_ms, pct(50), pct(99), lat_max, lat_sum, lat_sum, max_inflight)


def _general(phases, S, init, T, n, mem, P, reserved, rng, min_retry):
    """Any N, with processor sharing inside an instance: each of its k running invocations
    progresses at rate[k]; V[i] is the service each has received since the instance started,
    and its invocations finish in arrival order (constant service)."""
    rand = rng.random
    log = math.log
    push = heapq.heappush
    pop = heapq.heappop
    inf = math.inf
    cap = reserved if reserved is not None else inf
    vcpu = mem / VCPU_MB
    alone = min(1.0, vcpu)
    rate = [1.0] + [min(alone, vcpu / k) / alone for k in range(1, n + 1)]

    st, load, born, idle_since, prov, V, lastT, run, pend, ver = ([] for _ in range(10))
    idle = collections.deque()       # on-demand idle instance ids, oldest left
    idle_p = collections.deque()     # provisioned idle instance ids
    busy_lvl = [dict() for _ in range(n + 1)]   # ready, 1 <= load < n, by load
    start_lvl = [dict() for _ in range(n + 1)]  # starting, load < n, by load
    ev = []   # (time, instance, version); version -1: init done
    life = []

    def new_instance(t, is_prov, starting):
        st.append(0 if starting else 1)
        load.append(0)
        born.append(t)
        idle_since.append(t)
        prov.append(is_prov)
        V.append(0.0)
        lastT.append(t)
        run.append(collections.deque())
        pend.append([])
        ver.append(0)
        return len(st) - 1

    for _ in range(P):
        idle_p.append(new_instance(0.0, True, False))
    live = max_live = P
    inits = cold_req = done = throttles = inflight = max_inflight = billed_ms = 0
    hist = collections.defaultdict(int)
    lat_sum = lat_max = area_in = 0.0
    last_t = 0.0
    t = 0.0
    t0 = 0.0
    for ph in phases:
        mode, sends, end, Z, prate, nxt = _phase_setup(ph, t0, rng)
        closed = mode == "closed"
        while True:
            if prate:
                ts = nxt if nxt < end else inf
            elif sends and (not closed or sends[0] < end):
                ts = sends[0]
            else:
                ts = inf
            if ev and ev[0][0] <= ts:
                te, i, v = pop(ev)
                if v >= 0 and v != ver[i]:
                    continue  # stale: the instance's rate changed since
                t = te
                area_in += inflight * (t - last_t)
                last_t = t
                if v == -1:
                    # init done: the invocations bound while it started begin
                    st[i] = 1
                    lastT[i] = t
                    l = load[i]
                    if l < n:
                        start_lvl[l].pop(i, None)
                        busy_lvl[l][i] = None
                    q = run[i]
                    for job in pend[i]:
                        q.append((S,) + job)
                    pend[i] = []
                    ver[i] += 1
                    push(ev, (t + S / rate[len(q)], i, ver[i]))
                    continue
                q = run[i]
                k = len(q)
                V[i] += (t - lastT[i]) * rate[k]
                lastT[i] = t
                _, s_t, think = q.popleft()
                lat = t - s_t
                lat_sum += lat
                if lat > lat_max:
                    lat_max = lat
                hist[int(lat * 1e6 + 0.5)] += 1
                billed_ms += int(math.ceil(lat * 1e3 - 1e-9))
                l = load[i]
                if l < n:
                    busy_lvl[l].pop(i, None)
                l -= 1
                load[i] = l
                if l == 0:
                    idle_since[i] = t
                    (idle_p if prov[i] else idle).append(i)
                else:
                    busy_lvl[l][i] = None
                    ver[i] += 1
                    push(ev, (t + (q[0][0] - V[i]) / rate[k - 1], i, ver[i]))
                inflight -= 1
                done += 1
                if think is not None:
                    push(sends, t + think)
                continue
            if ts == inf:
                break
            # ---- a send at ts
            t = ts
            area_in += inflight * (t - last_t)
            last_t = t
            think = None
            if prate:
                nxt = ts - log(1.0 - rand()) / prate
            elif closed:
                pop(sends)
            else:
                pop(sends)
            if inflight >= cap:
                throttles += 1
                if closed:
                    push(sends, ts + max(min_retry, -log(1.0 - rand()) * Z))
                continue
            if closed:
                think = -log(1.0 - rand()) * Z if Z > 0.0 else 0.0
            inflight += 1
            if inflight > max_inflight:
                max_inflight = inflight
            lim = t - T
            while idle and idle_since[idle[0]] <= lim:
                i = idle.popleft()
                st[i] = 2
                live -= 1
                life.append((born[i], idle_since[i] + T))
            # least-loaded ready instance with a free slot (ties: most recently idle), then a
            # starting one, else a cold start
            i = -1
            if idle or idle_p:
                if idle and (not idle_p or idle_since[idle[-1]] > idle_since[idle_p[-1]]):
                    i = idle.pop()
                else:
                    i = idle_p.pop()
            else:
                for l in range(1, n):
                    d = busy_lvl[l]
                    if d:
                        i = d.popitem()[0]
                        break
            if i >= 0:
                q = run[i]
                k = len(q)
                V[i] += (t - lastT[i]) * rate[k]
                lastT[i] = t
                q.append((V[i] + S, t, think))
                l = load[i] + 1
                load[i] = l
                if l < n:
                    busy_lvl[l][i] = None
                ver[i] += 1
                push(ev, (t + (q[0][0] - V[i]) / rate[k + 1], i, ver[i]))
                continue
            for l in range(n):
                d = start_lvl[l]
                if d:
                    i = next(reversed(d))
                    del d[i]
                    break
            if i < 0:
                i = new_instance(t, False, True)
                live += 1
                if live > max_live:
                    max_live = live
                inits += 1
                push(ev, (t + init, i, -1))
            cold_req += 1
            pend[i].append((t, think))
            l = load[i] + 1
            load[i] = l
            if l < n:
                start_lvl[l][i] = None
        t0 = max(end, t)
    end_t = t0
    inst_s = inst_s_window = 0.0
    for b, e in life:
        inst_s += e - b
        inst_s_window += e - b
    for i in range(len(st)):
        if st[i] == 2:
            continue
        e = end_t if prov[i] else idle_since[i] + T
        inst_s += e - born[i]
        inst_s_window += min(e, end_t) - born[i]
    total = done

    def pct(p):
        if total == 0:
            return 0.0
        rank = max(1, int(math.ceil(p / 100.0 * total)))
        seen = 0
        for k in sorted(hist):
            seen += hist[k]
            if seen >= rank:
                return k / 1e6
        return 0.0
    return _result(mem, done, throttles, inits, cold_req, end_t, inst_s, inst_s_window, max_live,
                   billed_ms, pct(50), pct(99), lat_max, lat_sum, area_in, max_inflight)


# ---------------------------------------------------------------------------------------------
def configs(profile, workload_name, scale):
    """The four settings the issue compares, plus a reserved cap, for one workload."""
    p = PROFILES[profile]
    init = max(0.0, p["cold"] - p["service"])
    think = max(0.0, STUDY_CYCLE_S - p["service"])
    if workload_name in ("keepalive",):
        base = scale  # its only load level: `scale` requests at once
    else:
        # base load: the concurrency the 9-user stage's hold (or the Poisson rate) keeps busy,
        # by Little's law, plus three standard deviations of a Poisson count
        lam = (STAGE1_USERS * scale / STUDY_CYCLE_S if workload_name != "poisson"
               else 40.0 * scale)
        mean = lam * p["service"]
        base = int(math.ceil(mean + 3.0 * math.sqrt(mean)))
    n16_mem = 3538  # 2 vCPUs: the N = 16 function of docs/results.md "Several invocations"
    return [
        ("(a) default: N=1, idle 20 min", dict(service=p["service"], init=init,
                                               idle_timeout=LAMBDA_IDLE_S, n=1, mem=p["mem"])),
        ("(b) short keep-alive: N=1, idle 30 s", dict(service=p["service"], init=init,
                                                      idle_timeout=SHORT_IDLE_S, n=1,
                                                      mem=p["mem"])),
        ("(c) provisioned %d (base load), N=1, idle 20 min" % base,
         dict(service=p["service"], init=init, idle_timeout=LAMBDA_IDLE_S, n=1, mem=p["mem"],
              provisioned=base)),
        ("(d) N=16 at %d MB (2 vCPU), idle 20 min" % n16_mem,
         dict(service=p["service"], init=init, idle_timeout=LAMBDA_IDLE_S, n=16, mem=n16_mem)),
        ("(e) as (a), reserved concurrency 1,000",
         dict(service=p["service"], init=init, idle_timeout=LAMBDA_IDLE_S, n=1, mem=p["mem"],
              reserved=1000)),
    ], think


def seed_for(seed, *names):
    return zlib.crc32(("%d|" % seed + "|".join(names)).encode()) & 0x7FFFFFFF


def run_one(job):
    profile, wl, scale, label, kw, think, seed = job
    t0 = time.perf_counter()
    phases = workload(wl, scale, think)
    r = simulate(phases, seed=seed_for(seed, profile, wl), **kw)
    r["wall"] = time.perf_counter() - t0
    return (profile, wl, label, r)


def fmt_ms(s):
    if s >= 1.0:
        return "%.2f s" % s
    if s >= 0.1:
        return "%.0f ms" % (s * 1e3)
    return "%.2f ms" % (s * 1e3)


def fmt_int(x):
    return "{:,}".format(int(round(x)))


HEADER = ("| workload | setting | requests | cold starts | per 1k req | req. waiting on init "
          "| throttles | mean / max instances | instance GB-s (kept) | billed GB-s (1 ms) | "
          "p50 | p99 | max |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def row(wl, label, r):
    return ("| %s | %s | %s | %s | %.3f | %.3f %% | %s | %.1f / %s | %s | %s | %s | %s | %s |" % (
        wl, label, fmt_int(r["requests"]), fmt_int(r["inits"]), r["cold_per_1k"],
        100.0 * r["cold_rate"], fmt_int(r["throttles"]), r["mean_instances"],
        fmt_int(r["max_instances"]), fmt_int(r["instance_gbs"]), fmt_int(r["billed_gbs"]),
        fmt_ms(r["p50"]), fmt_ms(r["p99"]), fmt_ms(r["lat_max"])))


CSV_FIELDS = ["requests", "throttles", "inits", "cold_requests", "cold_rate", "cold_per_1k",
              "duration", "mean_instances", "max_instances", "instance_s", "instance_gbs",
              "billed_gbs", "cost_on_demand", "cost_instances", "p50", "p99", "lat_max",
              "lat_mean", "mean_inflight", "max_inflight"]


def main_tables(args):
    jobs = []
    for profile in args.profiles:
        for wl in args.workloads:
            cfgs, think = configs(profile, wl, args.scale)
            for label, kw in cfgs:
                if label[1] not in args.settings:
                    continue
                jobs.append((profile, wl, args.scale, label, kw, think, args.seed))
    t0 = time.perf_counter()
    # The heaviest jobs first, so that two workers finish together.
    order = sorted(range(len(jobs)), key=lambda k: (jobs[k][1] == "keepalive",
                                                    jobs[k][4].get("n", 1) != 1))
    if args.jobs > 1:
        with multiprocessing.Pool(args.jobs) as pool:
            res = pool.map(run_one, [jobs[k] for k in order], chunksize=1)
    else:
        res = [run_one(jobs[k]) for k in order]
    back = {}
    for k, r in zip(order, res):
        back[k] = r
    res = [back[k] for k in range(len(jobs))]
    wall = time.perf_counter() - t0
    out = []
    for profile in args.profiles:
        p = PROFILES[profile]
        out.append("Profile `%s` (%s); scale %dx; think time %.1f ms (study cycle %.1f ms); "
                   "seed %d.\n" % (profile, p["src"], args.scale,
                                  1e3 * max(0.0, STUDY_CYCLE_S - p["service"]),
                                  1e3 * STUDY_CYCLE_S, args.seed))
        out.append(HEADER)
        for (prof, wl, label, r) in res:
            if prof == profile:
                out.append(row(wl, label, r))
        out.append("")
    out.append("Simulated in %.1f s of wall time (%d jobs, %d processes)." % (
        wall, len(jobs), args.jobs))
    text = "\n".join(out)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("profile,workload,setting," + ",".join(CSV_FIELDS) + "\n")
            for (prof, wl, label, r) in res:
                f.write("%s,%s,\"%s\"," % (prof, wl, label) +
                        ",".join("%.9g" % r[k] for k in CSV_FIELDS) + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
def sanity(args):
    """The study's two scenarios at 1x as docs/results.md's matrix ran them: keep-alive
    compressed 240x, concurrency 10x, idle timeout 5 s, closed loop without think time, on one
    pool; the built-in runtime at 512 MB, `init`."""
    p = PROFILES["builtin"]
    phases = workload("study", 1, 0.0, time_scale_ka=240.0, time_scale_cc=10.0)
    ka = workload("keepalive", 1, 0.0, time_scale_ka=240.0)
    out = []
    r_ka = simulate(ka, p["service"], p["cold"] - p["service"], 5.0, seed=args.seed)
    r = simulate(phases, p["service"], p["cold"] - p["service"], 5.0, seed=args.seed)
    out.append("1x, matrix settings (keep-alive /240, concurrency /10, idle timeout 5 s, "
               "think 0):")
    out.append("  keep-alive alone: %d cold starts in %d requests" % (r_ka["inits"],
                                                                       r_ka["requests"]))
    out.append("  keep-alive then concurrency on one pool: %d cold starts (%d in the "
               "concurrency scenario), %s requests, max %d instances" % (
                   r["inits"], r["inits"] - r_ka["inits"], fmt_int(r["requests"]),
                   r["max_instances"]))
    out.append("  docs/results.md, the matrix: 19 per cell (2 keep-alive, 17 concurrency)")
    print("\n".join(out))
    return 0


# ---------------------------------------------------------------------------------------------
def check(args):
    failures = []

    def expect(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    S, C = 0.5e-3, 3e-3
    # 1. One arrival at a time, service < idle timeout: exactly one cold start.
    times = [k * 1.0 for k in range(200)]
    r = simulate([("at", times)], S, C, idle_timeout=5.0)
    expect(r["inits"] == 1 and r["requests"] == 200,
           "one at a time, gaps < idle timeout: 1 cold start (got %d)" % r["inits"])
    # ... and with gaps beyond the idle timeout, every call is cold.
    r = simulate([("at", [k * 10.0 for k in range(20)])], S, C, idle_timeout=5.0)
    expect(r["inits"] == 20, "gaps > idle timeout: every call cold (got %d)" % r["inits"])
    # 2. The keep-alive scenario at 1x, idle 20 min: C W W W C (2 cold starts).
    r = simulate(keepalive_phases(1), S, C, idle_timeout=LAMBDA_IDLE_S)
    expect(r["inits"] == 2, "keep-alive at 1x, idle 20 min: 2 cold starts (got %d)" % r["inits"])
    # 3. Provisioned >= peak concurrency: no cold start.
    ph = [("poisson", 2000.0, 20.0)]
    r0 = simulate(ph, S, C, idle_timeout=60.0, seed=3)
    peak = r0["max_inflight"]
    r = simulate(ph, S, C, idle_timeout=60.0, provisioned=peak, seed=3)
    expect(r["inits"] == 0 and r0["inits"] > 0,
           "provisioned %d >= peak in flight: 0 cold starts (got %d; without: %d)" % (
               peak, r["inits"], r0["inits"]))
    cc = concurrency_phases(10, 0.2)
    r = simulate(cc, S, C, idle_timeout=60.0, provisioned=180, n=1, seed=4)
    expect(r["inits"] == 0, "concurrency x10, provisioned 180 = its peak users: 0 cold starts "
           "(got %d)" % r["inits"])
    # 4. Throttles only when the reserved cap binds.
    r = simulate(ph, S, C, idle_timeout=60.0, reserved=peak, seed=3)
    expect(r["throttles"] == 0, "reserved = peak in flight (%d): 0 throttles (got %d)" % (
        peak, r["throttles"]))
    r = simulate(ph, S, C, idle_timeout=60.0, reserved=max(1, peak // 2), seed=3)
    expect(r["throttles"] > 0 and r["max_inflight"] <= max(1, peak // 2),
           "reserved = peak/2: throttles (%d) and never more in flight than the cap (%d)" % (
               r["throttles"], r["max_inflight"]))
    r = simulate(cc, S, C, idle_timeout=60.0, reserved=100, seed=4)
    expect(r["throttles"] > 0 and r["max_inflight"] <= 100,
           "closed loop, 180 users, reserved 100: throttles %d, max in flight %d <= 100" % (
               r["throttles"], r["max_inflight"]))
    # 5. Little's law on the processor-sharing path: the time integral of invocations in
    # flight (accumulated event by event) = throughput x mean latency (summed per invocation).
    for n_ in (1, 16):
        r = simulate([("poisson", 5000.0, 30.0)], S, C, idle_timeout=60.0, n=n_, mem=3538,
                     general=True, seed=5)
        lam = r["requests"] / r["duration"]
        lw = lam * r["lat_mean"]
        expect(abs(r["mean_inflight"] - lw) <= 0.01 * lw,
               "Little's law, N=%d: L %.4f vs lambda*W %.4f" % (n_, r["mean_inflight"], lw))
        if n_ == 1:
            # M/G/inf with few cold starts: mean in flight ~ lambda x service = 2.5
            expect(abs(r["mean_inflight"] - 2.5) <= 0.05 * 2.5,
                   "Poisson 5000/s x 0.5 ms, N=1: mean in flight %.3f ~ 2.5" % r["mean_inflight"])
    # 6. The general (processor-sharing) path with N=1 equals the fast path.
    for ph2, idle_to in ((cc, 60.0), (keepalive_phases(5), LAMBDA_IDLE_S),
                         ([("poisson", 3000.0, 10.0)], 0.5)):
        a = simulate(ph2, S, C, idle_timeout=idle_to, seed=6)
        b = simulate(ph2, S, C, idle_timeout=idle_to, seed=6, general=True)
        keys = ("requests", "inits", "max_instances", "throttles")
        same = all(a[k] == b[k] for k in keys) and abs(a["instance_s"] - b["instance_s"]) < 1e-6
        same = same and abs(a["lat_mean"] - b["lat_mean"]) < 1e-9 and a["p99"] == b["p99"]
        same = same and abs(a["mean_inflight"] - b["mean_inflight"]) < 1e-6 * max(
            1.0, b["mean_inflight"])
        expect(same, "N=1: fast path == processor-sharing path (%s; inits %d/%d, inst-s "
               "%.3f/%.3f)" % (ph2[0][0], a["inits"], b["inits"], a["instance_s"],
                               b["instance_s"]))
    # 7. N=16 never needs more cold starts than N=1 on the same arrivals; one instance can run 16.
    a = simulate(cc, S, C, idle_timeout=60.0, n=1, seed=7)
    b = simulate(cc, S, C, idle_timeout=60.0, n=16, mem=3538, seed=7)
    expect(b["inits"] <= a["inits"], "concurrency x10: N=16 cold starts %d <= N=1 %d" % (
        b["inits"], a["inits"]))
    r = simulate([("at", [0.0] * 16)], S, C, idle_timeout=60.0, n=16, mem=3538)
    expect(r["inits"] == 1 and r["cold_requests"] == 16,
           "16 at once, N=16: 1 instance, 16 requests waited on its init (%d, %d)" % (
               r["inits"], r["cold_requests"]))
    r = simulate([("at", [0.0] * 17)], S, C, idle_timeout=60.0, n=16, mem=3538)
    expect(r["inits"] == 2, "17 at once, N=16: 2 instances (got %d)" % r["inits"])
    # CPU sharing: 16 jobs on 2 vCPUs take 8x the service time; 2 jobs run at full speed.
    r = simulate([("at", [0.0] * 16)], S, 0.0, idle_timeout=60.0, n=16, mem=2 * VCPU_MB)
    expect(abs(r["lat_max"] - 8 * S) < 1e-9, "16 jobs on 2 vCPUs: latency 8 x service "
           "(%.3f ms)" % (r["lat_max"] * 1e3))
    r = simulate([("at", [0.0] * 2)], S, 0.0, idle_timeout=60.0, n=16, mem=2 * VCPU_MB)
    expect(abs(r["lat_max"] - S) < 1e-9, "2 jobs on 2 vCPUs: full speed")
    # 8. Cold latency = the measured cold start; instance-seconds of a lone call.
    r = simulate([("at", [0.0])], S, C - S, idle_timeout=10.0)
    expect(abs(r["lat_max"] - C) < 1e-9 and abs(r["instance_s"] - (C + 10.0)) < 1e-9,
           "one call: latency = cold start, instance lives init + service + idle timeout")
    # 9. Determinism.
    a = simulate(cc, S, C, idle_timeout=60.0, seed=8)
    b = simulate(cc, S, C, idle_timeout=60.0, seed=8)
    expect(a == b, "same seed, same result")
    # 10. The study's sanity run: 2 + 17 cold starts, as the matrix measured.
    p = PROFILES["builtin"]
    r = simulate(workload("study", 1, 0.0, 240.0, 10.0), p["service"],
                 p["cold"] - p["service"], 5.0)
    expect(r["inits"] == 19, "study at 1x, matrix settings: 19 cold starts (got %d)" % r["inits"])
    # 11. The derived study cycle.
    expect(abs(USER_SECONDS - 2520.0) < 1e-9 and abs(STUDY_CYCLE_S - 0.2515) < 0.001,
           "study: 2,520 user-seconds, cycle %.1f ms" % (STUDY_CYCLE_S * 1e3))
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100x instead of 1000x")
    ap.add_argument("--check", action="store_true", help="assert invariants, exit 1 on failure")
    ap.add_argument("--sanity", action="store_true", help="1x, the matrix's settings")
    ap.add_argument("--scale", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--profiles", default="builtin")
    ap.add_argument("--workloads", default="keepalive,concurrency")
    ap.add_argument("--settings", default="abcd",
                    help="which settings: a-d as the issue asks, e adds a reserved cap of 1,000")
    ap.add_argument("--out", help="write the markdown tables here too")
    ap.add_argument("--csv", help="write every figure as CSV")
    args = ap.parse_args()
    if args.check:
        return check(args)
    if args.sanity:
        return sanity(args)
    if args.quick:
        args.scale = 100
    args.profiles = args.profiles.split(",")
    args.workloads = args.workloads.split(",")
    for p in args.profiles:
        if p not in PROFILES:
            ap.error("unknown profile %s (%s)" % (p, ", ".join(PROFILES)))
    return main_tables(args)


if __name__ == "__main__":
    sys.exit(main())
