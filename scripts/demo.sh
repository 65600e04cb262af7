#!/usr/bin/env bash
# Install dondoc into .venv, then play 2024 of the Cao Lộc plan (`dondoc demo`): the real flows
# each working day, messages to a local mailbox and webhook log, the monthly and quarterly
# reports. Extra arguments go to `dondoc demo` (e.g. --until 2024-03-31 --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e . 2>&1 | { grep -v '^WARNING: Location' || true; }
exec .venv/bin/dondoc demo --out out/demo "$@"
