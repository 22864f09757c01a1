#!/usr/bin/env bash
# Install everything the tests need (venv + Python packages; the editor tests install code-server, Debian's
# chromium and ripgrep, and the extension's npm packages through their own scripts) and run the whole suite.
#   bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
exec .venv/bin/python -m pytest "$@"
