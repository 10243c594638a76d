"""The ``agan`` command line.

Every command has ``--help`` with an example. Errors in the user's input (a
missing file, an unpaired folder, a bad spec) print one line naming the file
or spec and exit with status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from data.datasets import ImageDataset, describe, open_source
from data.degradations import DEGRADATIONS, degrade, parse_degradation
from data.io import ImageReadError, ImageWriteError, write_image
from data.pairing import PairingError
from data.spec import SpecError

from .evaluation import MetricOptions, run_methods, summarize, text_table, write_comparison, write_csv
from .checkpoints import CheckpointError
from .registry import REGISTRY, build_method

USER_ERRORS = (SpecError, PairingError, ImageReadError, ImageWriteError, CheckpointError, ValueError, FileNotFoundError)


class AganGroup(click.Group):
    """A click group that turns the toolkit's input errors into one-line messages and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            raise click.ClickException(str(err).splitlines()[0] if str(err) else type(err).__name__) from None


def metric_options(function):
    """The PSNR/SSIM convention options shared by ``evaluate`` and ``compare``."""
    options = [
        click.option("--y-channel", is_flag=True, help="Measure PSNR/SSIM on the Y channel of YCbCr (BT.601)."),
        click.option("--crop-border", type=int, default=0, show_default=True, help="Pixels cropped from each side before measuring."),
        click.option("--quantize", is_flag=True, help="Round outputs and targets to 8-bit levels before measuring."),
        click.option("--lpips/--no-lpips", "use_lpips", default=True, show_default=True, help="Report LPIPS (needs AlexNet weights in the torch hub cache)."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Where LPIPS and models run."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic degradations (fixed per image)."),
        click.option("--limit", type=int, default=None, help="Use only the first N images."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _device_name(device: str) -> str:
    from .device import resolve_device

    return str(resolve_device(device))


def _load_lpips(use_lpips: bool, device: str):
    """The LPIPS metric, or None with a note for the table when it is off or unavailable."""
    if not use_lpips:
        return None, "not measured (--no-lpips)"
    from . import metrics

    metric = metrics.load_lpips(_device_name(device))
    return metric, None if metric is not None else "absent: AlexNet weights not in the torch hub cache"


@click.group(cls=AganGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agan")
def main() -> None:
    """agan: GAN-based image restoration, CNN baselines, classical filters, honest metrics.

    \b
    Example:
      agan synth raindrop --clean photos/ --out synth/ --count 8
      agan compare --data 'synthetic:gaussian(sigma=25):photos/' --method bm3d --method nlm --out cmp/
    """


SYNTH_HELP = """Synthesise degraded/clean/mask triplets from clean images.

KIND is a degradation chain: one of the kinds below, with optional
parameters in brackets, joined by '+'. Noise levels are on the 0-255 scale.
Outputs are 8-bit PNG (values clipped to [0, 1]).

\b
Kinds: """ + ", ".join(DEGRADATIONS) + """

\b
Example:
  agan synth 'rain(angle=10)+haze' --clean photos/ --out synth/ --count 20 --seed 1
"""


@main.command(help=SYNTH_HELP)
@click.argument("kind")
@click.option("--clean", "clean_path", required=True, type=click.Path(exists=True, path_type=Path), help="Folder (or one file) of clean images.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder; gets degraded/, clean/, mask/ and preview.png.")
@click.option("--count", type=int, default=None, help="Pairs to write; default one per clean image (cycled when larger).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed; pair i uses numpy default_rng([seed, i]).")
def synth(kind: str, clean_path: Path, out: Path, count: int | None, seed: int) -> None:
    from .grids import grid

    calls = parse_degradation(kind)
    source = open_source(f"synthetic:{kind}:{clean_path}")
    total = len(source) if count is None else int(count)
    if total < 1:
        raise click.BadParameter("must be at least 1", param_hint="--count")
    inputs = {p.resolve() for p in source.files()}
    preview_rows = []
    for i in tqdm(range(total), desc="synth", unit="pair", disable=not sys.stderr.isatty()):
        index = i % len(source)
        clean = source.load_clean(index)
        degraded, mask = degrade(clean, calls, np.random.default_rng([seed, i]))
        stem = source.name(index) if total <= len(source) else f"{source.name(index)}_{i // len(source):03d}"
        for folder, image in (("degraded", degraded), ("clean", clean), ("mask", mask[..., None])):
            target = out / folder / f"{stem}.png"
            if target.resolve() in inputs:
                raise click.ClickException(f"{target}: refusing to overwrite an input file")
            write_image(target, image)
        if len(preview_rows) < 4:
            preview_rows.append([(degraded, f"{stem} degraded"), (mask, "mask"), (clean, "clean")])
    write_image(out / "preview.png", grid(preview_rows, height=224))
    click.echo(f"wrote {total} pairs of {kind} to {out}/ (degraded/, clean/, mask/), preview: {out / 'preview.png'}")


@main.command()
@click.argument("method")
@click.option("--data", "data_spec", required=True, help="PATH of a paired folder, or synthetic:KIND[+KIND]:PATH.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None, help="Per-image CSV; default agan-evaluate.csv.")
@metric_options
def evaluate(method: str, data_spec: str, csv_path: Path | None, y_channel: bool, crop_border: int, quantize: bool,
             use_lpips: bool, device: str, seed: int, limit: int | None) -> None:
    """Score one METHOD on a dataset: mean PSNR, SSIM, LPIPS and seconds per megapixel.

    METHOD is a registered name with optional parameters and post-filters
    (see `agan models`).

    \b
    Example:
      agan evaluate 'bm3d(sigma=25)' --data 'synthetic:gaussian(sigma=25,clip=false):set12/'
    """
    resolved = build_method(method, _device_name(device))
    dataset = ImageDataset(open_source(data_spec), seed=seed, limit=limit)
    lpips_metric, lpips_note = _load_lpips(use_lpips, device)
    options = MetricOptions(crop_border, y_channel, quantize)
    rows, _ = run_methods(dataset, [resolved], options=options, lpips_metric=lpips_metric, progress=sys.stderr.isatty())
    path = write_csv(csv_path or Path("agan-evaluate.csv"), rows)
    click.echo(f"{resolved.label} on {data_spec}: {describe(dataset.source)}; {options.describe()}")
    click.echo(text_table(summarize(rows)))
    click.echo(f"per-image results: {path}")


@main.command()
@click.option("--data", "data_spec", required=True, help="PATH of a paired folder, or synthetic:KIND[+KIND]:PATH.")
@click.option("--method", "methods", multiple=True, required=True, help="A method spec; repeat for each method.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for results.md, results.csv, per_image.csv, grids/.")
@click.option("--grids", type=int, default=4, show_default=True, help="Side-by-side grids for the first N images.")
@click.option("--input-row/--no-input-row", default=True, show_default=True, help="Include the unrestored input as a row.")
@metric_options
def compare(data_spec: str, methods: tuple[str, ...], out: Path, grids: int, input_row: bool, y_channel: bool,
            crop_border: int, quantize: bool, use_lpips: bool, device: str, seed: int, limit: int | None) -> None:
    """Compare methods on the same images: a table, CSVs and side-by-side grids.

    \b
    Example:
      agan compare --data 'synthetic:gaussian(sigma=25,clip=false):set12/' \\
        --method 'bm3d(sigma=25)' --method nlm --method median --out cmp/
    """
    resolved = [build_method(m, _device_name(device)) for m in (("input",) if input_row else ()) + methods]
    dataset = ImageDataset(open_source(data_spec), seed=seed, limit=limit)
    lpips_metric, lpips_note = _load_lpips(use_lpips, device)
    options = MetricOptions(crop_border, y_channel, quantize)
    rows, kept = run_methods(dataset, resolved, options=options, lpips_metric=lpips_metric, keep=grids,
                             progress=sys.stderr.isatty())
    summary = write_comparison(out, rows, kept, data_spec=data_spec, options=options, lpips_note=lpips_note)
    click.echo(f"{data_spec}: {describe(dataset.source)}; {options.describe()}")
    click.echo(text_table(summary))
    click.echo(f"wrote {out / 'results.md'}, results.csv, per_image.csv and {len(kept)} grid(s)")


@main.command()
def models() -> None:
    """List the registered filters and the trainable architectures with their sizes.

    A trained checkpoint (a .pt file) is used wherever a method is asked for.

    \b
    Example:
      agan models
    """
    from .architectures import ARCHITECTURES
    from .models import count_parameters

    entries = list(REGISTRY)
    width = max(len(name) for name in [e.name for e in entries] + list(ARCHITECTURES))
    click.echo("filters (method specs: NAME or NAME(param=value), chain a post-filter with +):")
    for entry in entries:
        click.echo(f"  {entry.name.ljust(width)}  {entry.summary}")
    click.echo("architectures (use a trained checkpoint .pt as the method):")
    for arch in ARCHITECTURES.values():
        sizes = f"{arch.parameters() / 1e6:.3f} M params"
        if arch.discriminator is not None:
            sizes += f" (+ discriminator {count_parameters(arch.discriminator()) / 1e6:.3f} M)"
        click.echo(f"  {arch.name.ljust(width)}  {sizes}  {arch.summary}")


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("agan-demo"), show_default=True, help="Report folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic degradations.")
def demo(out: Path, seed: int) -> None:
    """Synthesise weather and noise on bundled sample photos and compare the filters.

    \b
    Example:
      agan demo --out agan-demo
    """
    from .demo import run_demo

    report = run_demo(out, seed=seed, progress=sys.stderr.isatty())
    click.echo(f"demo report: {report}")


if __name__ == "__main__":
    main()
