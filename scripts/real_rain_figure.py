"""Real rainy photos before and after each weather model, with the change each model made.

    python scripts/real_rain_figure.py -o docs/real-heavy-rain.jpg --folder ../shared/data/real_heavy_rain

One row a photo: the input, then for each model (default: the shipped weather models) its
output and its change map ``|output - input|`` (mean over the channels, times ``--gain``, as
grey). Each change map is captioned with its block-seam ratio
(:func:`agan.evaluation.seams.block_seam_ratio`, 16-pixel grid: about 1 for a smooth edit, higher
for edits made in blocks), and the ratios are printed as a table. Real photos have no clean
image: this shows what a model does to them, not a score.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from agan.data.io import list_images, read_image, write_image
from agan.evaluation.grids import grid
from agan.evaluation.seams import block_seam_ratio, change_map
from agan.methods.registry import build_method


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "models", multiple=True, default=("attentive-gan-weather", "unet-weather"), show_default=True)
@click.option("--gain", type=float, default=4.0, show_default=True, help="Change maps are |output - input| times this.")
@click.option("--height", type=int, default=200, show_default=True)
def main(output: Path, folder: Path, models: tuple[str, ...], gain: float, height: int) -> None:
    """Draw input | each model's output and change map for every photo of FOLDER."""
    methods = [build_method(name, precision="fp32") for name in models]
    rows, table = [], []
    for path in list_images(folder):
        image = read_image(path)
        row, ratios = [(image, path.name)], []
        for name, method in zip(models, methods):
            restored = method(image)
            change = change_map(image, restored)
            ratio = block_seam_ratio(change)
            ratios.append(ratio)
            row += [(restored, name), (np.clip(change * gain, 0.0, 1.0), f"|change| x{gain:g}, seams {ratio:.2f}")]
        rows.append(row)
        table.append((path.name, ratios))
    write_image(output, grid(rows, height=height), quality=88)
    click.echo(f"{'photo':<20} " + " ".join(f"{name:>22}" for name in models))
    for name, ratios in table:
        click.echo(f"{name:<20} " + " ".join(f"{ratio:>22.2f}" for ratio in ratios))
    click.echo(f"wrote {output}")


if __name__ == "__main__":
    main()
