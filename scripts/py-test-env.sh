#!/usr/bin/env bash
# Makes the Python environment the consumer tests (ctest -L consumers) run
# in: a venv with the pinned, hash-checked packages of
# tools/python/requirements.txt: jsonschema and xmlschema, which validate
# cdc-guard's SARIF and JUnit reports against the schemas their consumers
# use, and pre-commit, which runs .pre-commit-hooks.yaml.
# Prints the venv's python on stdout (progress goes to stderr).
#
# The venv is cached outside the work tree, keyed by a hash of the
# requirements, this script and the interpreter (version and path): it is
# made again only when one changes. Folders of other keys unused for 30 days are removed.
#   CDCGUARD_PY_CACHE  where the folders go (default ~/.cache/cdc-guard)
#   PYTHON             the interpreter to make the venv with (default python3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
requirements="$root/tools/python/requirements.txt"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "py-test-env: $python is not on PATH (scripts/install-deps.sh installs python3)" >&2
  exit 1
fi

py_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
# The venv links to its interpreter: another interpreter is another venv.
py_path="$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
key="$( (cat "$requirements" "$0"; echo "$py_version $py_path") | sha256sum | cut -c1-16)"
cache="${CDCGUARD_PY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-guard}"
out="$cache/py-$key"

if [ -x "$out/bin/python" ] && [ -f "$out/installed" ]; then
  touch "$out"
  find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'py-*' ! -path "$out" \
    ! -newermt '30 days ago' -exec rm -rf {} + 2>/dev/null || true
  echo "$out/bin/python"
  exit 0
fi

echo "py-test-env: making $out (python $py_version)" >&2
# Made where it stays (a venv's scripts record its path); the marker file is
# written last, so an interrupted run is redone, not used.
rm -rf "$out"
mkdir -p "$cache"
# Debian's python3 needs the python3-venv package for ensurepip.
if ! "$python" -m venv "$out" >&2; then
  rm -rf "$out"
  echo "py-test-env: '$python -m venv' failed; on Debian install python3-venv (scripts/install-deps.sh)" >&2
  exit 1
fi
# --require-hashes: every package, dependencies included, must match a pinned
# hash; --no-deps: nothing outside the file is installed; wheels only.
"$out/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --no-deps --only-binary=:all: -r "$requirements" >&2
"$out/bin/python" -c 'import jsonschema, xmlschema, rfc3986_validator, pre_commit' >&2
echo "python=$py_version" > "$out/installed"
echo "$out/bin/python"
