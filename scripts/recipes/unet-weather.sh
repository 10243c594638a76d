#!/usr/bin/env bash
# unet-weather: the U-Net baseline on exactly the GAN's weather data (one of raindrop, rain, snow,
# dust per image, light to heavy, on BSDS432, Urban100, McMaster and Set14, plus the real-format
# heavy-rain pairs of jorder_small/train), for a fair CNN comparison.
source "$(dirname "$0")/common.sh"
RUN=${RELEASE_RUN:-$RUNS/unet-weather}
if training; then
    agan train unet --config scripts/recipes/unet-weather.json \
        --data "$WEATHER_TRAIN" --val "$WEATHER_VAL" --out "$RUN" "$@"
    finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
fi
release unet-weather "$RUN" "${WEATHER_TESTS[@]}" "${WEATHER_FILTERS[@]}"
