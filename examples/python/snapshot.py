"""The mlfaas fork protocol (docs/runtime.md, "The fork protocol"), for a template's runtime.

With model_loading = snapshot, mlfaas starts one template per published version with
MLFAAS_SNAPSHOT_FD set. The runtime runs its init once (imports, loading the model) and calls
serve(): in the template it never returns (it forks an instance per cold start); in each forked
instance it returns, the process now confined as an instance of its own (its own namespaces,
/proc, /tmp, cgroups, uid, seccomp) with its own Runtime API at $AWS_LAMBDA_RUNTIME_API.

The frames are mlfaas's worker protocol (src/common/worker_protocol.h); this module uses
libmlfaas-snapshot.so ($MLFAAS_SNAPSHOT_LIB, mounted read-only into the template's sandbox),
through ctypes, to speak them and to confine each child. Outside a template it does nothing.
"""

import ctypes
import gc
import os


def is_template():
    return bool(os.environ.get("MLFAAS_SNAPSHOT_FD"))


def _lib():
    path = os.environ.get("MLFAAS_SNAPSHOT_LIB")
    if not path:
        raise OSError("MLFAAS_SNAPSHOT_LIB is not set: this mlfaas has no libmlfaas-snapshot.so")
    # PyDLL: the GIL stays held across the call, which forks.
    lib = ctypes.PyDLL(path)
    lib.mlfaas_snapshot_serve.argtypes = [ctypes.c_longlong]
    lib.mlfaas_snapshot_serve.restype = ctypes.c_int
    lib.mlfaas_snapshot_init_error.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.mlfaas_snapshot_init_error.restype = ctypes.c_int
    return lib


def _environ():
    return ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")


def _refresh_environ(environ):
    """os.environ from the C environment (`environ`, from _environ() before the fork, which then
    costs nothing in the child), which the protocol set for this instance."""
    current = {}
    i = 0
    while environ[i]:
        key, _, value = environ[i].decode("utf-8", "surrogateescape").partition("=")
        current[key] = value
        i += 1
    for key in list(os.environ):
        if key not in current:
            del os.environ[key]
    for key, value in current.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def serve(init_seconds):
    """Returns in each forked instance; raises OSError when the protocol cannot start."""
    lib = _lib()
    environ = _environ()
    # Everything init made moves to the permanent generation: a child's collections never walk
    # (and so never copy) the pages it shares with the template.
    gc.collect()
    gc.freeze()
    ctypes.pythonapi.PyOS_BeforeFork()
    rc = lib.mlfaas_snapshot_serve(int(init_seconds * 1e6))
    if rc != 0:  # still the template: nothing was forked
        ctypes.pythonapi.PyOS_AfterFork_Parent()
        raise OSError("mlfaas fork protocol failed (see the line above)")
    ctypes.pythonapi.PyOS_AfterFork_Child()
    _refresh_environ(environ)


def init_error(error_type, message):
    """Tells the gateway the template's init failed."""
    try:
        _lib().mlfaas_snapshot_init_error(error_type.encode(), message.encode())
    except OSError:
        pass
