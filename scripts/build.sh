#!/usr/bin/env bash
# Configures and builds mlfaas into build/ (Release with debug info).
# Usage: build.sh [target...]   (default: everything). Env MLFAAS_CMAKE_ARGS: extra cmake flags.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard's chart library (npm, pinned by ui/package-lock.json) is compiled in.
bash scripts/vendor_ui.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MLFAAS_CMAKE_ARGS:-} >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build -j"$(nproc)" --target "$@"
else
  cmake --build build -j"$(nproc)"
fi
