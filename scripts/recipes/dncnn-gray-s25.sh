#!/usr/bin/env bash
# dncnn-gray-s25: DnCNN-S (17 layers) for grey images at Gaussian sigma = 25, trained on train400
# with unclipped noise as in Zhang et al. 2017; validated and evaluated on Set12 against BM3D
# (given the true sigma) and the other filters.
source "$(dirname "$0")/common.sh"
RUN=${RELEASE_RUN:-$RUNS/dncnn-gray-s25}
if training; then
    agan train dncnn --config scripts/recipes/dncnn-gray-s25.json \
        --data "synthetic:gaussian(sigma=25,clip=false):$DATA/train400" \
        --val "synthetic:gaussian(sigma=25,clip=false):$DATA/set12" --out "$RUN" "$@"
    finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
fi
release dncnn-gray-s25 "$RUN" --evaluate "synthetic:gaussian(sigma=25,clip=false):$DATA/set12" \
    --compare "bm3d(sigma=25)" "${FILTERS[@]}"
