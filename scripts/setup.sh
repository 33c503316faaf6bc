#!/usr/bin/env bash
# Installs what IProduction needs on a fresh Debian machine, only what is missing (idempotent):
#   ffmpeg/ffprobe from Debian, the ONNX Runtime library and models (layers/fetch-model-pack.sh),
#   and for tests the registry-shipped test media (layers/fetch-test-media.sh) and the AWS
#   emulator and template linters (scripts/aws-tools.txt, into .iprod/aws-venv), the cloud's
#   Python SDKs (scripts/sdk-clients.txt, into .iprod/sdk-venv), and chromium with its
#   chromedriver for the console's browser tests.
#   scripts/setup.sh serve|image|test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
purpose=${1:-serve}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root to run: $*" >&2; exit 1
  fi
}

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  echo "setup: installing ffmpeg from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
fi

layers/fetch-model-pack.sh
# The worker image (make image, and make test, which builds one and runs a job in it): podman
# with runc, offline (scripts/podman.sh makes the base image with mmdebstrap).
if [ "$purpose" = test ] || [ "$purpose" = image ]; then
  if ! command -v podman >/dev/null || ! command -v mmdebstrap >/dev/null || ! command -v runc >/dev/null; then
    echo "setup: installing podman, runc and mmdebstrap from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      podman runc mmdebstrap uidmap >/dev/null
  fi
fi
if [ "$purpose" = test ]; then
  # The logo development set renders its overlay text with DejaVu (the core faces are usually
  # already pulled in by ffmpeg's fontconfig; the condensed ones are in -extra).
  if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] \
    || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      fonts-dejavu-core fonts-dejavu-extra >/dev/null
  fi
  # The console's tests drive a real browser: Debian's chromium through its chromedriver.
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "setup: installing chromium and chromium-driver from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  fi
  layers/fetch-test-media.sh
  # The AWS side's offline tools: the moto emulator, cfn-lint, sam, cargo-lambda (pinned).
  scripts/venv.sh aws scripts/aws-tools.txt
  # The cloud's Python SDKs, both signature generations (pinned), for tests/sdk.rs.
  scripts/venv.sh sdk scripts/sdk-clients.txt
fi
