#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, build, build the real
# control plane (kube-apiserver, etcd, kubectl from tools/kube/, cached),
# helm (tools/helm/, cached) and the Python venv that validates the SARIF and
# JUnit reports (tools/python/, cached), run every test, the end-to-end ones
# (label e2e) against that control plane among them; then a short libFuzzer run of each parser (scripts/fuzz-smoke.sh) and
# the same suite, without e2e, again under AddressSanitizer and UBSan (build-asan/).
# SKIP_SANITIZERS=1 runs the plain build only.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
CDCGUARD_KUBE_TOOLS="$(./scripts/kube-tools.sh)"
CDCGUARD_HELM="$(./scripts/helm-tool.sh)"
CDCGUARD_PYTHON="$(./scripts/py-test-env.sh)"
export CDCGUARD_KUBE_TOOLS CDCGUARD_HELM CDCGUARD_PYTHON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  ./scripts/fuzz-smoke.sh
  echo "== the same tests under ASan+UBSan =="
  BUILD_DIR=build-asan CDCGUARD_SANITIZE=ON BUILD_TYPE=Debug ./scripts/build.sh
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
fi
