#!/usr/bin/env bash
# Installs every Debian package cdc-guard needs to build, test and benchmark
# (CDCGUARD_BENCH_DEPS=1 adds the benchmark tools).
# Idempotent; run as root (or with sudo) on Debian 12 / Ubuntu 22.04+.
set -euo pipefail

# What building the cdc-guard binary alone needs (BUILD_TESTING=OFF).
build_packages=(
  build-essential cmake ninja-build pkg-config
  libcpp-httplib-dev libssl-dev
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libyaml-dev libspdlog-dev libfmt-dev
)
packages=(
  # python3-venv: scripts/py-test-env.sh (Debian's python3 has no ensurepip without it)
  "${build_packages[@]}" git python3 python3-venv openssl
  libgtest-dev libgmock-dev
  clang-format clang libclang-rt-14-dev
)
# CDCGUARD_BUILD_DEPS_ONLY=1: the binary's build dependencies only (the
# container image's build stage), no test, lint or fuzz tools.
if [ "${CDCGUARD_BUILD_DEPS_ONLY:-0}" = 1 ]; then
  packages=("${build_packages[@]}")
elif [ "${CDCGUARD_BENCH_DEPS:-0}" = 1 ]; then
  packages+=(hyperfine time wrk curl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
