#!/usr/bin/env bash
# ctest -L consumers: runs a Python script of tests/consumers/ with the Python
# of scripts/py-test-env.sh (pinned jsonschema, xmlschema, pre-commit), which
# scripts/test.sh exports as CDCGUARD_PYTHON. Without it the test fails: a
# skipped consumer test would let an invalid report through CI unnoticed.
#   run_python.sh SCRIPT.py ARGS...
set -euo pipefail
if [ -z "${CDCGUARD_PYTHON:-}" ]; then
  echo "CDCGUARD_PYTHON is not set: run CDCGUARD_PYTHON=\"\$(scripts/py-test-env.sh)\" ctest ... (scripts/test.sh does)" >&2
  exit 1
fi
script="$1"
shift
exec "$CDCGUARD_PYTHON" "$(dirname "$0")/$script" "$@"
