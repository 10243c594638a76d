#!/usr/bin/env bash
# dncnn-color-blind: CDnCNN-B (20 layers), one colour model for noise of unknown kind and level:
# Gaussian sigma 0-55 on two thirds of the patches and camera-like noise (Poisson, Gaussian, speckle,
# salt-and-pepper, scribble, JPEG; no blur, which DnCNN cannot undo) on a third, on the colour sets
# (BSDS432, Urban100, McMaster, Set14; never Kodak24, BSD68 or CBSD68).
# Evaluated blind against blind filters (noise level estimated from the image) on Kodak24 Gaussian
# sigma 25, Kodak24 noise-mix and real camera noise (PolyU).
source "$(dirname "$0")/common.sh"
RUN=${RELEASE_RUN:-$RUNS/dncnn-color-blind}
if training; then
    agan train dncnn --config scripts/recipes/dncnn-color-blind.json \
        --data "$COLOUR_NOISE_TRAIN" \
        --val "synthetic:gaussian(sigma=25):$DATA/set5; synthetic:$CAMERA_NOISE:$DATA/set5" --out "$RUN" "$@"
    finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
fi
release dncnn-color-blind "$RUN" --evaluate "synthetic:gaussian(sigma=25):$DATA/kodak24" \
    --evaluate "synthetic:noise-mix:$DATA/kodak24" --evaluate "$DATA/polyu_real_noise" "${FILTERS[@]}"
