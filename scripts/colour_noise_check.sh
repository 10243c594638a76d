#!/usr/bin/env bash
# Which training noise makes a blind colour DnCNN that denoises? dncnn-color-blind's recipe trained for
# MINUTES from scratch on each candidate mix of the colour sets, one run after the other (two at once
# oversubscribe a small machine), each validated at its last step on Kodak24 (seed 0, the card's test
# images): Gaussian sigma 15, 25 and 50, the camera-like noise mix, and real camera noise (PolyU).
#   mix         noise-mix (the first recipe's): 1-3 of seven kinds, blur among them
#   gauss-cam   the recipe's COLOUR_NOISE_TRAIN: Gaussian sigma 0-55 on two thirds of the patches
#               (CDnCNN-B's range), the camera-like kinds of noise-mix (no blur) on the other third
#   DATA     folder of the image sets (default ../shared/data)
#   RUNS     folder of the run folders and their logs (default runs/colour-noise-check)
#   MINUTES  training minutes of each run (default 40)   MIXES  which candidates (default "mix gauss-cam")
#   ITERS    train each run this many steps instead (equal steps are equal CPU for one network; a
#            --minutes schedule is set from the speed of its first tenth, which other work can slow)
# Extra arguments go to every `agan train` (e.g. --workers 0). Rerunning skips finished runs.
RUNS=${RUNS:-runs/colour-noise-check}
source "$(dirname "$0")/recipes/common.sh"  # DATA, CAMERA_NOISE, COLOUR_NOISE_TRAIN, finished
MINUTES=${MINUTES:-40}
MIXES=${MIXES:-mix gauss-cam}
BUDGET=(--minutes "$MINUTES")
[ -n "${ITERS:-}" ] && BUDGET=(--iters "$ITERS")
VAL="synthetic:gaussian(sigma=15):$DATA/kodak24; synthetic:gaussian(sigma=25):$DATA/kodak24"
VAL="$VAL; synthetic:gaussian(sigma=50):$DATA/kodak24; synthetic:$CAMERA_NOISE:$DATA/kodak24; $DATA/polyu_real_noise"
mkdir -p "$RUNS"
for mix in $MIXES; do
    case $mix in
        mix) data="synthetic:noise-mix:$COLOUR_SETS" ;;
        gauss-cam) data=$COLOUR_NOISE_TRAIN ;;
        *) echo "unknown mix $mix (mix, gauss-cam)" >&2; exit 2 ;;
    esac
    out="$RUNS/$mix"
    [ -d "$out" ] && finished "$out" && continue
    agan train dncnn --config scripts/recipes/dncnn-color-blind.json --data "$data" --val "$VAL" --out "$out" \
        "${BUDGET[@]}" --val-limit 8 --workers 1 --amp bf16 "$@" > "$out.log" 2>&1 ||
        { tail -5 "$out.log" >&2; exit 1; }
done
python - "$RUNS" $MIXES <<'PY'
import json, sys
from pathlib import Path

runs, mixes = Path(sys.argv[1]), sys.argv[2:]


def last(name):
    lines = (runs / name / "metrics.jsonl").read_text().splitlines()
    record = [json.loads(line) for line in lines if '"val/psnr"' in line][-1]
    return record["step"], {key.split("@", 1)[1]: value for key, value in record.items() if key.startswith("val/psnr@")}


table = {mix: last(mix) for mix in mixes}
sets = list(next(iter(table.values()))[1])
width = max(len(s) for s in sets) + 2
print("PSNR (dB, RGB) on 8 images of each set at the last step of each run")
print(f"{'mix':<10}{'steps':>7}" + "".join(f"{s:>{width}}" for s in sets))
for mix, (step, psnr) in table.items():
    print(f"{mix:<10}{step:>7}" + "".join(f"{psnr[s]:>{width}.2f}" for s in sets))
PY
