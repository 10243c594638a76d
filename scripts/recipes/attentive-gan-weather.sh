#!/usr/bin/env bash
# attentive-gan-weather: the Attentive GAN on one of raindrop, rain, snow, dust per image, light to
# heavy, synthesised on BSDS432, Urban100, McMaster and Set14, and on real-format heavy-rain pairs
# (jorder_small/train). Trained without the VGG perceptual loss (its
# ImageNet weights cannot be fetched offline). Release unet-weather first: the card compares
# the GAN with it, the rainy input and every filter on real-format rain pairs it never saw
# and on each weather kind synthesised on Kodak24.
# This is the adversarial stage: start it from a generator (--init attentive-gan-weather, after
# attentive-gan-weather-warmup.sh released one); the GAN term at the paper's 0.01, lr 1e-4, an EMA
# of the generator, and the discriminator judging 64x64 squares of the 128x128 patches (a quarter
# of its cost: the paper's discriminator on whole patches costs more than the generator).
source "$(dirname "$0")/common.sh"
RUN=${RELEASE_RUN:-$RUNS/attentive-gan-weather}
if training; then
    agan train attentive-gan --config scripts/recipes/attentive-gan-weather.json \
        --data "$WEATHER_TRAIN" --val "$WEATHER_VAL" --out "$RUN" "$@"
    finished "$RUN" || { echo "$RUN: not finished; run the recipe again to resume"; exit 0; }
fi
release attentive-gan-weather "$RUN" "${WEATHER_TESTS[@]}" --compare unet-weather "${WEATHER_FILTERS[@]}"
