#!/usr/bin/env bash
# Does agan's synthetic rain teach a model real heavy rain? Two U-Nets trained at once with the same
# settings (batch 4, patch 128, seed 0, ITERS steps): one on the 20 real-format heavy-rain pairs of
# jorder_small/train, one on agan's synthetic rain (default severity: light to heavy) over BSDS432.
# Both are validated on jorder_small/test and outdoor_rain_test1 (each set's PSNR is logged as
# val/psnr@SET); the table at the end gives them at every validation step.
#   DATA       folder of the image sets (default ../shared/data)
#   RUNS       folder of the two run folders and their logs (default runs/rain-check)
#   ITERS      training steps (default 400)   VAL_EVERY  steps between validations (default 200)
#   SYNTH      the synthetic degradation (default rain; e.g. 'rain(severity=0.5-1)' for heavy rain only)
#   ONLY       run only this one of the two (real-pairs or synthetic-rain); the table shows both
# Extra arguments go to both `agan train` commands (e.g. --max-minutes 30). Rerunning resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
RUNS=${RUNS:-runs/rain-check}
ITERS=${ITERS:-400}
VAL_EVERY=${VAL_EVERY:-200}
SYNTH=${SYNTH:-rain}
ONLY=${ONLY:-}
VAL="$DATA/jorder_small/test; $DATA/outdoor_rain_test1"
COMMON=(--iters "$ITERS" --batch 4 --patch 128 --seed 0 --val-every "$VAL_EVERY" --save-every "$VAL_EVERY" "$@")
mkdir -p "$RUNS"
if [ "$ONLY" != synthetic-rain ]; then
    agan train unet --data "$DATA/jorder_small/train" --val "$VAL" --out "$RUNS/real-pairs" "${COMMON[@]}" \
        > "$RUNS/real-pairs.log" 2>&1 &
fi
if [ "$ONLY" != real-pairs ]; then
    agan train unet --data "synthetic:$SYNTH:$DATA/bsds432" --val "$VAL" --out "$RUNS/synthetic-rain" "${COMMON[@]}" \
        > "$RUNS/synthetic-rain.log" 2>&1 &
fi
wait
python - "$RUNS" <<'PY'
import json, sys
from pathlib import Path

runs = Path(sys.argv[1])
print(f"{'run':<16} {'step':>5}  validation PSNR (dB) per set")
for name in ("real-pairs", "synthetic-rain"):
    if not (runs / name / "metrics.jsonl").exists():
        continue
    for line in (runs / name / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "val/psnr" in record:
            sets = "  ".join(f"{k.split('@', 1)[1]} {v:.2f}" for k, v in record.items() if k.startswith("val/psnr@"))
            print(f"{name:<16} {record['step']:>5}  {sets}  (mean {record['val/psnr']:.2f})")
PY
