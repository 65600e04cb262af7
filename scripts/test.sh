#!/usr/bin/env bash
# Install dondoc with its development tools into .venv, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
# The everyday tests on two workers (pyproject's addopts); then the slow ones on two workers, a
# test file to a worker (each file's servers and browsers started once); then, alone, the
# `serial` ones: they kill or restart processes, or time them against each other.
# Exit code 5 is "no test selected" (a path given with none of that kind): not a failure.
.venv/bin/pytest -m "not slow" "$@" || [ $? -eq 5 ]
.venv/bin/pytest -m "slow and not serial" --dist loadfile "$@" || [ $? -eq 5 ]
.venv/bin/pytest -n 0 -m "slow and serial" "$@" || [ $? -eq 5 ]
