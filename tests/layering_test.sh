#!/usr/bin/env bash
# The layering rules of docs/architecture.md, checked on the #include lines of src/.
# Usage: tests/layering_test.sh <src dir>. Prints every violation; exits 1 if there is any.
set -uo pipefail
SRC=${1:?usage: layering_test.sh <src dir>}
cd "$SRC" || exit 2
fail=0

# never DIR PATTERN WHY: no file under DIR includes a project header matching PATTERN.
never() {
  local dir=$1 pattern=$2 why=$3 hits
  [ -d "$dir" ] || { echo "layering: $dir does not exist" >&2; fail=1; return; }
  hits=$(grep -rnE "^#include \"($pattern)" "$dir" --include='*.h' --include='*.cc' || true)
  if [ -n "$hits" ]; then
    echo "layering: $dir must never include $pattern ($why):"
    echo "$hits" | sed 's/^/    /'
    fail=1
  fi
}

never ui      'common/|auth/|model/|package/|registry/|runtime/|sandbox/|gateway/|loadtest/|cli/' \
  "ui holds the dashboard's files and nothing else"
never common  'ui/|auth/|model/|package/|registry/|runtime/|sandbox/|gateway/|loadtest/|cli/' "common is the bottom"
never model   'auth/|package/|registry/|runtime/|sandbox/|gateway/|loadtest/|cli/' "model is below package"
never package 'auth/|registry/|runtime/|sandbox/|gateway/|loadtest/|cli/' "package is below registry"
never registry 'auth/|runtime/|sandbox/|gateway/|loadtest/|cli/' "registry is below the gateway"
never sandbox 'ui/|auth/|model/|package/|registry/|runtime/|gateway/|loadtest/|cli/' \
  "sandbox is OS mechanism: it knows environments, not functions"
never runtime 'ui/|auth/|registry/|gateway/|loadtest/|cli/' \
  "a worker shares only the contract (common/worker_protocol.h) with the gateway"
# The worker's executable composes the sandbox's inside (a stem cell's jail, a snapshot
# template's forks) with the worker: only its main, and only those headers.
jail=$(grep -rnE '^#include "sandbox/' runtime --include='*.h' --include='*.cc' |
  grep -vE '^runtime/main.cc:[0-9]*:#include "sandbox/(stem_cell|snapshot_cell).h"' || true)
if [ -n "$jail" ]; then
  echo "layering: only runtime/main.cc may include sandbox/ (stem_cell.h, snapshot_cell.h); found:"
  echo "$jail" | sed 's/^/    /'
  fail=1
fi
never loadtest 'auth/|registry/|runtime/|sandbox/|gateway/|cli/' "the load tester is a client"
never gateway 'runtime/|loadtest/|cli/' "the gateway talks to workers through the contract only"
never auth 'model/|package/|runtime/|sandbox/|gateway/|loadtest/|cli/' \
  "auth knows keys, scopes and requests; the gateway asks it"

# Inside the gateway: frontend -> invoke -> pool -> base, and gateway.{h,cc} on top.
never gateway/base     'gateway/(pool|invoke|frontend)/|gateway/gateway\.h' "base is below every layer"
never gateway/pool     'gateway/(invoke|frontend)/|gateway/gateway\.h' "the pool does not know who calls it"
never gateway/invoke   'gateway/frontend/|gateway/gateway\.h' "routing does not know the front doors"
never gateway/frontend 'gateway/gateway\.h' "front doors are wired by gateway.cc"

# The one way into package: the code store installs code trees.
pkg=$(grep -rlE '^#include "package/' gateway || true)
if [ -n "$pkg" ] && [ "$pkg" != "gateway/base/code_store.cc" ]; then
  echo "layering: only gateway/base/code_store.cc may include package/ (code trees); found:"
  echo "$pkg" | sed 's/^/    /'
  fail=1
fi

[ "$fail" -eq 0 ] && echo "layering: ok"
exit "$fail"
