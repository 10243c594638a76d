#!/usr/bin/env bash
# Train the four shipped models further on a lent GPU, inside one call of about nine minutes.
#
#   bash scripts/train_on_gpu.sh OUT [agan train arguments...]
#
# The four recipes train at once, each from its current release (--init NAME: fine-tuning, a fresh
# optimizer and schedule) under a --minutes budget (MINUTES, default 6), with the machine's cores
# shared out as DataLoader workers. The image sets the recipes train and validate on are copied
# from DATA (default ../shared/data) to local disk first. For each model NAME, OUT/NAME.tar.gz holds
# its run folder without checkpoints: config.json, metrics.jsonl, curves.png, the last samples/
# grid, and release/NAME.pt (the fp16 weights of best.pt, as `agan release` writes them). Back on
# a machine with the test sets, unpack it and release it with its evaluations and card:
#   tar xzf OUT/NAME.tar.gz -C runs && RELEASE_RUN=runs/NAME bash scripts/recipes/NAME.sh
# Extra arguments go to every `agan train` (e.g. --device cpu --batch 2 --patch 48 for a trial).
set -euo pipefail
OUT=${1:?usage: bash scripts/train_on_gpu.sh OUT [agan train arguments...]}
shift
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
MINUTES=${MINUTES:-6}
NAMES=(attentive-gan-weather unet-weather dncnn-gray-s25 dncnn-color-blind)
SETS=(train400 set12 bsds432 urban100 mcmaster set14 set5 jorder_small outdoor_rain_test1)
LOCAL=$(mktemp -d "${TMPDIR:-/tmp}/agan-gpu.XXXXXX")
mkdir -p "$OUT" "$LOCAL/data" "$LOCAL/runs"
for set in "${SETS[@]}"; do
    cp -r "$DATA/$set" "$LOCAL/data/"
done
cores=$(nproc)
workers=$(( cores / ${#NAMES[@]} > 1 ? cores / ${#NAMES[@]} - 1 : 0 ))
echo "data copied to $LOCAL/data; ${#NAMES[@]} runs at once, $MINUTES minutes each, $workers workers each"
pids=()
for name in "${NAMES[@]}"; do
    DATA=$LOCAL/data RUNS=$LOCAL/runs SKIP_RELEASE=1 bash "scripts/recipes/$name.sh" \
        --init "$name" --minutes "$MINUTES" --workers "$workers" "$@" > "$LOCAL/$name.log" 2>&1 &
    pids+=($!)
done
# pack NAME: release best.pt's weights, plot the curves and pack the run folder into OUT/NAME.tar.gz
pack() {
    local name=$1 run=$LOCAL/runs/$1
    [ -f "$run/checkpoints/best.pt" ] || return 0
    agan release "$run" "$name" --out "$run/release" --data-root "$LOCAL/data" > /dev/null
    agan plot "$run" > /dev/null
    local last_sample
    last_sample=$(ls "$run/samples" 2>/dev/null | tail -n 1)
    tar czf "$OUT/$name.tar.gz" -C "$LOCAL/runs" "$name/config.json" "$name/metrics.jsonl" "$name/curves.png" \
        "$name/release" ${last_sample:+"$name/samples/$last_sample"}
    echo "$name: $(tail -n 1 "$LOCAL/$name.log") -> $OUT/$name.tar.gz"
}
failed=0
packs=()
for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    if ! wait "${pids[$i]}"; then
        echo "$name: training failed; the end of its log:" && tail -n 5 "$LOCAL/$name.log"
        failed=$((failed + 1))
    fi
    pack "$name" &  # the four packs run at once: each starts a Python of its own
    packs+=($!)
done
for pid in "${packs[@]}"; do
    wait "$pid" || failed=$((failed + 1))
done
rm -rf "$LOCAL"
exit $((failed > 0))
