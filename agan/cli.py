"""The ``agan`` command line.

Every command has ``--help`` with an example. Errors in the user's input (a
missing file, an unpaired folder, a bad spec) print one line naming the file
or spec and exit with status 1.
"""

from __future__ import annotations

import glob
import json
import sys
import warnings
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from agan.data.datasets import ImageDataset

from agan.data.sources import describe, open_source
from agan.data.degradations import DEGRADATIONS, degrade, parse_degradation
from agan.data.io import (ImageReadError, ImageWriteError, is_image_file, list_images, read_image_with_depth, read_metadata,
                     write_image)
from agan.data.pairing import PairingError
from agan.data.spec import SpecError, parse_calls

from agan.evaluation.compare import MetricOptions, run_methods, summarize, text_table, write_comparison, write_csv
from agan.nets.checkpoints import CheckpointError
from agan.methods.releases import DEFAULT_MODEL
from agan.methods.registry import REGISTRY, build_method

USER_ERRORS = (SpecError, PairingError, ImageReadError, ImageWriteError, CheckpointError, ValueError, FileNotFoundError)


class AganGroup(click.Group):
    """A click group that turns the toolkit's input errors into one-line messages and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            if ctx.params.get("debug"):
                raise
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
        click.option("--limit", type=click.IntRange(min=1), default=None, help="Use N images, spread evenly over the set (sorted by name)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _device_name(device: str) -> str:
    from agan.device import resolve_device

    return str(resolve_device(device))


class _Failures:
    """Images a method failed on in evaluate/compare: each named when it happens, counted at the end."""

    def __init__(self) -> None:
        self.images: list[str] = []
        self.debug = bool(click.get_current_context().find_root().params.get("debug"))

    def __call__(self, method: str, image: str, error: Exception) -> None:
        if self.debug:
            raise error
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        click.echo(f"Error: image {image}: {method} failed ({first}); the image is left out of every mean", err=True)
        self.images.append(image)

    def exit_if_any(self) -> None:
        if self.images:
            raise click.ClickException(f"{len(self.images)} image(s) left out: {', '.join(self.images[:5])}"
                                       + (" ..." if len(self.images) > 5 else ""))


def _show_notes(methods) -> None:
    """Print each method's notes (a preview model says so) once, on stderr."""
    for note in dict.fromkeys(note for method in methods for note in method.notes):
        click.echo(note, err=True)


def _load_lpips(use_lpips: bool, device: str):
    """The LPIPS metric, or None with a note for the table when it is off or unavailable."""
    if not use_lpips:
        return None, "not measured (--no-lpips)"
    from agan.evaluation.lpips import load_lpips

    metric = load_lpips(_device_name(device))
    return metric, None if metric is not None else "absent: AlexNet weights not in the torch hub cache"


@click.group(cls=AganGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agan")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error instead of one line.")
def main(debug: bool) -> None:
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
    from agan.evaluation.grids import grid

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
    _show_notes([resolved])
    dataset = ImageDataset(open_source(data_spec), seed=seed, limit=limit, spread=True)
    lpips_metric, lpips_note = _load_lpips(use_lpips, device)
    options = MetricOptions(crop_border, y_channel, quantize)
    failures = _Failures()
    rows, _ = run_methods(dataset, [resolved], options=options, lpips_metric=lpips_metric, progress=sys.stderr.isatty(),
                          on_error=failures)
    if not rows:
        raise click.ClickException(f"{resolved.label} failed on every image")
    path = write_csv(csv_path or Path("agan-evaluate.csv"), rows)
    click.echo(f"{resolved.label} on {data_spec}: {describe(dataset.source)}; {options.describe()}")
    click.echo(text_table(summarize(rows)))
    click.echo(f"per-image results: {path}")
    failures.exit_if_any()


@main.command()
@click.option("--data", "data_spec", required=True, help="PATH of a paired folder, or synthetic:KIND[+KIND]:PATH.")
@click.option("--method", "methods", multiple=True, required=True, help="A method spec; repeat for each method.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for results.md, results.csv, per_image.csv, grids/.")
@click.option("--grids", type=int, default=4, show_default=True, help="Side-by-side grids for the first N images.")
@click.option("--input-row/--no-input-row", default=True, show_default=True, help="Include the unrestored input as a row.")
@click.option("--save-outputs", is_flag=True, help="Also write every method's restored images to OUT/outputs/METHOD/.")
@metric_options
def compare(data_spec: str, methods: tuple[str, ...], out: Path, grids: int, input_row: bool, save_outputs: bool,
            y_channel: bool, crop_border: int, quantize: bool, use_lpips: bool, device: str, seed: int,
            limit: int | None) -> None:
    """Compare methods on the same images: a table, CSVs and side-by-side grids.

    \b
    Example:
      agan compare --data 'synthetic:gaussian(sigma=25,clip=false):set12/' \\
        --method 'bm3d(sigma=25)' --method nlm --method median --out cmp/
    """
    resolved = [build_method(m, _device_name(device)) for m in (("input",) if input_row else ()) + methods]
    _show_notes(resolved)
    dataset = ImageDataset(open_source(data_spec), seed=seed, limit=limit, spread=True)
    lpips_metric, lpips_note = _load_lpips(use_lpips, device)
    options = MetricOptions(crop_border, y_channel, quantize)
    def save(method: str, image: str, output: np.ndarray) -> None:
        write_image(out / "outputs" / method.replace("/", "_") / f"{image}.png", output)

    failures = _Failures()
    rows, kept = run_methods(dataset, resolved, options=options, lpips_metric=lpips_metric, keep=grids,
                             progress=sys.stderr.isatty(), on_output=save if save_outputs else None, on_error=failures)
    if not rows:
        raise click.ClickException("a method failed on every image")
    summary = write_comparison(out, rows, kept, data_spec=data_spec, options=options, lpips_note=lpips_note,
                               total=len(dataset.source) if limit is not None else None)
    click.echo(f"{data_spec}: {describe(dataset.source)}; {options.describe()}")
    click.echo(text_table(summary))
    click.echo(f"wrote {out / 'results.md'}, results.csv, per_image.csv and {len(kept)} grid(s)")
    failures.exit_if_any()


def _expand_input(argument: str) -> list[Path]:
    """The images an INPUT names: a file, a folder's images (non-recursive) or a glob's image files."""
    path = Path(argument)
    if path.is_dir():
        found = list_images(path)
        if not found:
            raise click.ClickException(f"{path}: no images in this folder")
        return found
    if path.is_file():
        return [path]
    if glob.has_magic(argument):
        found = sorted(Path(p) for p in glob.glob(argument) if Path(p).is_file() and is_image_file(p))
        if not found:
            raise click.ClickException(f"{argument}: matches no image files")
        return found
    raise click.ClickException(f"{path}: no such file or folder")


def _collect_inputs(arguments: tuple[str, ...]) -> list[Path]:
    """Every image the INPUT arguments name, in order, each file once."""
    seen: dict[Path, Path] = {}
    for argument in arguments:
        for path in _expand_input(argument):
            seen.setdefault(path.resolve(), path)
    return list(seen.values())


def _output_path(source: Path, out: Path) -> Path:
    """``out/<name>``: the same name and format; BMP (which is not written) becomes PNG."""
    return out / (source.with_suffix(".png").name if source.suffix.lower() == ".bmp" else source.name)


def _attention_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}_attention.png")


def _plan_outputs(sources: list[Path], out: Path, attention: bool) -> list[Path]:
    """The output path of each source, refusing any that is an input or is written twice."""
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"{out}: exists and is not a folder")
    inputs = {p.resolve(): p for p in sources}
    outputs = [_output_path(p, out) for p in sources]
    written: dict[Path, Path] = {}
    for source, output in zip(sources, outputs):
        for target in (output, _attention_path(output)) if attention else (output,):
            key = target.resolve()
            if key in inputs:
                raise click.ClickException(f"{target}: refusing to overwrite an input file (choose another -o)")
            if key in written:
                raise click.ClickException(f"{target}: both {written[key]} and {source} would be written there")
            written[key] = source
    return outputs


def _restore_method(model: str, post_filter: str | None, device: str, tile: int | None, overlap: int,
                    ensemble: bool):
    """The method of ``--model`` with ``--post-filter`` appended (which must name registered filters)."""
    spec = model
    if post_filter:
        for name, _ in parse_calls(post_filter):
            if name not in REGISTRY:
                raise click.ClickException(f"--post-filter {post_filter}: {name!r} is not a registered filter (see agan models)")
        spec = f"{model}+{post_filter}"
    return build_method(spec, _device_name(device), tile=tile, overlap=overlap, ensemble=ensemble)


def _restore_file(method, source: Path, output: Path, save_attention: bool, quality: int) -> None:
    """Read ``source`` (turned as its EXIF orientation says), restore it and write ``output`` (16-bit
    PNG/TIFF for 16-bit inputs; a JPEG keeps the source's EXIF and ICC profile), and its attention map."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image, bits = read_image_with_depth(source)
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    restored, attention = method.restore_with_attention(image)
    deep = bits > 8 and output.suffix.lower() in (".png", ".tif", ".tiff")
    write_image(output, restored, bits=16 if deep else 8, quality=quality, metadata=read_metadata(source))
    if save_attention and attention is not None:
        write_image(_attention_path(output), np.clip(attention, 0.0, 1.0)[..., None])


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), metavar="OUTDIR", help="Output folder; each image keeps its name.")
@click.option("--model", "model", default=DEFAULT_MODEL, show_default=True, help="A shipped model (agan models), a trained checkpoint (.pt) or a method spec such as 'bm3d(sigma=25)'.")
@click.option("--tile", type=click.IntRange(min=1), default=None, help="Run networks in tiles of N pixels (default: whole image up to 2 MP, else 512).")
@click.option("--overlap", type=click.IntRange(min=0), default=64, show_default=True, help="Pixels shared by neighbouring tiles.")
@click.option("--post-filter", default=None, help="A registered filter applied after the model, e.g. 'gaussian(sigma=0.8)'.")
@click.option("--save-attention", is_flag=True, help="Also write <stem>_attention.png (the Attentive GAN's last attention map).")
@click.option("--ensemble", is_flag=True, help="Average the network over 8 flips/rotations (x8 self-ensemble; 8x slower).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality of JPEG outputs.")
@click.option("--skip-existing", is_flag=True, help="Leave inputs whose output already exists (to continue a batch).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Where networks run.")
def restore(inputs: tuple[str, ...], out: Path, model: str, tile: int | None, overlap: int, post_filter: str | None,
            save_attention: bool, ensemble: bool, quality: int, skip_existing: bool, device: str) -> None:
    """Restore photos with a trained network or a filter; write them to OUTDIR.

    INPUT is an image file, a folder (its images, not sub-folders) or a glob.
    Each output keeps the input's name and format (PNG, JPEG, TIFF; BMP is
    written as PNG), its channels (grey stays grey, alpha is dropped) and its
    bit depth (16-bit PNG/TIFF in, 16-bit out). A file that cannot be read is
    reported and skipped; the command then exits with status 1.

    \b
    Example:
      agan restore photo.jpg -o restored/
      agan restore noisy/ -o restored/ --model dncnn-color-blind
      agan restore photos/ -o restored/ --model runs/gan/checkpoints/best.pt --save-attention
      agan restore 'scans/*.tif' -o clean/ --model 'bm3d(sigma=10)'
    """
    method = _restore_method(model, post_filter, device, tile, overlap, ensemble)
    sources = _collect_inputs(inputs)
    _show_notes([method])
    if (tile is not None or ensemble) and not method.learned:
        click.echo(f"note: --tile and --ensemble apply to networks; {method.label} has none, so they are ignored",
                   err=True)
    if save_attention and not method.gives_attention:
        click.echo(f"note: --save-attention ignored: {method.label} gives no attention map (only attentive-gan does)", err=True)
        save_attention = False
    outputs = _plan_outputs(sources, out, save_attention)
    failed = skipped = 0
    debug = click.get_current_context().find_root().params.get("debug")
    for source, output in tqdm(list(zip(sources, outputs)), desc="restore", unit="image", disable=not sys.stderr.isatty()):
        if skip_existing and output.exists():
            skipped += 1
            continue
        try:
            _restore_file(method, source, output, save_attention, quality)
        except Exception as err:  # one file's failure, named; the batch goes on
            if debug:
                raise
            failed += 1
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            message = first if isinstance(err, (ImageReadError, ImageWriteError)) else f"{source}: {first}"
            tqdm.write(f"Error: {message}", file=sys.stderr)
    kept = f" ({skipped} already there)" if skipped else ""
    click.echo(f"restored {len(sources) - failed - skipped} of {len(sources)} image(s) with {method.label} into "
               f"{out}/{kept}")
    if failed:
        raise click.ClickException(f"{failed} image(s) could not be restored")


@main.command()
@click.argument("model")
@click.option("--data", "data_spec", default=None, help="Training data: PATH of a paired folder, or synthetic:KIND[+KIND]:PATH.")
@click.option("--val", "val_spec", default=None, help="Validation data spec (whole images, fixed seed per image).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Run folder; an existing run there is resumed.")
@click.option("--iters", type=int, default=None, help="Training steps in all (default 1000); raise it to extend a run.")
@click.option("--batch", type=int, default=None, help="Patches per step and process (default 4).")
@click.option("--patch", type=int, default=None, help="Patch side in pixels (default 128).")
@click.option("--lr", type=float, default=None, help="Learning rate (default per model: GAN 2e-4, DnCNN 1e-3, U-Net 2e-4).")
@click.option("--schedule", type=click.Choice(["cosine", "step", "constant"]), default=None, help="Learning-rate schedule (default cosine).")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Steps of a linear lr ramp at the start (default 0; useful with --init).")
@click.option("--loss", type=click.Choice(["mse", "l1"]), default=None, help="Supervised loss of the CNNs.")
@click.option("--perceptual", type=click.Choice(["vgg", "none"]), default=None, help="GAN perceptual loss; vgg needs VGG16 weights in the torch hub cache.")
@click.option("--d-ratio", type=int, default=None, help="Discriminator steps per generator step (default 1).")
@click.option("--clip-grad", type=float, default=None, help="Clip the gradient norm to this value.")
@click.option("--ema", type=float, default=None, help="Keep an EMA of the weights with this decay (e.g. 0.999).")
@click.option("--amp", type=click.Choice(["none", "bf16", "fp16"]), default=None, help="Mixed precision on CUDA.")
@click.option("--grey/--color", "grey", default=None, help="Force one or three channels (default: the files').")
@click.option("--val-every", type=int, default=None, help="Steps between validations (default 200).")
@click.option("--val-limit", type=click.IntRange(min=1), default=None, help="Validation images (default the first 4 of each validation set).")
@click.option("--save-every", type=int, default=None, help="Steps between checkpoints (default 200).")
@click.option("--workers", type=int, default=None, help="DataLoader worker processes (default 0).")
@click.option("--seed", type=int, default=None, help="Seed of the weights, patches and degradations (default 0).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="Where to train (default auto).")
@click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path), default=None, help="JSON file of settings (TrainConfig fields); options override it.")
@click.option("--init", default=None, help="Start from the weights of a shipped model (agan models) or a checkpoint .pt: fine-tuning, with a fresh optimizer and schedule.")
@click.option("--minutes", type=float, default=None, help="A time budget: after a warm-up, --iters is set so that the schedule (low lr, last validation, best.pt) ends within M minutes.")
@click.option("--max-minutes", type=float, default=None, help="End this session after N minutes (writing last.pt); rerun to resume.")
@click.option("--dry-run", is_flag=True, help="Print the resolved configuration and the model size; train nothing.")
def train(model: str, data_spec: str | None, val_spec: str | None, out: Path, config_file: Path | None, dry_run: bool,
          max_minutes: float | None, **options) -> None:
    """Train MODEL (attentive-gan, dncnn, unet) with the one training engine.

    A run folder gets config.json, checkpoints/last.pt and best.pt,
    metrics.jsonl, TensorBoard events and samples/. Running the command again
    on the same folder resumes exactly where it stopped. Under
    `torchrun --nproc_per_node=N` it trains with DistributedDataParallel.

    \b
    Example:
      agan train dncnn --data 'synthetic:gaussian(sigma=25):train400/' \\
        --val 'synthetic:gaussian(sigma=25,clip=false):set12/' --out runs/dncnn --iters 20000
    """
    from agan.nets.architectures import get_architecture
    from agan.training.engine import Trainer, TrainingError
    from agan.training.perceptual import PerceptualWeightsMissing
    from agan.training.guard import Interrupted, RunLocked
    from agan.training.config import TrainConfig, resolve_config, resume_changes

    get_architecture(model)
    saved = out / "config.json"
    if saved.exists() and (out / "checkpoints" / "last.pt").exists():
        config = TrainConfig.read(saved)
        if config.model != model:
            raise click.ClickException(f"{out}: holds a {config.model} run, not {model}")
        config.out = str(out)  # the folder may have been moved or copied since
        asked = {**(json.loads(config_file.read_text()) if config_file else {}),
                 **{k: v for k, v in options.items() if v is not None}, "data": data_spec, "val": val_spec}
        for line in resume_changes(config, asked):
            click.echo(line, err=True)
        config.check()
    else:
        if data_spec is None and config_file is None:
            raise click.BadParameter("give the training data", param_hint="--data")
        overrides = {"data": data_spec, "val": val_spec, "out": str(out), **options}
        config = resolve_config(model, overrides, config_file)
    try:
        trainer = Trainer(config, log=click.echo)
        if trainer.main:
            click.echo(trainer.describe())
        if dry_run:
            return
        last = trainer.fit(progress=sys.stderr.isatty(), max_minutes=max_minutes)
    except Interrupted as err:
        click.echo(f"Stopped: {err}", err=True)
        sys.exit(err.exit_code)
    except (TrainingError, PerceptualWeightsMissing, RunLocked) as err:
        raise click.ClickException(str(err)) from None
    if trainer.main:
        click.echo(f"trained {config.model} to step {trainer.step}: {last} (best: {last.parent / 'best.pt'})")


@main.command("release")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("name")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True, help="Which checkpoint of RUN/checkpoints/ (a run without them: RUN/release/NAME.pt).")
@click.option("--status", type=click.Choice(["preview", "stable"]), default="preview", show_default=True, help="preview: a short or weak run, said so wherever it is used.")
@click.option("--note", default=None, help="A sentence for the card on what the figures do not say (e.g. how the run ended).")
@click.option("--evaluate", "specs", multiple=True, help="A data spec to score the released file on; repeatable.")
@click.option("--compare", "compare", multiple=True, help="A method scored beside it (a filter or another model); repeatable.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder of the image sets; cards name data relative to it as $DATA/... [default: $DATA or ../shared/data]")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), default=None, help="JSON-lines file of filter scores to reuse across releases on the same images.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder of the release [default: agan/weights, what this build ships].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Where the evaluations run.")
def release_command(run: Path, name: str, checkpoint: str, status: str, note: str | None, specs: tuple[str, ...],
                    compare: tuple[str, ...], data_root: Path | None, cache: Path | None, out: Path | None,
                    device: str) -> None:
    """Release RUN as the shipped model NAME: fp16 weights and a model card with its evaluations.

    The card records the run's data (relative to the data folder), steps
    planned and reached, hardware, training time, the recipe command and the
    best validation; each --evaluate scores the released file beside the
    unrestored input and each --compare method.

    \b
    Example:
      agan release runs/dncnn-gray-s25 dncnn-gray-s25 \\
        --evaluate 'synthetic:gaussian(sigma=25,clip=false):../shared/data/set12' --compare 'bm3d(sigma=25)'
    """
    from agan.training.release import make_release

    weights, card = make_release(run, name, out=out, checkpoint=checkpoint, status=status, note=note, specs=specs,
                                 compare=compare, data_root=data_root, device=_device_name(device), cache=cache,
                                 progress=sys.stderr.isatty(), echo=click.echo)
    click.echo(f"released {name}: {weights} and {card}")


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="PNG to write; default RUN/curves.png.")
def plot(run: Path, output: Path | None) -> None:
    """Draw the G-loss and D-loss curves, every loss term and validation PSNR/SSIM of a run.

    \b
    Example:
      agan plot runs/gan -o gan-curves.png
    """
    from agan.training.plot import plot_run

    path = plot_run(run, output or run / "curves.png")
    click.echo(f"wrote {path}")


@main.command()
def models() -> None:
    """List the shipped models with their cards, the registered filters, and the architectures.

    A shipped model's name, a trained checkpoint (a .pt file) or a filter
    spec is used wherever a method is asked for.

    \b
    Example:
      agan models
    """
    from agan.nets.architectures import ARCHITECTURES
    from agan.nets import count_parameters
    from agan.methods.releases import RELEASES, headline, shipped

    entries = list(REGISTRY)
    width = max(len(name) for name in [e.name for e in entries] + list(ARCHITECTURES) + list(RELEASES))
    cards = shipped()
    click.echo(f"shipped models (default for agan restore: {DEFAULT_MODEL}):")
    for name, summary in RELEASES.items():
        card = cards.get(name)
        if card is None:
            click.echo(f"  {name.ljust(width)}  {summary}; not in this build (train: scripts/recipes/{name}.sh)")
            continue
        click.echo(f"  {name.ljust(width)}  [{card.get('status', 'preview')}] {summary}")
        click.echo(f"  {''.ljust(width)}  {headline(card)}")
        click.echo(f"  {''.ljust(width)}  {_card_line(card)}")
    click.echo("filters (method specs: NAME or NAME(param=value), chain a post-filter with +):")
    for entry in entries:
        click.echo(f"  {entry.name.ljust(width)}  {entry.summary}")
    click.echo("architectures (train with agan train; use the checkpoint .pt as the method):")
    for arch in ARCHITECTURES.values():
        sizes = f"{arch.parameters() / 1e6:.3f} M params"
        if arch.discriminator is not None:
            sizes += f" (+ discriminator {count_parameters(arch.discriminator()) / 1e6:.3f} M)"
        click.echo(f"  {arch.name.ljust(width)}  {sizes}  {arch.summary}")


def _card_line(card: dict) -> str:
    """One line of a model card: size, data, steps, hardware, time and the validation figures."""
    steps = f"{card.get('steps')} steps" if card.get("steps_planned") in (None, card.get("steps")) else \
        f"{card.get('steps')} of {card.get('steps_planned')} planned steps"
    parts = [f"{card.get('parameters', 0) / 1e6:.2f} M params, {card.get('file_mb', '?')} MB fp16",
             f"data {card.get('data')}", f"{steps} on {card.get('hardware')}",
             f"{card.get('training_seconds', 0) / 60:.1f} min"]
    validation = card.get("validation")
    if validation:
        parts.append(f"val {validation.get('psnr', float('nan')):.2f} dB / {validation.get('ssim', float('nan')):.4f}")
    return "; ".join(parts)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("agan-demo"), show_default=True, help="Report folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic degradations.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Degradations restored at once, in worker processes.  [default: one per CPU core]")
def demo(out: Path, seed: int, jobs: int | None) -> None:
    """Synthesise weather and noise on bundled sample photos and compare the filters.

    \b
    Example:
      agan demo --out agan-demo
    """
    from agan.demo import run_demo

    report = run_demo(out, seed=seed, progress=sys.stderr.isatty(), jobs=jobs)
    click.echo(f"demo report: {report}")


if __name__ == "__main__":
    main()
