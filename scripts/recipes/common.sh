# Shared by the recipes: where the image sets are, where runs go, and how a recipe ends.
#   DATA  folder of the image sets (default ../shared/data, as in the repository's sibling checkout)
#   RUNS  folder for the run folders (default runs)
# Extra arguments to a recipe go to `agan train` (e.g. --max-minutes 60 to train in sessions:
# rerunning the recipe resumes the run where it stopped, then releases it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DATA=${DATA:-../shared/data}
RUNS=${RUNS:-runs}
WEATHER="weather-mix(kinds=1,among=raindrop|rain|snow|dust)"
COLOUR_SETS="$DATA/kodak24,$DATA/mcmaster,$DATA/set14"
FILTERS=(--compare mean --compare median --compare gaussian --compare bilateral --compare nlm --compare wavelet --compare bm3d)

# finished RUN: true when RUN's last checkpoint reached the configured number of steps
finished() {
    python - "$1" <<'PY'
import json, sys
from pathlib import Path
from agan.checkpoints import load_checkpoint
run = Path(sys.argv[1])
last = run / "checkpoints" / "last.pt"
done = last.is_file() and load_checkpoint(last)["training"]["step"] >= json.loads((run / "config.json").read_text())["iters"]
sys.exit(0 if done else 1)
PY
}
