#!/usr/bin/env bash
# The CI plan (and the README's test command): installs what is missing, then
#   plain  build with -Werror, check that strict isolation is available, run every test;
#   asan   ASan+UBSan build (build-asan) and every test;
#   tsan   TSan build (build-tsan) of the gateway, runtime and sandbox tests, and run them;
#   fuzz   the libFuzzer targets built with clang (build-fuzz), ~30 s each from their seed corpora.
# MLFAAS_TEST_STAGES picks stages, in order (default: all four); fails at the first failure.
# MLFAAS_TEST_STAGES=plain is the quick loop while developing.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGES=${MLFAAS_TEST_STAGES:-plain asan tsan fuzz}
# Sanitizer builds: -O1 -g1 (line numbers in reports) with assertions on; faster to build than
# -O2 -g and fast enough to run. build-asan and build-tsan keep their own settings. No
# precompiled headers there: code generation is ~80% of an instrumented file, the header saved
# ~2% of the heaviest one and costs the light ones more (docs/testing.md, "Build time").
# Every CI build is a unity build (CMAKE_UNITY_BUILD: a target's files compiled in batches of 8,
# so the templates they share are instantiated once per batch; docs/testing.md, "Build time").
# Test code there compiles at -O0 (MLFAAS_TEST_OPTIMIZE): 2.4x faster to build than -O1 under
# ASan, and the code under test keeps -O1.
SAN_FLAGS=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1" -DMLFAAS_WERROR=ON
  -DMLFAAS_BUILD_BENCH=OFF -DMLFAAS_PCH=OFF -DCMAKE_UNITY_BUILD=ON -DMLFAAS_TEST_OPTIMIZE=-O0)
bash scripts/deps.sh
start=$SECONDS
stage_done() { echo "== test.sh: stage $1 passed ($((SECONDS - start)) s so far)" >&2; }

for stage in $STAGES; do
  case $stage in
    plain)
      # Line tables only (-g1, MLFAAS_DEBUG_INFO=lines): the same -O2 code, stacks keep
      # file:line, ~10% less build CPU than -g on top of the precompiled headers (docs/testing.md,
      # "Build time").
      MLFAAS_CMAKE_ARGS="-DMLFAAS_WERROR=ON -DMLFAAS_DEBUG_INFO=lines -DCMAKE_UNITY_BUILD=ON" \
        bash scripts/build.sh
      # Every test runs at the default isolation, strict: a machine that cannot offer it must
      # fail here, not pass the suite at a silently weaker level (docs/isolation.md).
      build/bin/mlfaas doctor --require strict
      (cd build && ctest --output-on-failure --no-tests=error -j2 --timeout 600)
      ;;
    asan)
      # Without the fuzz corpora's replays: the fuzz stage runs every seed under clang's
      # ASan+UBSan (and the plain stage replays them too).
      cmake -S . -B build-asan -G Ninja "${SAN_FLAGS[@]}" -DMLFAAS_SANITIZE=address,undefined \
        -DMLFAAS_FUZZ_REPLAY=OFF >/dev/null
      cmake --build build-asan -j"$(nproc)"
      (cd build-asan &&
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure --no-tests=error -j2 --timeout 900)
      ;;
    tsan)
      cmake -S . -B build-tsan -G Ninja "${SAN_FLAGS[@]}" -DMLFAAS_SANITIZE=thread >/dev/null
      # Only these test executables are built, and ctest runs only their tests (by label: each
      # test carries its executable's name).
      tsan_tests=(gateway_test gateway_serve_test gateway_fault_test runtime_test sandbox_test)
      cmake --build build-tsan -j"$(nproc)" --target "${tsan_tests[@]}" mlfaas mlfaas-runtime
      labels=$(IFS='|'; echo "^(${tsan_tests[*]})\$")
      (cd build-tsan &&
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../tests/tsan.supp" \
        ctest --output-on-failure --no-tests=error -j2 --timeout 900 -L "$labels")
      ;;
    fuzz)
      bash bench/fuzz.sh 30
      ;;
    *)
      echo "test.sh: unknown stage '$stage' (plain asan tsan fuzz)" >&2
      exit 2
      ;;
  esac
  stage_done "$stage"
done
