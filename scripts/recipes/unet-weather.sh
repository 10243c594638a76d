#!/usr/bin/env bash
# unet-weather: the U-Net baseline on exactly the GAN's weather data (one of raindrop, rain,
# snow, dust per image, synthesised on Kodak24, McMaster and Set14), for a fair CNN comparison.
source "$(dirname "$0")/common.sh"
RUN=$RUNS/unet-weather
agan train unet --config scripts/recipes/unet-weather.json \
    --data "synthetic:$WEATHER:$COLOUR_SETS" --val "synthetic:$WEATHER:$DATA/set5" --out "$RUN" "$@"
finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
python scripts/release_model.py "$RUN" unet-weather \
    --evaluate "$DATA/rain12" --evaluate "$DATA/rain100l_subset" "${FILTERS[@]}"
