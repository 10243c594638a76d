"""``agan plot``: training curves of a run from its ``metrics.jsonl``.

Panels, in a grid: G-loss and D-loss (or the training loss of a CNN), every
logged loss term (both raw and smoothed), validation PSNR (beside the
unrestored input's) and SSIM (and, for the GAN, the attention map's ROC AUC
against the mask) as points, and the learning rate, each against the step; a
discriminator at chance for long is pointed out. Written with matplotlib's Agg
backend (no display needed), atomically.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from agan.data.io import atomic_write_bytes
from agan.errors import InputError
from agan.training.run_folder import read_metrics


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[key]) for r in records if key in r]
    return [p[0] for p in points], [p[1] for p in points]


VALIDATION_TITLES = {
    "val/psnr": "validation PSNR (dB)",
    "val/ssim": "validation SSIM",
    "val/attention_auc": "attention map vs mask (ROC AUC)",
}


#: The figure formats ``agan plot -o`` writes, by file suffix.
FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}


#: The discriminator's loss when it cannot tell real from restored: BCE of 0.5 on both, 2 ln 2.
CHANCE_D_LOSS = 2 * math.log(2)
#: How close to :data:`CHANCE_D_LOSS` counts as at chance, and for how much of the run before the plot says so.
CHANCE_BAND, CHANCE_SHARE = 0.02, 0.1


def smoothed(values: list[float], weight: float = 0.9) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start (no pull towards 0).

    >>> [round(v, 3) for v in smoothed([1.0, 1.0, 4.0], 0.5)]
    [1.0, 1.0, 2.714]
    """
    out, average = [], 0.0
    for count, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**count))
    return out


#: A D-loss this low (each side judged right with about 95 % confidence): D wins outright.
COLLAPSE_D_LOSS = 0.1


def left_chance_at(records: list[dict], weight: float = 0.6) -> int | None:
    """The first logged step at which the smoothed D-loss (``weight``) is more than
    :data:`CHANCE_BAND` below 2 ln 2: the discriminator tells real from restored; None if never."""
    steps, values = _series(records, "train/d_total")
    return next((step for step, value in zip(steps, smoothed(values, weight)) if value < CHANCE_D_LOSS - CHANCE_BAND),
                None)


def chance_share(records: list[dict]) -> float:
    """The share of logged D-losses within :data:`CHANCE_BAND` of 2 ln 2 (0 without a discriminator)."""
    values = _series(records, "train/d_total")[1]
    return sum(abs(v - CHANCE_D_LOSS) <= CHANCE_BAND for v in values) / len(values) if values else 0.0


def _curve(ax, records: list[dict], key: str, label: str, weight: float) -> None:
    """The raw curve faint, its smoothing over it in the same colour."""
    steps, values = _series(records, key)
    (raw,) = ax.plot(steps, values, alpha=0.25, linewidth=0.8)
    ax.plot(steps, smoothed(values, weight) if len(values) > 2 else values, color=raw.get_color(), label=label)


def plot_run(run: str | Path, output: str | Path, smoothing: float = 0.9) -> Path:
    """Draw the curves of ``run`` into ``output`` (PNG, JPEG, PDF or SVG by its suffix); returns its path.

    Panels in a grid of up to three columns; training curves raw (faint) and smoothed
    (``smoothing``, TensorBoard's weight; 0 draws them raw); validation as points. A GAN whose
    D-loss sat within 0.02 of 2 ln 2 (the loss of a discriminator at chance) for more than a tenth
    of its logged steps gets a note on the loss panel.

    Raises:
        ValueError: an output suffix of another format (named).
    """
    kind = FORMATS.get(Path(output).suffix.lower())
    if kind is None:
        raise InputError(f"{output}: write the curves as {', '.join(FORMATS)}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run)
    keys = sorted({k for r in records for k in r if k.startswith("train/")})
    totals = [k for k in ("train/g_total", "train/d_total", "train/total") if k in keys]
    terms = [k for k in keys if k not in totals]
    validation = [k for k in VALIDATION_TITLES if any(k in r for r in records)]
    has_lr = any("lr" in r for r in records)
    panels = 1 + bool(terms) + len(validation) + has_lr
    columns = min(3, panels)
    rows = math.ceil(panels / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.3 * rows), squeeze=False)
    axes = list(grid.flat)
    for ax in axes[panels:]:
        ax.axis("off")
    ax = axes.pop(0)
    for key in totals:
        _curve(ax, records, key, {"train/g_total": "G-loss", "train/d_total": "D-loss"}.get(key, "loss"), smoothing)
    ax.set(title="training loss", xlabel="step")
    ax.set_yscale("log" if all(v > 0 for k in totals for v in _series(records, k)[1]) else "linear")
    share = chance_share(records)
    if "train/d_total" in totals:
        ax.axhline(CHANCE_D_LOSS, color="grey", linestyle=":", linewidth=0.8)
        if share > CHANCE_SHARE:
            ax.text(0.02, 0.02, f"D-loss at chance (2 ln 2 ± {CHANCE_BAND}) for {share:.0%} of the logged steps",
                    transform=ax.transAxes, fontsize=7, color="firebrick")
    ax.legend(fontsize=7, framealpha=0.6)
    if terms:
        ax = axes.pop(0)
        for key in terms:
            _curve(ax, records, key, key.removeprefix("train/"), smoothing)
        ax.set(title="loss terms (unweighted)", xlabel="step")
        ax.set_yscale("log" if all(v > 0 for k in terms for v in _series(records, k)[1]) else "linear")
        ax.legend(fontsize=6, framealpha=0.6, ncol=2 if len(terms) > 4 else 1)
    for key in validation:
        ax = axes.pop(0)
        ax.plot(*_series(records, key), marker="o", markersize=4, linestyle=":", linewidth=0.8, label="output")
        ax.set(title=VALIDATION_TITLES[key], xlabel="step")
        if key == "val/psnr" and any("val/input_psnr" in r for r in records):
            ax.plot(*_series(records, "val/input_psnr"), marker="x", markersize=4, linestyle="none", color="grey",
                    label="input")
            ax.legend(fontsize=7, framealpha=0.6)
    if has_lr:
        ax = axes.pop(0)
        ax.plot(*_series(records, "lr"))
        ax.set(title="learning rate", xlabel="step")
    figure.suptitle(str(Path(run)), fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=110)
    plt.close(figure)
    atomic_write_bytes(output, buffer.getvalue())
    return Path(output)
