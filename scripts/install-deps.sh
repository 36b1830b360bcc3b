#!/usr/bin/env bash
# Installs every Debian package cdc-guard needs to build, test and benchmark.
# Idempotent; run as root (or with sudo) on Debian 12 / Ubuntu 22.04+.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3
  libcpp-httplib-dev libssl-dev openssl
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libyaml-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  clang-format clang libclang-rt-14-dev
)
if [ "${CDCGUARD_BENCH_DEPS:-0}" = 1 ]; then
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
