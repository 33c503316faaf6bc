#!/usr/bin/env bash
# Lay out the GPU runtime of the worker image's GPU variant in DEST, reproducibly: onnxruntime-gpu's
# library with its CUDA execution provider, and the CUDA 13 / cuDNN 9 user-space libraries it
# loads. No nvidia/cuda base image is needed: the driver (libcuda, NVENC/NVDEC) comes from the
# host's container toolkit.
#
#   layers/fetch-gpu-runtime.sh [DEST]     DEST: <repo>/.iprod/gpu-runtime
#
# Everything comes from pinned PyPI wheels (about 1.5 GB to download once, 2.4 GB laid out) and is
# checked against layers/gpu-runtime.sha256, as fetch-model-pack.sh does. Idempotent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=fetch-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fetch-lib.sh"

MANIFEST=$LAYERS_DIR/gpu-runtime.sha256
DEST=${1:-$REPO_ROOT/.iprod/gpu-runtime}
# The CUDA wheels carry several manylinux tags; name them all so the download is host-independent.
LINUX=(--only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
       --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)

if all_present; then
  log "all $(wc -l <"$MANIFEST") files present and verified in $DEST"
  exit 0
fi
mkdir -p "$DEST"

# take_all SPEC DIR NAME...: each NAME from DIR inside SPEC's wheel.
take_all() {
  local spec=$1 dir=$2 name; shift 2
  for name in "$@"; do
    if missing "$name"; then
      fetch_pkg "$spec" "${LINUX[@]}" --python-version 3.12 --implementation cp
      take "$dir/$name" "$name"
    fi
  done
}

# ONNX Runtime 1.31.1's PyPI build of the CUDA provider links CUDA 13 (libcudart.so.13,
# libcublas.so.13) and loads cuDNN 9 and NVRTC at run time; the providers load from beside the
# library. (The nvidia-*-cu12 wheels do not fit it: CUDA 12's libraries have other sonames.)
take_all onnxruntime-gpu==1.31.1 onnxruntime/capi \
  libonnxruntime.so.1.31.1 libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so
take_all nvidia-cuda-runtime==13.5.37 nvidia/cu13/lib libcudart.so.13
take_all nvidia-cublas==13.10.0.20 nvidia/cu13/lib libcublas.so.13 libcublasLt.so.13
take_all nvidia-cudnn-cu13==9.27.0.42 nvidia/cudnn/lib \
  libcudnn.so.9 libcudnn_adv.so.9 libcudnn_cnn.so.9 libcudnn_engines_precompiled.so.9 \
  libcudnn_engines_runtime_compiled.so.9 libcudnn_engines_tensor_ir.so.9 libcudnn_ext.so.9 \
  libcudnn_graph.so.9 libcudnn_heuristic.so.9 libcudnn_ops.so.9
take_all nvidia-cufft==12.4.0.43 nvidia/cu13/lib libcufft.so.12
take_all nvidia-curand==10.4.4.72 nvidia/cu13/lib libcurand.so.10
# cuDNN's runtime-compiled engines compile kernels with NVRTC and link them with nvJitLink.
take_all nvidia-cuda-nvrtc==13.5.37 nvidia/cu13/lib libnvrtc.so.13 libnvrtc-builtins.so.13.5
take_all nvidia-nvjitlink==13.5.37 nvidia/cu13/lib libnvJitLink.so.13

(cd "$DEST" && sha256sum --check --quiet "$MANIFEST") || die "$DEST does not match $MANIFEST"
log "GPU runtime ready in $DEST ($(du -sh "$DEST" | cut -f1))"
