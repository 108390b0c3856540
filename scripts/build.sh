#!/usr/bin/env bash
# Configures and builds mlfaas into build/ (Release with debug info). Extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MLFAAS_CMAKE_ARGS:-} "$@" >/dev/null
cmake --build build -j"$(nproc)"
