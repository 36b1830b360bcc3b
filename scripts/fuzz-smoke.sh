#!/usr/bin/env bash
# Runs each libFuzzer target for a short while from the seed corpus (ASan+UBSan).
# A crash, hang or sanitizer report fails the script. FUZZ_SECONDS per target (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz-smoke: clang++ not installed; no fuzzing run" >&2
  exit 0
fi
seconds=${FUZZ_SECONDS:-20}
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CXX=clang++ cmake -S . -B build-fuzz -DCDCGUARD_BUILD_FUZZERS=ON -DCDCGUARD_SANITIZE=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz --target fuzz_manifest fuzz_registry fuzz_admission_review fuzz_http_request -j "$(nproc)" >/dev/null
for target in manifest registry admission_review http_request; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$target"/* "$work"/
  echo "fuzz-smoke: fuzz_$target for ${seconds}s"
  ./build-fuzz/fuzz/fuzz_"$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -artifact_prefix="$work"/ "$work" 2>"$work/log" || { tail -40 "$work/log"; exit 1; }
  grep -E "^Done [0-9]+ runs" "$work/log"
  rm -rf "$work"
done
