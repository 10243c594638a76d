#!/usr/bin/env bash
# attentive-gan-weather: the Attentive GAN on one of raindrop, rain, snow, dust per image,
# synthesised on Kodak24, McMaster and Set14. Trained without the VGG perceptual loss (its
# ImageNet weights cannot be fetched offline). Release unet-weather first: the card compares
# the GAN with it, the rainy input and every filter on Rain12 and Rain100L, which it never saw.
source "$(dirname "$0")/common.sh"
RUN=$RUNS/attentive-gan-weather
agan train attentive-gan --config scripts/recipes/attentive-gan-weather.json \
    --data "synthetic:$WEATHER:$COLOUR_SETS" --val "synthetic:$WEATHER:$DATA/set5" --out "$RUN" "$@"
finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
python scripts/release_model.py "$RUN" attentive-gan-weather \
    --evaluate "$DATA/rain12" --evaluate "$DATA/rain100l_subset" --compare unet-weather "${FILTERS[@]}"
