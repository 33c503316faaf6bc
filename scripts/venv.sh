#!/usr/bin/env bash
# Creates (or checks) a Python venv at .iprod/NAME-venv with exactly the pinned packages of a
# requirements file, for a reference tool the benchmarks measure against. Idempotent: exits at
# once when the venv already has exactly those versions. Needs python3 with venv, and PyPI.
# Usage: scripts/venv.sh NAME REQUIREMENTS   (the venv path can be overridden with $VENV)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME=$1
REQS=$2
VENV="${VENV:-$ROOT/.iprod/$NAME-venv}"
PYTHON="${PYTHON:-python3}"

check() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "$REQS" "$NAME" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
bad = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    name = name.split("[", 1)[0]  # "moto[server]" is the package "moto"
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name}: want {want}, have {have}")
if bad:
    print(f"{sys.argv[2]} venv out of date: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}

if check 2>/dev/null; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-input -q --disable-pip-version-check -r "$REQS"
check
echo "$NAME venv ready: $VENV"
