#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, then pytest on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${VENV:-.venv}
"$VENV/bin/ruff" check src tests bench scripts
"$VENV/bin/ruff" format --check src tests bench scripts
"$VENV/bin/mypy" src
"$VENV/bin/pytest" -n 2 --dist loadgroup -q "$@"
