#!/usr/bin/env bash
# What does --share-weather K cost in quality per step? Pairs of U-Nets trained from scratch on the
# weather recipes' data and settings (unet-weather.json: batch 16, patch 128, bf16) for ITERS steps, one
# run of each pair with a weather draw for every patch (K = 1), one with each draw degrading K patches,
# one pair per seed of SEEDS, one run after the other (two at once oversubscribe a small machine).
# Each is validated at its last step on each weather kind on Kodak24 (seed 0, the weather cards'
# test sets) and on Rain12 and Outdoor-Rain; the table gives each run and, per seed, K minus 1.
#   DATA    folder of the image sets (default ../shared/data)
#   RUNS    folder of the run folders and their logs (default runs/share-weather-check)
#   ITERS   training steps (default 400)   SEEDS  seeds, one pair each (default "1 2 3")
#   K       patches per draw of the second run of each pair (default 4)
# Extra arguments go to every `agan train` (e.g. --workers 0). Rerunning skips finished runs.
RUNS=${RUNS:-runs/share-weather-check}
source "$(dirname "$0")/recipes/common.sh"  # DATA, WEATHER_TRAIN (the recipes' data), finished
ITERS=${ITERS:-400}
SEEDS=${SEEDS:-1 2 3}
K=${K:-4}
VAL="synthetic:raindrop:$DATA/kodak24; synthetic:rain:$DATA/kodak24; synthetic:snow:$DATA/kodak24"
VAL="$VAL; synthetic:dust:$DATA/kodak24; $DATA/rain12; $DATA/outdoor_rain_test1"
mkdir -p "$RUNS"
for seed in $SEEDS; do
    for share in 1 "$K"; do
        out="$RUNS/s$seed-k$share"
        [ -d "$out" ] && finished "$out" && continue
        agan train unet --config scripts/recipes/unet-weather.json --data "$WEATHER_TRAIN" --val "$VAL" --out "$out" \
            --iters "$ITERS" --val-every "$ITERS" --save-every "$ITERS" --val-limit 24 --workers 1 \
            --seed "$seed" --share-weather "$share" "$@" > "$out.log" 2>&1
    done
done
python - "$RUNS" "$ITERS" "$K" $SEEDS <<'PY'
import json, sys
from pathlib import Path

runs, iters, k, seeds = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]


def last(name):
    lines = (runs / name / "metrics.jsonl").read_text().splitlines()
    record = [json.loads(line) for line in lines if '"val/psnr"' in line][-1]
    assert record["step"] == iters, f"{name}: last validation at step {record['step']}"
    return {key.split("@", 1)[1]: value for key, value in record.items() if key.startswith("val/psnr@")}


table = {(seed, share): last(f"s{seed}-k{share}") for seed in seeds for share in ("1", k)}
sets = list(next(iter(table.values())))
synthetic = [s for s in sets if s.endswith(":kodak24")]
print(f"PSNR (dB) at step {iters}; 'kodak24 mean' is the mean over the {len(synthetic)} weather kinds")
print(f"{'run':<10}" + "".join(f"{s.replace(':kodak24', ''):>19}" for s in sets) + f"{'kodak24 mean':>14}")
for (seed, share), psnr in table.items():
    mean = sum(psnr[s] for s in synthetic) / len(synthetic)
    print(f"s{seed} K={share:<4}" + "".join(f"{psnr[s]:>19.2f}" for s in sets) + f"{mean:>14.2f}")
for seed in seeds:
    a, b = table[(seed, "1")], table[(seed, k)]
    mean = sum(b[s] - a[s] for s in synthetic) / len(synthetic)
    print(f"s{seed} K-1   " + "".join(f"{b[s] - a[s]:>+19.2f}" for s in sets) + f"{mean:>+14.2f}")
PY
