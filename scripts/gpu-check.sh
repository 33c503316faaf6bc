#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and a CUDA 13 driver (not part of CI: our
# machines have none). It verifies, on this checkout's release `iprod`:
#   1. that ONNX Runtime really runs the models on the GPU (the CUDA execution provider was
#      registered; not the CPU fallback, which logs "CUDA cannot start");
#   2. that ffmpeg's NVENC encodes (the render's GPU path) and the engine picks it;
#   3. VideoH2V and ImageMatting (u2net) speed, CPU against GPU, in the same run.
# Record the printed figures in docs/benchmarks.md with the GPU's name.
#
#   scripts/gpu-check.sh            (needs the registries once: the GPU runtime's wheels)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
fail() { echo "gpu-check: FAILED: $*" >&2; exit 1; }

command -v nvidia-smi >/dev/null || fail "nvidia-smi is missing: no NVIDIA driver here"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
scripts/setup.sh test >/dev/null
layers/fetch-gpu-runtime.sh >/dev/null
cargo build --release --quiet -p iprod-cli
IPROD=target/release/iprod

# A model directory for the GPU: the pack's models, onnxruntime-gpu's library and providers.
pack=.iprod/gpu-pack
rm -rf "$pack" && mkdir -p "$pack"
for f in .iprod/model-pack/*; do ln -s "$ROOT/$f" "$pack/"; done
rm -f "$pack"/libonnxruntime.so*
cp .iprod/gpu-runtime/libonnxruntime* "$pack/"
ln -s libonnxruntime.so.1.31.1 "$pack/libonnxruntime.so"
export LD_LIBRARY_PATH=$ROOT/.iprod/gpu-runtime${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== 1. the CUDA execution provider"
log=$(IPROD_GPU=true IPROD_MODEL_DIR=$pack RUST_LOG=iprod_media=info \
  "$IPROD" run ImageMatting .iprod/test-media/astronaut.png "$work/cut.png" 2>&1) || fail "$log"
grep -q "runs the models on the GPU" <<<"$log" || fail "CUDA was not used:\n$log"
echo "   the models ran on the GPU"

echo "== 2. NVENC"
ffmpeg -nostdin -v error -f lavfi -i testsrc2=s=1920x1080:r=30:d=5 -c:v h264_nvenc -f null - \
  || fail "h264_nvenc cannot encode (driver capabilities must include video)"
log=$(IPROD_GPU=true IPROD_MODEL_DIR=$pack RUST_LOG=iprod_media=info \
  "$IPROD" run VideoH2V .iprod/test-media/bikes.mp4 "$work/v.mp4" 2>&1) || fail "$log"
grep -q "rendering with NVENC" <<<"$log" || fail "the engine did not pick NVENC:\n$log"
echo "   NVENC encodes, and the engine renders with it"

echo "== 3. speed, CPU against GPU (best of 3, seconds)"
# Best of three runs of a command, in seconds.
best() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
times = []
for _ in range(3):
    t = time.monotonic()
    subprocess.run(sys.argv[1:], check=True, capture_output=True)
    times.append(time.monotonic() - t)
print(f"{min(times):.2f}")
PY
}
for case in "VideoH2V .iprod/test-media/bikes.mp4 $work/o.mp4" \
            "ImageMatting .iprod/test-media/chelsea.png $work/o.png --model u2net"; do
  # shellcheck disable=SC2086
  cpu=$(IPROD_GPU=false IPROD_MODEL_DIR=.iprod/model-pack best "$IPROD" run $case) || fail "$case on the CPU"
  # shellcheck disable=SC2086
  gpu=$(IPROD_GPU=true IPROD_MODEL_DIR=$pack best "$IPROD" run $case) || fail "$case on the GPU"
  python3 -c "import sys; c, g = map(float, sys.argv[2:]); print(f'   {sys.argv[1]:<14} CPU {c:6.2f} s   GPU {g:6.2f} s   GPU/CPU {g / c:.2f}')" \
    "${case%% *}" "$cpu" "$gpu"
done
echo "gpu-check: passed"
