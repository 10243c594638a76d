#!/usr/bin/env bash
# attentive-gan-weather, first stage: the generator alone (attention and multi-scale losses, no
# discriminator: --adversarial-weight 0, about 6x a U-Net step instead of 16x on a CPU), on the
# weather data of scripts/recipes/attentive-gan-weather.sh, released as attentive-gan-weather.
# The adversarial stage (attentive-gan-weather.sh --init attentive-gan-weather) starts from it, as
# ESRGAN and Real-ESRGAN start from a generator trained with the pixel loss alone.
source "$(dirname "$0")/common.sh"
RUN=${RELEASE_RUN:-$RUNS/attentive-gan-weather-warmup}
if training; then
    agan train attentive-gan --config scripts/recipes/attentive-gan-weather-warmup.json \
        --data "$WEATHER_TRAIN" --val "$WEATHER_VAL" --out "$RUN" "$@"
    finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
fi
release attentive-gan-weather "$RUN" "${WEATHER_TESTS[@]}" --compare unet-weather "${WEATHER_FILTERS[@]}"
