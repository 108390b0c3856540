#!/usr/bin/env bash
# Installs the Debian 12 packages mlfaas needs to build, test and benchmark (only those missing).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config git ca-certificates curl
  libboost1.74-dev libboost-system1.74-dev libssl-dev libsqlite3-dev sqlite3 libzip-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-boto3 python3-awscrt awscli wrk nginx gunicorn python3-flask python3-sklearn libxml2-utils procps
  clang libclang-rt-14-dev libseccomp-dev
  default-jdk-headless  # javac + java 17 for examples/java (default-jdk adds only GUI parts)
  prometheus  # promtool: the tests check GET /metrics with `promtool check metrics`
  libxgboost-dev python3-xgboost  # training gradient-boosted trees; the reference scorer
  chromium fonts-dejavu-core  # the dashboard's browser tests (headless, driven by playwright-core)
  postgresql libpq-dev  # the shared registry backend (--registry postgres://...) and its tests
  podman python3-jsonschema python3-yaml)  # export: image build, SAM/Knative schema checks
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm vendors the dashboard's chart library (scripts/vendor_ui.sh). A machine may have Node.js
# from elsewhere (NodeSource's nodejs ships npm): Debian's packages only when there is none.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
