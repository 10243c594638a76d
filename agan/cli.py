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

from agan import cli_train
from agan.cli_options import (compare_options, demo_options, device_name, evaluate_options, metric_options,
                              restore_options, serve_options, synth_options)
from agan.data.io import ImageReadError, ImageWriteError, write_image
from agan.data.sources import describe
from agan.errors import InputError, StoppedError, first_line
from agan.evaluation.compare import FailureLog, MetricOptions, score_on
from agan.evaluation.report import summarize, text_table, write_comparison, write_csv
from agan.methods.registry import build_method
from agan.synth import SYNTH_HELP

#: What the user can act on: one line and exit status 1. Anything else is a bug and keeps its traceback.
USER_ERRORS = (InputError, StoppedError, FileNotFoundError)


class AganGroup(click.Group):
    """A click group that turns the toolkit's input errors into one-line messages and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(first_line(err)) from None


def _failure_log() -> FailureLog:
    return FailureLog(lambda line: click.echo(line, err=True),
                      debug=bool(click.get_current_context().find_root().params.get("debug")))


def _exit_if_failed(failures: FailureLog) -> None:
    if failures.summary():
        raise click.ClickException(failures.summary())


def _show_notes(methods) -> None:
    """Print each method's notes (a preview model says so) once, on stderr."""
    for note in dict.fromkeys(note for method in methods for note in method.notes):
        click.echo(note, err=True)


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
    from agan.device import reuse_freed_memory

    reuse_freed_memory()  # faster CPU inference (see its docstring)


@main.command(help=SYNTH_HELP)
@synth_options
def synth(kind: str, clean_path: Path, out: Path, count: int | None, seed: int) -> None:
    from agan.synth import write_pairs

    total = write_pairs(kind, clean_path, out, count, seed, progress=sys.stderr.isatty())
    click.echo(f"wrote {total} pairs of {kind} to {out}/ (degraded/, clean/, mask/), preview: {out / 'preview.png'}")


@main.command()
@evaluate_options
@metric_options
def evaluate(method: str, data_spec: str, csv_path: Path | None, y_channel: bool, crop_border: int, quantize: bool,
             use_lpips: bool, device: str, seed: int, limit: int | None, precision: str) -> None:
    """Score one METHOD on a dataset: mean PSNR, SSIM, LPIPS and seconds per megapixel.

    METHOD is a registered name with optional parameters and post-filters
    (see `agan models`).

    \b
    Example:
      agan evaluate 'bm3d(sigma=25)' --data 'synthetic:gaussian(sigma=25,clip=false):set12/'
    """
    resolved = build_method(method, device_name(device), precision=precision)
    _show_notes([resolved])
    options, failures = MetricOptions(crop_border, y_channel, quantize), _failure_log()
    dataset, rows, _, _ = score_on(data_spec, [resolved], options=options, seed=seed, limit=limit, on_error=failures,
                                   use_lpips=use_lpips, device=device_name(device), progress=sys.stderr.isatty())
    path = write_csv(csv_path or Path("agan-evaluate.csv"), rows)
    click.echo(f"{resolved.label} on {data_spec}: {describe(dataset.source)}; {options.describe()}")
    click.echo(text_table(summarize(rows)))
    click.echo(f"per-image results: {path}")
    _exit_if_failed(failures)


@main.command()
@compare_options
@metric_options
def compare(data_spec: str, methods: tuple[str, ...], out: Path, grids: int, input_row: bool, save_outputs: bool,
            y_channel: bool, crop_border: int, quantize: bool, use_lpips: bool, device: str, seed: int,
            limit: int | None, precision: str) -> None:
    """Compare methods on the same images: a table, CSVs and side-by-side grids.

    \b
    Example:
      agan compare --data 'synthetic:gaussian(sigma=25,clip=false):set12/' \\
        --method 'bm3d(sigma=25)' --method nlm --method median --out cmp/
    """
    resolved = [build_method(m, device_name(device), precision=precision) for m in (("input",) if input_row else ()) + methods]
    _show_notes(resolved)
    options, failures = MetricOptions(crop_border, y_channel, quantize), _failure_log()

    def save(method: str, image: str, output: np.ndarray) -> None:
        write_image(out / "outputs" / method.replace("/", "_") / f"{image}.png", output)

    dataset, rows, kept, lpips_note = score_on(data_spec, resolved, options=options, seed=seed, limit=limit, keep=grids,
                                               use_lpips=use_lpips, device=device_name(device),
                                               progress=sys.stderr.isatty(), on_output=save if save_outputs else None,
                                               on_error=failures)
    summary = write_comparison(out, rows, kept, data_spec=data_spec, options=options, lpips_note=lpips_note,
                               total=len(dataset.source) if limit is not None else None)
    click.echo(f"{data_spec}: {describe(dataset.source)}; {options.describe()}")
    click.echo(text_table(summary))
    click.echo(f"wrote {out / 'results.md'}, results.csv, per_image.csv and {len(kept)} grid(s)")
    _exit_if_failed(failures)


@main.command()
@restore_options
def restore(inputs: tuple[str, ...], out: Path, model: str, tile: int | None, overlap: int, post_filter: str | None,
            save_attention: bool, ensemble: bool, quality: int, skip_existing: bool, max_megapixels: float, device: str,
            precision: str) -> None:
    """Restore photos with a trained network or a filter; write them to OUTDIR.

    INPUT is an image file, a folder (its images, not sub-folders) or a glob.
    Each output keeps the input's name and format (PNG, JPEG, TIFF; BMP is
    written as PNG), its channels (grey stays grey, alpha is dropped) and its
    bit depth (16-bit PNG/TIFF in, 16-bit out). A file that cannot be read is
    reported and skipped; the command then exits with status 1. Images above
    --max-megapixels are refused from their header, before any decoding.

    \b
    Example:
      agan restore photo.jpg -o restored/
      agan restore noisy/ -o restored/ --model dncnn-color-blind
      agan restore photos/ -o restored/ --model runs/gan/checkpoints/best.pt --save-attention
      agan restore 'scans/*.tif' -o clean/ --model 'bm3d(sigma=10)'
    """
    from agan.data.io import max_megapixels as pixel_limit
    from agan.restore import collect_inputs, ignored_options, plan_outputs, restore_files, restore_method

    method = restore_method(model, post_filter, device_name(device), tile, overlap, ensemble, precision)
    sources = collect_inputs(inputs)
    _show_notes([method])
    for note in ignored_options(method, tile, ensemble, save_attention):
        click.echo(note, err=True)
    save_attention = save_attention and method.gives_attention
    outputs = plan_outputs(sources, out, save_attention)
    debug = bool(click.get_current_context().find_root().params.get("debug"))

    def failed(source: Path, err: Exception) -> None:
        if debug:
            raise err
        first = first_line(err)
        tqdm.write(f"Error: {first if isinstance(err, (ImageReadError, ImageWriteError)) else f'{source}: {first}'}",
                   file=sys.stderr)

    with pixel_limit(max_megapixels):
        done, skipped, failures = restore_files(method, sources, outputs, save_attention=save_attention,
                                                quality=quality, skip_existing=skip_existing,
                                                progress=sys.stderr.isatty(), on_error=failed)
    kept = f" ({skipped} already there)" if skipped else ""
    click.echo(f"restored {done} of {len(sources)} image(s) with {method.label} into {out}/{kept}")
    if failures:
        raise click.ClickException(f"{failures} image(s) could not be restored")


@main.command()
def models() -> None:
    """List the shipped models with their cards, the registered filters, and the architectures.

    A shipped model's name, a trained checkpoint (a .pt file) or a filter
    spec is used wherever a method is asked for.

    \b
    Example:
      agan models
    """
    from agan.methods.catalog import catalog_lines

    click.echo("\n".join(catalog_lines()))


@main.command()
@demo_options
def demo(out: Path, seed: int, jobs: int | None) -> None:
    """Synthesise weather and noise on bundled sample photos; compare the shipped models and the filters.

    Seven degradations (raindrop, rain, snow, dust, Gaussian, salt-and-pepper
    and Poisson noise) on two 128x128 crops of scikit-image's photos, each
    restored by every shipped model and every filter: OUT/results.md holds a
    table and a grid per degradation.

    \b
    Example:
      agan demo --out agan-demo
    """
    from agan.demo import run_demo

    report = run_demo(out, seed=seed, progress=sys.stderr.isatty(), jobs=jobs)
    click.echo(f"demo report: {report}")


@main.command()
@serve_options
def serve(host: str, port: int, share: bool, runs: Path, device: str, precision: str) -> None:
    """A local web page: upload a photo, pick a model or filter, compare before and after, download.

    Needs the app extra (pip install 'agan[app]'). Stop it with Ctrl-C.

    \b
    Example:
      agan serve            # then open http://127.0.0.1:7860
    """
    from agan.app import build_app, launch

    launch(build_app(runs, device_name(device), precision), host, port, share=share)


for _command in (cli_train.train, cli_train.release_command, cli_train.plot, cli_train.export):
    main.add_command(_command)

if __name__ == "__main__":
    main()
