#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, build-fuzz/) and runs each for SECONDS over a copy of its
# seed corpus (fuzz/corpus/<target>/ is never modified here). docs/testing.md, "Fuzzing".
#
#   bench/fuzz.sh [SECONDS_PER_TARGET=30] [extra libFuzzer args...]
#   MLFAAS_FUZZ_TARGETS="worker_channel_fuzz package_reader_fuzz" bench/fuzz.sh 60
#   MLFAAS_FUZZ_JOBS=2   build parallelism (default: nproc)
#
# Prints the executions per target (libFuzzer's stat::number_of_executed_units) and the total.
# Exits non-zero on any crash, leak, timeout (-timeout=10 per input) or out-of-memory
# (-rss_limit_mb=2048); each failing input is copied to fuzz/crashes/<target>-<sha1> and its path
# printed with the end of the report. Reproduce with: build-fuzz/bin/<target> <that file>.
# Installs nothing: scripts/deps.sh installs clang and libclang-rt-14-dev.
#
# Leaks: libFuzzer's default -detect_leaks=1 is kept (LeakSanitizer works on this machine; where
# ptrace is restricted, e.g. some containers, pass -detect_leaks=0 as an extra argument).
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
shift $(($# > 0 ? 1 : 0))
EXTRA=("$@")
TARGETS=(${MLFAAS_FUZZ_TARGETS:-http_front_door_fuzz model_conversion_fuzz model_tensor_fuzz
  worker_channel_fuzz worker_pipeline_fuzz package_reader_fuzz scenario_yaml_fuzz sigv4_fuzz
  xgboost_model_fuzz feedback_fuzz})
BUILD=build-fuzz

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (scripts/deps.sh installs clang libclang-rt-14-dev)" >&2
  exit 2
fi
# -O1 -g1: what libFuzzer's docs suggest for speed of the instrumented code, line numbers in
# the stacks, and about half the build time of -O2 -g (the build dominates a 30-s CI run).
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1" -DMLFAAS_FUZZ=ON -DMLFAAS_BUILD_TESTS=OFF \
  -DMLFAAS_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null || exit 2
cmake --build "$BUILD" -j"${MLFAAS_FUZZ_JOBS:-$(nproc)}" --target mlfaas_fuzzers || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/mlfaas-fuzz-run.XXXXXX")
# The targets' own temp files (fuzz/fuzz_util.h): on tmpfs when there is one, and removed even
# when a target dies on a finding.
scratch=$(mktemp -d "$([ -w /dev/shm ] && echo /dev/shm || echo "$work")/mlfaas-fuzz-tmp.XXXXXX")
export MLFAAS_FUZZ_TMPDIR=$scratch
trap 'rm -rf "$work" "$scratch"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Targets run MLFAAS_FUZZ_PARALLEL at a time (default: nproc), each on one core; their reports
# are printed in the order above.
run_target() {
  local t=$1 bin=$BUILD/bin/$1 corpus=$work/$1/corpus artifacts=$work/$1/artifacts
  local log=$work/$1/log dict=()
  mkdir -p "$corpus" "$artifacts"
  cp -R "fuzz/corpus/$t/." "$corpus/" 2>/dev/null || true
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "${EXTRA[@]}" \
    "$corpus" >"$log" 2>&1
  echo $? >"$work/$t/rc"
}

printf '== fuzz.sh: %s s per target\n' "$SECONDS_PER_TARGET"
parallel=${MLFAAS_FUZZ_PARALLEL:-$(nproc)}
running=0
for t in "${TARGETS[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

total=0
failed=0
for t in "${TARGETS[@]}"; do
  log=$work/$t/log
  artifacts=$work/$t/artifacts
  rc=$(cat "$work/$t/rc" 2>/dev/null || echo 99)
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  execs=${execs:-0}
  total=$((total + execs))
  found=()
  for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [ -f "$a" ] || continue
    mkdir -p fuzz/crashes
    dest=fuzz/crashes/$t-$(sha1sum "$a" | cut -c1-40)
    cp "$a" "$dest"
    found+=("$dest ($(basename "$a" | cut -d- -f1))")
  done
  if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
    failed=1
    printf '%-24s %12d execs  FAILED (exit %d)\n' "$t" "$execs" "$rc"
    for f in "${found[@]}"; do printf '    input: %s\n' "$f"; done
    echo "    --- end of the report ($log) ---"
    grep -v -e '^#[0-9]' -e 'NEW_FUNC' -e '^INFO:' -e '^Dictionary:' "$log" | tail -60 |
      sed 's/^/    /'
  else
    printf '%-24s %12d execs  ok\n' "$t" "$execs"
  fi
done
printf '%-24s %12d execs\n' total "$total"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: FAILED; reproduce with $BUILD/bin/<target> fuzz/crashes/<file>" >&2
  exit 1
fi
