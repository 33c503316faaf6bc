#!/usr/bin/env bash
# Builds the worker image (Dockerfile) from a staged context: `make image` / `make image-gpu`.
#   scripts/image.sh cpu|gpu
# Environment:
#   IPROD_IMAGE_PROFILE  release (default: builds the binaries) or debug (uses what the test build
#                        made: `make test` builds its test image that way)
#   IPROD_IMAGE_TAG      the tag, iprod-worker:<variant> by default
#   CONTAINER_TOOL       podman (default, through scripts/podman.sh) or docker
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
variant=${1:-cpu}
[[ $variant == cpu || $variant == gpu ]] || { echo "image.sh: the variant is cpu or gpu, not $variant" >&2; exit 1; }
profile=${IPROD_IMAGE_PROFILE:-release}
tag=${IPROD_IMAGE_TAG:-iprod-worker:$variant}
tool=${CONTAINER_TOOL:-podman}
[[ $tool == podman ]] && tool=scripts/podman.sh

if [[ $profile == release ]]; then
  cargo build --release --quiet -p iprod-process -p iprod-cli --bin process --bin iprod
fi
for bin in process iprod; do
  [[ -x target/$profile/$bin ]] || { echo "image.sh: target/$profile/$bin is missing" >&2; exit 1; }
done
layers/fetch-model-pack.sh >/dev/null

# The context: hard links where the file system allows, so staging costs no copy.
ctx=.iprod/image-context
rm -rf "$ctx"
mkdir -p "$ctx/bin"
link() { cp -al "$@" 2>/dev/null || cp -a "$@"; }
link "target/$profile/process" "target/$profile/iprod" "$ctx/bin/"
link .iprod/model-pack "$ctx/model-pack"
if [[ $variant == gpu ]]; then
  layers/fetch-gpu-runtime.sh >/dev/null
  mkdir -p "$ctx/gpu/model-pack" "$ctx/gpu/cuda"
  link .iprod/gpu-runtime/libonnxruntime* "$ctx/gpu/model-pack/"
  find .iprod/gpu-runtime -maxdepth 1 -type f ! -name 'libonnxruntime*' -exec cp -al {} "$ctx/gpu/cuda/" \;
fi

build=(build --target "$variant" --tag "$tag" --file Dockerfile)
[[ $tool == scripts/podman.sh ]] && build+=(--pull=never --network host)
"$tool" "${build[@]}" "$ctx"
# Rebuilds leave the previous image's layers behind, untagged: drop them.
[[ $tool == scripts/podman.sh ]] && scripts/podman.sh image prune --force >/dev/null
echo "image.sh: built $tag ($profile binaries)"
