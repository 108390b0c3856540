#!/usr/bin/env bash
# Installs what is missing, builds with -Werror and runs every test under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
MLFAAS_CMAKE_ARGS="-DMLFAAS_WERROR=ON" bash scripts/build.sh
cd build && ctest --output-on-failure -j2 --timeout 600
