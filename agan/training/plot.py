"""``agan plot``: training curves of a run from its ``metrics.jsonl``.

Panels: G-loss and D-loss (or the training loss of a CNN), every logged loss
term, validation PSNR (beside the unrestored input's, dashed) and SSIM (and,
for the GAN, the attention map's ROC AUC against the mask), and the learning
rate, each against the step. Written with
matplotlib's Agg backend (no display needed) to a PNG, atomically.
"""

from __future__ import annotations

import io
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


def plot_run(run: str | Path, output: str | Path) -> Path:
    """Draw the curves of ``run`` into ``output`` (PNG, JPEG, PDF or SVG by its suffix); returns its path.

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
    figure, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.6), squeeze=False)
    axes = list(axes[0])
    ax = axes.pop(0)
    for key in totals:
        ax.plot(*_series(records, key), label={"train/g_total": "G-loss", "train/d_total": "D-loss"}.get(key, "loss"))
    ax.set(title="training loss", xlabel="step")
    ax.set_yscale("log" if all(v > 0 for k in totals for v in _series(records, k)[1]) else "linear")
    ax.legend()
    if terms:
        ax = axes.pop(0)
        for key in terms:
            ax.plot(*_series(records, key), label=key.removeprefix("train/"))
        ax.set(title="loss terms (unweighted)", xlabel="step")
        ax.set_yscale("log" if all(v > 0 for k in terms for v in _series(records, k)[1]) else "linear")
        ax.legend(fontsize=7)
    for key in validation:
        ax = axes.pop(0)
        ax.plot(*_series(records, key), marker="o", markersize=3, label="output")
        ax.set(title=VALIDATION_TITLES[key], xlabel="step")
        if key == "val/psnr" and any("val/input_psnr" in r for r in records):
            ax.plot(*_series(records, "val/input_psnr"), linestyle="--", color="grey", label="input")
            ax.legend(fontsize=7)
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
