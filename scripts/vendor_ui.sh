#!/usr/bin/env bash
# Vendors the dashboard's npm packages into ui/node_modules (docs/dashboard.md): uPlot, the chart
# library compiled into the binary, and, for the browser tests, playwright-core and axe-core.
# Versions are pinned by ui/package-lock.json (npm ci). Runs again only when the lock changed.
# Without npm it says so and returns 0: the build goes on without charts.
set -euo pipefail
cd "$(dirname "$0")/../ui"
stamp=node_modules/.mlfaas-vendored
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ -f node_modules/uplot/dist/uPlot.iife.min.js ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "vendor_ui: npm not found: the dashboard is built without charts (scripts/deps.sh installs it)" >&2
  exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
touch "$stamp"
