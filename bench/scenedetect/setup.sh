#!/usr/bin/env bash
# The venv for the PySceneDetect reference (bench/scenedetect/detect.py), at .iprod/scenedetect-venv.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$HERE/../../scripts/venv.sh" scenedetect "$HERE/requirements.txt"
