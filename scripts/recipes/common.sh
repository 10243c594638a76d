# Shared by the recipes: where the image sets are, where runs go, and how a recipe ends.
#   DATA         folder of the image sets (default ../shared/data, as in the repository's sibling checkout)
#   RUNS         folder for the run folders (default runs)
#   RELEASE_RUN  release this run folder (trained elsewhere, e.g. a folder of ../shared/models/) instead of training
#   STATUS       the card's status: preview (default) or stable
#   NOTE         a sentence for the card on what the figures do not say
#   CHECKPOINT   which checkpoint to release: best (default) or last
#   LIVE         set to 1 to release the network's own weights rather than their EMA (agan release --live)
#   SKIP_RELEASE set to 1 to train only (scripts/train_on_gpu.sh releases without the evaluations)
#   WEIGHTS      folder to release into (default agan/weights, what the package ships)
# Extra arguments to a recipe go to `agan train` (e.g. --max-minutes 60 to train in sessions:
# rerunning the recipe resumes the run where it stopped, then releases it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DATA=${DATA:-../shared/data}
RUNS=${RUNS:-runs}
export DATA
# Drops at a random focus (0 sharp on the glass .. 1 soft blobs, as real photos of drops show them).
WEATHER="weather-mix(kinds=1,among=raindrop|rain|snow|dust,focus=random)"
# Clean colour photos to synthesise on (about 560). Kodak24 is left out: the evaluations use it.
COLOUR_SETS="$DATA/bsds432,$DATA/urban100,$DATA/mcmaster,$DATA/set14"
# Light rain as Rain12 and Rain100L show it (input 27 to 32 dB), and rain under a thick veil as
# Outdoor-Rain shows it (global transmission 0.36 to 0.77 here; Outdoor-Rain's 0.25 to 0.5).
LIGHT_RAIN="rain(severity=0-0.25)"
VEILED_RAIN="rain(severity=0.2-0.7,veil=0.4-0.9)"
# The weather models: every kind from light to heavy on the colour photos (half the patches), light
# rain and veiled rain (a sixth each), and the 20 real-format heavy-rain pairs of jorder_small/train
# (each counted 24 times, a seventh).
WEATHER_TRAIN="synthetic:$WEATHER:$COLOUR_SETS*3; synthetic:$LIGHT_RAIN:$COLOUR_SETS; synthetic:$VEILED_RAIN:$COLOUR_SETS; $DATA/jorder_small/train*24"
# best.pt is picked on synthetic weather on Set5 and on two real-format heavy-rain sets.
WEATHER_VAL="synthetic:$WEATHER:$DATA/set5; $DATA/jorder_small/test; $DATA/outdoor_rain_test1"
# Camera-like noise: the kinds of noise-mix a denoiser can invert (blur left out).
CAMERA_NOISE="noise-mix(among=poisson|gaussian|speckle|salt-pepper|scribble|jpeg)"
# The blind colour denoiser's noise: Gaussian sigma 0-55 (CDnCNN-B's range) on two thirds of the
# patches, camera-like noise on the other third.
COLOUR_NOISE_TRAIN="synthetic:gaussian(low=0,high=55):$COLOUR_SETS*2; synthetic:$CAMERA_NOISE:$COLOUR_SETS"
FILTERS=(--compare mean --compare median --compare gaussian --compare bilateral --compare nlm --compare wavelet --compare bm3d)
# BM3D removes Gaussian noise; on rain it returns the input (within 0.03 dB on rain12, rain100l_subset and
# jorder_small/test) at about a minute a photo on two cores, so the weather evaluations leave it out.
WEATHER_FILTERS=(--compare mean --compare median --compare gaussian --compare bilateral --compare nlm --compare wavelet)
# The weather models' test sets: the real-format rain pairs, then each weather kind on Kodak24 (seed 0).
WEATHER_TESTS=(--evaluate "$DATA/rain12" --evaluate "$DATA/rain100l_subset" --evaluate "$DATA/jorder_small/test"
               --evaluate "$DATA/outdoor_rain_test1"
               --evaluate "synthetic:raindrop:$DATA/kodak24" --evaluate "synthetic:rain:$DATA/kodak24"
               --evaluate "synthetic:snow:$DATA/kodak24" --evaluate "synthetic:dust:$DATA/kodak24")

# training: true unless RELEASE_RUN names a run to release as it is
training() { [ -z "${RELEASE_RUN:-}" ]; }

# finished RUN: true when RUN's last checkpoint reached the configured number of steps
finished() {
    python - "$1" <<'PY'
import json, sys
from pathlib import Path
from agan.nets.checkpoints import load_checkpoint
run = Path(sys.argv[1])
last = run / "checkpoints" / "last.pt"
done = last.is_file() and load_checkpoint(last)["training"]["step"] >= json.loads((run / "config.json").read_text())["iters"]
sys.exit(0 if done else 1)
PY
}

# release NAME RUN ARGS...: `agan release` with the card's status and note; filter scores are shared between releases
release() {
    local name=$1 run=$2
    shift 2
    [ "${SKIP_RELEASE:-0}" = 1 ] && return 0
    agan release "$run" "$name" --status "${STATUS:-preview}" ${NOTE:+--note "$NOTE"} --data-root "$DATA" \
        --checkpoint "${CHECKPOINT:-best}" $([ "${LIVE:-0}" = 1 ] && echo --live) \
        --cache "$RUNS/filter-scores.jsonl" ${WEIGHTS:+--out "$WEIGHTS"} "$@"
}
