#!/bin/bash
# The instance-pool simulation of docs/scaling.md: its self-check, then the tables.
# Usage: bench/run_scaling_sim.sh [extra scaling_sim.py options, e.g. --quick or --profiles python]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
/usr/bin/python3 "$here/scaling_sim.py" --check
/usr/bin/python3 "$here/scaling_sim.py" "$@"
