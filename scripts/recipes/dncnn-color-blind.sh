#!/usr/bin/env bash
# dncnn-color-blind: CDnCNN-B (20 layers), one colour model for a random mix of noise kinds and
# levels (noise-mix: Gaussian, Poisson, speckle, salt-and-pepper, JPEG, blur, ...) on the colour sets
# (BSDS432, Urban100, McMaster, Set14; never Kodak24, BSD68 or CBSD68).
# Evaluated blind against blind filters (noise level estimated from the image) on Kodak24 Gaussian
# sigma 25, Kodak24 noise-mix and real camera noise (PolyU).
source "$(dirname "$0")/common.sh"
RUN=${RELEASE_RUN:-$RUNS/dncnn-color-blind}
if training; then
    agan train dncnn --config scripts/recipes/dncnn-color-blind.json \
        --data "synthetic:noise-mix:$COLOUR_SETS" --val "synthetic:noise-mix:$DATA/set5" --out "$RUN" "$@"
    finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
fi
release dncnn-color-blind "$RUN" --evaluate "synthetic:gaussian(sigma=25):$DATA/kodak24" \
    --evaluate "synthetic:noise-mix:$DATA/kodak24" --evaluate "$DATA/polyu_real_noise" "${FILTERS[@]}"
