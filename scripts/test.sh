#!/usr/bin/env bash
# Install dondoc with its development tools into .venv, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest -n 0 "$@"
