#!/usr/bin/env bash
# ctest -L consumers: runs validate_report.py with the Python of
# scripts/py-test-env.sh (pinned jsonschema and xmlschema), which
# scripts/test.sh exports as CDCGUARD_PYTHON. Without it the test fails: a
# skipped consumer test would let an invalid report through CI unnoticed.
set -euo pipefail
if [ -z "${CDCGUARD_PYTHON:-}" ]; then
  echo "CDCGUARD_PYTHON is not set: run CDCGUARD_PYTHON=\"\$(scripts/py-test-env.sh)\" ctest ... (scripts/test.sh does)" >&2
  exit 1
fi
exec "$CDCGUARD_PYTHON" "$(dirname "$0")/validate_report.py" "$@"
