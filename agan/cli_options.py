"""The option lists of the ``agan`` commands that take many (kept apart so that :mod:`agan.cli` reads as
the commands themselves). Each function is a decorator that adds its options to a click command."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path
from typing import Callable

import click

from agan.data.io import DEFAULT_MAX_MEGAPIXELS
from agan.device import DEVICE_NAMES
from agan.methods.shipped import DEFAULT_MODEL
from agan.nets.architectures import ARCHITECTURES
from agan.training.config import CHOICES, TrainConfig


def device_name(device: str) -> str:
    from agan.device import resolve_device

    return str(resolve_device(device))


#: ``--device`` of the commands that run networks and nothing else on it.
DEVICE = click.option("--device", type=click.Choice(DEVICE_NAMES), default="auto", show_default=True, help="Where networks run.")

#: ``--precision`` of the commands that run networks (see :mod:`agan.methods.precision`).
PRECISION = click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True, help="Networks in fp32 or under bf16 autocast; auto: bf16 on CUDA, and on CPUs with AMX/AVX-512 BF16 for shipped models whose PSNR bf16 moves by < 0.05 dB.")


def _apply(options: list[Callable], function: Callable) -> Callable:
    for option in reversed(options):
        function = option(function)
    return function


def metric_options(function: Callable) -> Callable:
    """The PSNR/SSIM convention options shared by ``evaluate`` and ``compare``."""
    options = [
        click.option("--y-channel", is_flag=True, help="Measure PSNR/SSIM on the Y channel of YCbCr (BT.601)."),
        click.option("--crop-border", type=int, default=0, show_default=True, help="Pixels cropped from each side before measuring."),
        click.option("--quantize", is_flag=True, help="Round outputs and targets to 8-bit levels before measuring."),
        click.option("--lpips/--no-lpips", "use_lpips", default=True, show_default=True, help="Report LPIPS (AlexNet's ImageNet weights: from the torch hub cache, downloaded once when missing)."),
        click.option("--device", type=click.Choice(DEVICE_NAMES), default="auto", show_default=True, help="Where LPIPS and models run."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic degradations (fixed per image)."),
        click.option("--limit", type=click.IntRange(min=1), default=None, help="Use N images, spread evenly over the set (sorted by name)."),
        PRECISION,
    ]
    return _apply(options, function)


_FIELDS = {f.name: f for f in fields(TrainConfig)}
_TYPES = {"int": int, "float": float, "str": str}


def _lr(model: str) -> float:
    return ARCHITECTURES[model].defaults.get("lr", TrainConfig.lr)


def setting(name: str, help: str, *, type: click.ParamType | type | None = None, default: str | None = None) -> Callable:
    """The ``agan train`` option of the TrainConfig field ``name``: its choices (:data:`CHOICES`) or
    type and its default are the config's, so the two cannot disagree. The option's own default is
    None (not given), so that ``--config`` and a resumed run's settings stand unless it is given."""
    field = _FIELDS[name]
    if type is None:
        type = click.Choice(CHOICES[name]) if name in CHOICES else _TYPES[str(field.type).split("|")[0].strip()]
    if default is None and field.default is not None and field.default is not MISSING:
        default = f"{field.default:g}" if isinstance(field.default, float) else str(field.default)
    shown = f"  [default: {default}]" if default else ""
    return click.option(f"--{name.replace('_', '-')}", type=type, default=None, help=help + shown)


def train_options(function: Callable) -> Callable:
    """The arguments and options of ``agan train``."""
    return _apply([
        click.argument("model"),
        click.option("--data", "data_spec", default=None, help="Training data: PATH of a paired folder, synthetic:KIND[+KIND]:PATH[,PATH] (clean photos degraded on the fly), pairs:DEGRADED=CLEAN, or several joined by ';' (PATH*N repeats one N times)."),
        click.option("--val", "val_spec", default=None, help="Validation data: any form --data takes (whole images, a fixed degradation seed per image)."),
        click.option("--out", required=True, type=click.Path(path_type=Path), help="Run folder; an existing run there is resumed."),
        setting("iters", "Training steps in all; raise it to extend a run."),
        setting("batch", "Patches per step and process."),
        setting("patch", "Patch side in pixels."),
        setting("lr", "Learning rate.", default=", ".join(f"{name} {_lr(name):g}" for name in ARCHITECTURES)),
        setting("schedule", "Learning-rate schedule."),
        setting("warmup", "Steps of a linear lr ramp at the start (useful with --init).", type=click.IntRange(min=0)),
        setting("loss", "Supervised loss of the CNNs.",
                default=", ".join(f"{name} {entry.defaults.get('loss', TrainConfig.loss)}" for name, entry in ARCHITECTURES.items()
                                  if entry.discriminator is None)),
        setting("perceptual", "GAN perceptual loss; vgg needs VGG16's ImageNet weights (from the torch hub cache, downloaded once when missing)."),
        setting("lr_d", "Learning rate of the discriminator.", default="--lr's"),
        setting("d_ratio", "Discriminator steps per generator step."),
        setting("d_patch", "Side of the random square of each patch that the discriminator judges (default: the whole patch; 64 of 128 costs a quarter)."),
        setting("gan_loss", "GAN loss on the discriminator's logits: vanilla BCE, or ESRGAN's relativistic average (each verdict relative to the mean of the other side's)."),
        click.option("--d-spectral-norm", is_flag=True, default=None, help="attentive-gan: spectral norm on every layer of the discriminator (the CNNs' patch discriminator always has it)."),
        click.option("--adversarial", is_flag=True, default=None, help="dncnn, unet: train against a patch discriminator (PatchGAN with spectral norm) with the GAN term at --adversarial-weight; start from a supervised run with --init."),
        setting("adversarial_weight", "Weight of the GAN term (the Attentive GAN paper's); 0 trains the generator alone (a warm-up stage: no discriminator work)."),
        setting("clip_grad", "Clip the gradient norm to this value."),
        setting("ema", "Keep an EMA of the weights (and BatchNorm statistics) with this decay (e.g. 0.999); validation and best.pt use it."),
        setting("amp", "Mixed precision: bf16 on CUDA and on CPUs with AMX or AVX-512 BF16 (fp32 on other CPUs); fp16 on CUDA."),
        click.option("--grey/--color", "grey", default=None, help="Force one or three channels (default: the files')."),
        setting("val_every", "Steps between validations."),
        setting("val_limit", "Validation images of each validation set (the first ones).", type=click.IntRange(min=1)),
        setting("save_every", "Steps between checkpoints."),
        setting("workers", "DataLoader worker processes."),
        setting("share_weather", "Patches that one synthetic weather draw degrades, each with its own crop, photo and flip, spread over later batches (drawing the weather is what costs).", type=click.IntRange(min=1)),
        setting("seed", "Seed of the weights, patches and degradations."),
        setting("device", "Where to train.", type=click.Choice(DEVICE_NAMES)),
        click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path), default=None, help="JSON file of settings (TrainConfig fields); options override it."),
        click.option("--init", default=None, help="Start from the weights of a shipped model (agan models) or a checkpoint .pt: fine-tuning, with a fresh optimizer and schedule."),
        click.option("--minutes", type=float, default=None, help="A time budget: after a warm-up, --iters is set so that the schedule (low lr, last validation, best.pt) ends within M minutes."),
        click.option("--max-minutes", type=float, default=None, help="End this session after N minutes (writing last.pt); rerun to resume."),
        click.option("--dry-run", is_flag=True, help="Print the resolved configuration and the model size; train nothing."),
    ], function)


def release_options(function: Callable) -> Callable:
    """The arguments and options of ``agan release``."""
    return _apply([
        click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path)),
        click.argument("name"),
        click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True, help="Which checkpoint of RUN/checkpoints/ (a run without them: RUN/release/NAME.pt)."),
        click.option("--live", is_flag=True, help="Release the network's own weights at the checkpoint's step, not their EMA (for a short stage whose EMA still holds much of its starting weights)."),
        click.option("--status", type=click.Choice(["preview", "stable"]), default="preview", show_default=True, help="preview: a short or weak run, said so wherever it is used."),
        click.option("--note", default=None, help="A sentence for the card on what the figures do not say (e.g. how the run ended)."),
        click.option("--evaluate", "specs", multiple=True, help="A data spec to score the released file on; repeatable."),
        click.option("--compare", "compare", multiple=True, help="A method scored beside it (a filter or another model); repeatable."),
        click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder of the image sets; cards name data relative to it as $DATA/... [default: $DATA or ../shared/data]"),
        click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), default=None, help="JSON-lines file of filter scores to reuse across releases on the same images."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder of the release [default: agan/weights, what this build ships]."),
        click.option("--device", type=click.Choice(DEVICE_NAMES), default="auto", show_default=True, help="Where the evaluations run."),
    ], function)


def restore_options(function: Callable) -> Callable:
    """The arguments and options of ``agan restore``."""
    return _apply([
        click.argument("inputs", nargs=-1, required=True, metavar="INPUT..."),
        click.option("-o", "--out", required=True, type=click.Path(path_type=Path), metavar="OUTDIR", help="Output folder; each image keeps its name."),
        click.option("--model", "model", default=DEFAULT_MODEL, show_default=True, help="A shipped model (agan models), a trained checkpoint (.pt) or a method spec such as 'bm3d(sigma=25)'."),
        click.option("--tile", type=click.IntRange(min=1), default=None, help="Run networks in tiles of N pixels (default: whole image up to 2 MP, else 512)."),
        click.option("--overlap", type=click.IntRange(min=0), default=64, show_default=True, help="Pixels shared by neighbouring tiles."),
        click.option("--post-filter", default=None, help="A registered filter applied after the model, e.g. 'gaussian(sigma=0.8)'."),
        click.option("--save-attention", is_flag=True, help="Also write <stem>_attention.png (the Attentive GAN's last attention map)."),
        click.option("--ensemble", is_flag=True, help="Average the network over 8 flips/rotations (x8 self-ensemble; 8x slower)."),
        click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality of JPEG outputs."),
        click.option("--skip-existing", is_flag=True, help="Leave inputs whose output already exists (to continue a batch)."),
        click.option("--max-megapixels", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MAX_MEGAPIXELS, show_default=True, help="Refuse larger images from their header (a 100 MP photo needs about 1.5 GB with the GAN)."),
        DEVICE,
        PRECISION,
    ], function)


def evaluate_options(function: Callable) -> Callable:
    """The arguments and options of ``agan evaluate``."""
    return _apply([
        click.argument("method"),
        click.option("--data", "data_spec", required=True, help="PATH of a paired folder, or synthetic:KIND[+KIND]:PATH."),
        click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None, help="Per-image CSV; default agan-evaluate.csv."),
    ], function)


def compare_options(function: Callable) -> Callable:
    """The arguments and options of ``agan compare``."""
    return _apply([
        click.option("--data", "data_spec", required=True, help="PATH of a paired folder, or synthetic:KIND[+KIND]:PATH."),
        click.option("--method", "methods", multiple=True, required=True, help="A method spec; repeat for each method."),
        click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for results.md, results.csv, per_image.csv, grids/."),
        click.option("--grids", type=int, default=4, show_default=True, help="Side-by-side grids for the first N images."),
        click.option("--input-row/--no-input-row", default=True, show_default=True, help="Include the unrestored input as a row."),
        click.option("--save-outputs", is_flag=True, help="Also write every method's restored images to OUT/outputs/METHOD/."),
    ], function)


def demo_options(function: Callable) -> Callable:
    """The arguments and options of ``agan demo``."""
    return _apply([
        click.option("--out", type=click.Path(path_type=Path), default=Path("agan-demo"), show_default=True, help="Report folder."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic degradations."),
        click.option("--jobs", type=click.IntRange(min=1), default=None,
                  help="Degradations restored at once, in worker processes.  [default: one per CPU core]"),
    ], function)


def synth_options(function: Callable) -> Callable:
    """The arguments and options of ``agan synth``."""
    return _apply([
        click.argument("kind"),
        click.option("--clean", "clean_path", required=True, type=click.Path(exists=True, path_type=Path), help="Folder (or one file) of clean images."),
        click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder; gets degraded/, clean/, mask/ and preview.png."),
        click.option("--count", type=click.IntRange(min=1), default=None, help="Pairs to write; default one per clean image (cycled when larger)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed; pair i uses numpy default_rng([seed, i])."),
    ], function)


def serve_options(function: Callable) -> Callable:
    """The options of ``agan serve``."""
    return _apply([
        click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0 opens it to the network)."),
        click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="TCP port of the page."),
        click.option("--share", is_flag=True, help="Also open a public gradio.live link to the page (needs internet; anyone with the link can use it)."),
        click.option("--runs", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                     help="Offer the checkpoints of the run folders in this folder (RUN/checkpoints/best.pt, last.pt)."),
        DEVICE,
        PRECISION,
    ], function)
