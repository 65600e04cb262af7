#!/usr/bin/env bash
# Install dondoc into .venv, load the Cao Lộc 2024 plan into a SQLite file, show what is due.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e . 2>&1 | { grep -v '^WARNING: Location' || true; }
.venv/bin/dondoc init
.venv/bin/dondoc plan show
.venv/bin/dondoc dues --year 2024
