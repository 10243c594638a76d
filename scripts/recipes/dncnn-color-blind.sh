#!/usr/bin/env bash
# dncnn-color-blind: CDnCNN-B (20 layers), one colour model for a random mix of noise kinds and
# levels (noise-mix: Gaussian, Poisson, speckle, salt-and-pepper, JPEG, blur, ...) on the colour sets.
source "$(dirname "$0")/common.sh"
RUN=$RUNS/dncnn-color-blind
agan train dncnn --config scripts/recipes/dncnn-color-blind.json \
    --data "synthetic:noise-mix:$COLOUR_SETS" --val "synthetic:noise-mix:$DATA/set5" --out "$RUN" "$@"
finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
python scripts/release_model.py "$RUN" dncnn-color-blind \
    --evaluate "synthetic:noise-mix:$DATA/set5" --evaluate "$DATA/polyu_real_noise" "${FILTERS[@]}"
