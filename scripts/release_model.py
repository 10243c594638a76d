"""Turn a finished training run into a shipped model: fp16 weights and a model card in agan/weights/.

    python scripts/release_model.py RUN NAME [--checkpoint best|last]
        [--evaluate SPEC ...] [--compare METHOD ...] [--device auto|cpu|cuda]

NAME is one of agan.pretrained.RELEASES; the recipe scripts/recipes/NAME.sh
trains RUN and then calls this script. The card records the run's data,
steps, hardware, training time, the recipe command and its best validation;
each ``--evaluate SPEC`` then scores the *released* fp16 file on SPEC (seed
0, RGB PSNR/SSIM on float images), beside the unrestored input and each
``--compare`` method, and adds the table to the card.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agan.device import resolve_device  # noqa: E402
from agan.evaluation import MetricOptions, run_methods, summarize, text_table  # noqa: E402
from agan.pretrained import WEIGHTS_DIR, card_from_run, release  # noqa: E402
from agan.registry import build_method  # noqa: E402
from data.datasets import ImageDataset, open_source  # noqa: E402
from data.io import atomic_write_bytes  # noqa: E402


def evaluate_release(weights: Path, name: str, spec: str, compare: tuple[str, ...], device: str) -> dict:
    """Score the released file (labelled ``name``), the input and the ``compare`` methods on ``spec``."""
    methods = [build_method("input"), build_method(str(weights), device)] + [build_method(m, device) for m in compare]
    dataset = ImageDataset(open_source(spec), seed=0)
    options = MetricOptions()
    rows, _ = run_methods(dataset, methods, options=options, progress=sys.stderr.isatty())
    for row in rows:
        if row["method"] == methods[1].label:
            row["method"] = name
    summary = summarize(rows)
    click.echo(f"{name} on {spec}:\n{text_table(summary)}")
    return {"data": spec, "images": len(dataset), "convention": options.describe(),
            "results": [{"method": s["method"], "psnr": round(s["psnr"], 3), "ssim": round(s["ssim"], 4)}
                        for s in summary]}


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("name")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--evaluate", "specs", multiple=True, help="A data spec to score the released file on; repeatable.")
@click.option("--compare", "compare", multiple=True, help="A method to score beside it (e.g. 'bm3d(sigma=25)'); repeatable.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=WEIGHTS_DIR, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def main(run: Path, name: str, checkpoint: str, specs: tuple[str, ...], compare: tuple[str, ...], out: Path,
         device: str) -> None:
    """Release RUN's checkpoint as the shipped model NAME."""
    try:
        card = card_from_run(run, name, command=f"bash scripts/recipes/{name}.sh")
        weights, card_path = release(run / "checkpoints" / f"{checkpoint}.pt", name, card, out)
        card = json.loads(card_path.read_text())
        device_name = str(resolve_device(device))
        card["evaluations"] = [evaluate_release(weights, name, spec, compare, device_name) for spec in specs]
    except (ValueError, OSError) as err:
        raise click.ClickException(str(err).splitlines()[0]) from None
    atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())
    click.echo(f"released {name}: {weights} ({card['file_mb']} MB) and {card_path}")


if __name__ == "__main__":
    main()
