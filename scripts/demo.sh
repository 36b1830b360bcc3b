#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, build, and run
# `cdc-guard check` over examples/ with examples/registry.yaml (no cluster).
# The examples hold real conflicts, so the check ends with exit code 1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
echo "\$ cdc-guard check --registry examples/registry.yaml --now 2026-11-25T00:00:00Z examples/"
set +e
./build/cdc-guard check --registry examples/registry.yaml --now 2026-11-25T00:00:00Z examples/
rc=$?
set -e
echo "(exit code $rc: 0 clean, 1 deny-level violations, 2 input errors)"
echo
echo "\$ cdc-guard registry next --registry examples/registry.yaml --namespace ecommerce examples/"
./build/cdc-guard registry next --registry examples/registry.yaml --namespace ecommerce --now 2026-11-25T00:00:00Z examples/
[ "$rc" -le 1 ]
