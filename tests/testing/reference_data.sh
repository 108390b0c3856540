#!/usr/bin/env bash
# Makes a test's reference data at build time (mlfaas_reference_data, tests/CMakeLists.txt): runs
# COMMAND... with OUT_DIR emptied first, its stdout and stderr kept in OUT_DIR/stdout.txt and
# OUT_DIR/stderr.txt. On success it writes OUT_DIR/done (the build's output, written last); on
# failure OUT_DIR/failed (the exit status) instead and still exits 0: the build goes on, the
# tests that read the data report the failure and its stderr, and the next build tries again
# (no `done`).
# Usage: reference_data.sh OUT_DIR COMMAND [ARG...]
set -u
out=$1
shift
rm -rf "$out"
mkdir -p "$out"
"$@" >"$out/stdout.txt" 2>"$out/stderr.txt"
code=$?
if [ "$code" -eq 0 ]; then
  echo 0 >"$out/done"
else
  echo "$code" >"$out/failed"
  echo "reference_data.sh: $* failed (exit $code); the tests that read $out will say why" >&2
fi
exit 0
