"""The snapshot template of the Java runtime: what `bootstrap` runs when mlfaas starts it as a
snapshot template (MLFAAS_SNAPSHOT_FD set: model_loading = snapshot; the fork protocol's frames
are in src/common/worker_protocol.h).

A JVM cannot be forked safely (README.md, "Snapshots"), so the template is this small python3
process instead, with no JVM in it: it speaks the fork protocol through libmlfaas-snapshot.so
($MLFAAS_SNAPSHOT_LIB, as examples/python/snapshot.py does) and, in each forked instance, now
confined as an instance of its own with its own Runtime API, execs `bootstrap` again, which
starts that instance's JVM and loads the model at init. Snapshot falls back to init, with
mlfaas's snapshot machinery around it unchanged.
Usage (from bootstrap): python3 snapshot_template.py <path of bootstrap>
"""

import ctypes
import os
import sys
import time


def main():
    start = time.perf_counter()
    bootstrap = sys.argv[1]
    print("bootstrap: MLFAAS_MODEL_LOADING=snapshot: the JVM cannot be forked safely, so the"
          " template is a python3 process that forks each instance, and each instance starts"
          " its own JVM (snapshot falls back to init)", file=sys.stderr, flush=True)
    path = os.environ.get("MLFAAS_SNAPSHOT_LIB")
    if not path:
        print("bootstrap: MLFAAS_SNAPSHOT_LIB is not set: this mlfaas has no"
              " libmlfaas-snapshot.so", file=sys.stderr, flush=True)
        return 1
    lib = ctypes.PyDLL(path)  # PyDLL: the GIL stays held across the call, which forks
    lib.mlfaas_snapshot_serve.argtypes = [ctypes.c_longlong]
    lib.mlfaas_snapshot_serve.restype = ctypes.c_int
    ctypes.pythonapi.PyOS_BeforeFork()
    rc = lib.mlfaas_snapshot_serve(int((time.perf_counter() - start) * 1e6))
    if rc != 0:  # still the template, nothing forked (the library said why on stderr)
        ctypes.pythonapi.PyOS_AfterFork_Parent()
        return 1
    ctypes.pythonapi.PyOS_AfterFork_Child()
    # A forked instance: the protocol set this instance's environment in the C environ.
    environ = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    env = {}
    i = 0
    while environ[i]:
        key, _, value = environ[i].partition(b"=")
        env[key] = value
        i += 1
    env.pop(b"MLFAAS_SNAPSHOT_FD", None)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(bootstrap, [bootstrap], env)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
