"""The README's figure of the shipped weather models: input | GAN | U-Net | best filter | clean, on real-format rain.

    python scripts/shipped_figure.py -o docs/shipped-weather.jpg \
        --pair ../shared/data/rain12:0 --pair ../shared/data/jorder_small/test:0

Each ``--pair FOLDER:INDEX`` is one row: image INDEX of a paired folder, restored by
``attentive-gan-weather`` and ``unet-weather`` and by the filter with the best PSNR on
that folder in the GAN's model card; each tile is captioned with its RGB PSNR.
"""

from __future__ import annotations

from pathlib import Path

import click

from agan.data.datasets import ImageDataset
from agan.data.io import write_image
from agan.data.sources import open_source
from agan.evaluation.grids import grid
from agan.evaluation.metrics import psnr
from agan.methods.registry import build_method
from agan.methods.shipped import best_filter, load_card

MODELS = ("attentive-gan-weather", "unet-weather")


def best_filter_on(folder: Path) -> str:
    """The best filter on ``folder`` by the GAN's card (the evaluation whose data ends with the folder's name)."""
    tail = "/".join(folder.parts[-2:]) if folder.name in ("train", "test") else folder.name
    for evaluation in load_card(MODELS[0])["evaluations"]:
        if evaluation["data"].endswith("/" + tail):
            best = best_filter(evaluation)
            if best is not None:
                return best["method"]
    raise click.ClickException(f"{folder}: not among the evaluations of {MODELS[0]}'s card")


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pair", "pairs", multiple=True, required=True, help="FOLDER:INDEX, one row each.")
@click.option("--height", type=int, default=240, show_default=True)
def main(output: Path, pairs: tuple[str, ...], height: int) -> None:
    """Draw input | each shipped weather model | the best filter | clean for each pair."""
    models = [build_method(name, precision="fp32") for name in MODELS]
    rows = []
    for item in pairs:
        folder_text, _, index = item.rpartition(":")
        folder = Path(folder_text)
        sample = ImageDataset(open_source(str(folder)))[int(index)]
        degraded, clean = sample["degraded"], sample["clean"]
        methods = [*models, build_method(best_filter_on(folder))]
        row = [(degraded, f"{folder.name} {sample['name']}: input {psnr(degraded, clean):.2f} dB")]
        for name, method in zip([*MODELS, methods[-1].label], methods):
            restored = method(degraded)
            row.append((restored, f"{name} {psnr(restored, clean):.2f} dB"))
        rows.append(row + [(clean, "clean")])
    write_image(output, grid(rows, height=height))
    click.echo(f"wrote {output}")


if __name__ == "__main__":
    main()
