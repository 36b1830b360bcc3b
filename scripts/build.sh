#!/usr/bin/env bash
# Configures and builds cdc-guard into ./build (or $BUILD_DIR).
# CDCGUARD_SANITIZE=1 builds with ASan+UBSan; BUILD_TYPE (default RelWithDebInfo);
# BUILD_TESTING=OFF builds cdc-guard alone, without the tests and benchmarks
# (the container image). Both are read when BUILD_DIR is first configured.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
    -DCDCGUARD_SANITIZE="${CDCGUARD_SANITIZE:-OFF}" -DBUILD_TESTING="${BUILD_TESTING:-ON}"
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
