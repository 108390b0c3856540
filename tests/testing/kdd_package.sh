#!/usr/bin/env bash
# The ctest fixture KddPackage.Train (tests/CMakeLists.txt): the model package `mlfaas train`
# makes from the shipped data, trained once per ctest run for the tests that need a trained
# model (tests/testing/kdd_package.h copies it). In OUT_DIR: kdd.zip, train's --json report
# (train.json) and its stderr (train.err), then `done`.
# Usage: kdd_package.sh MLFAAS_BIN DATA_FILE OUT_DIR
set -euo pipefail
mlfaas=$1
data=$2
out=$3
rm -rf "$out"
mkdir -p "$out"
"$mlfaas" --home "$out/home" train --data "$data" --out "$out/kdd.zip" --json \
  >"$out/train.json" 2>"$out/train.err"
touch "$out/done"
echo "trained $out/kdd.zip"
