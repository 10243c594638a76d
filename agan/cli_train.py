"""The commands of ``agan`` about trained networks: ``train``, ``release``, ``plot`` and ``export``
(added to the group in :mod:`agan.cli`). They parse and report; the work is in :mod:`agan.training`
and :mod:`agan.methods.export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agan.cli_options import device_name, release_options, train_options


@click.command()
@train_options
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
    from agan.training.config import config_for_run
    from agan.training.engine import Trainer
    from agan.training.guard import Interrupted

    get_architecture(model)
    config = config_for_run(model, out, data_spec, val_spec, config_file, options, lambda line: click.echo(line, err=True))
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
    if trainer.main:
        click.echo(f"trained {config.model} to step {trainer.step}: {last} (best: {last.parent / 'best.pt'})")

@click.command("release")
@release_options
def release_command(run: Path, name: str, checkpoint: str, live: bool, status: str, note: str | None,
                    specs: tuple[str, ...], compare: tuple[str, ...], data_root: Path | None, cache: Path | None,
                    out: Path | None, device: str) -> None:
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
                                 compare=compare, data_root=data_root, device=device_name(device), cache=cache,
                                 progress=sys.stderr.isatty(), echo=click.echo, live=live)
    click.echo(f"released {name}: {weights} and {card}")

@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Figure to write (.png, .jpg, .pdf, .svg); default RUN/curves.png.")
@click.option("--smoothing", type=click.FloatRange(0, 1, max_open=True), default=0.9, show_default=True, help="TensorBoard's smoothing weight for the training curves (0: raw only).")
def plot(run: Path, output: Path | None, smoothing: float) -> None:
    """Draw the G-loss and D-loss curves, every loss term and validation PSNR/SSIM of a run.

    Training curves are drawn raw (faint) and smoothed, validation as points; a
    GAN whose D-loss sits at chance (2 ln 2) for long gets a note.

    \b
    Example:
      agan plot runs/gan -o gan-curves.png
    """
    from agan.training.plot import plot_run
    from agan.training.run_folder import RunFolder

    path = plot_run(run, output or RunFolder(run).curves, smoothing=smoothing)
    click.echo(f"wrote {path}")


@click.command("export")
@click.argument("model")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .onnx file to write.")
@click.option("--attention", is_flag=True, help="Also output the Attentive GAN's last attention map.")
@click.option("--opset", type=click.IntRange(17, 21), default=18, show_default=True, help="ONNX opset.")
def export(model: str, output: Path, attention: bool, opset: int) -> None:
    """Export MODEL (a shipped model or a checkpoint .pt) to ONNX, checked against torch.

    The graph takes an NCHW float32 image in [0, 1] of any batch and size whose height and
    width are multiples of the network's (16 for the U-Net, 4 for the Attentive GAN, 1 for
    DnCNN; pad and crop back); the file is kept only if onnxruntime matches torch within 1e-4.
    Needs the export extra: pip install 'agan[export]'.

    \b
    Example:
      agan export dncnn-gray-s25 -o dncnn.onnx
      agan export attentive-gan-weather -o gan.onnx --attention
    """
    from agan.methods.export import export_onnx

    info = export_onnx(model, output, attention=attention, opset=opset)
    click.echo(f"wrote {info['path']}: {info['model']}, outputs {', '.join(info['outputs'])}, opset {info['opset']}, "
               f"sizes in multiples of {info['multiple']}, largest difference from torch {info['max_difference']:.1e}")
