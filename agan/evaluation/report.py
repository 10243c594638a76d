"""The reports of a comparison: the mean of each method (:func:`summarize`), tables as text and
markdown, per-image CSVs, and side-by-side grids of the kept images with ``results.md``.

Images are HWC float32 in [0, 1] (RGB or grey); grids are written as PNG, files atomically.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from agan.data.io import atomic_write_bytes, write_image
from agan.evaluation import metrics
from agan.evaluation.compare import Kept, MetricOptions
from agan.evaluation.grids import grid


def _columns() -> list[tuple[str, str, int | None]]:
    """(title, key, digits) of the table columns: the method, each metric, seconds per megapixel."""
    return ([("method", "method", None)] + [(m.title, name, m.digits) for name, m in metrics.METRICS.items()]
            + [("s/MP", "sec_per_mp", 3)])


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mean of each metric (None when an image lacks it, as LPIPS without its weights), of the
    extra convention columns (``psnr_y``, ...) and seconds per megapixel for each method, in
    first-seen order."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_method.setdefault(row["method"], []).append(row)
    summary = []
    for method, group in by_method.items():
        measured = [name for name in metrics.METRICS if name in group[0]]
        extra = [k for k in group[0] if "_" in k and k.partition("_")[0] in metrics.METRICS]
        means = {}
        for key in measured + extra:
            values = [r[key] for r in group if r.get(key) is not None]
            means[key] = float(np.mean(values)) if values and len(values) == len(group) else None
        summary.append({
            "method": method,
            "images": len(group),
            **means,
            "sec_per_mp": sum(r["seconds"] for r in group) / max(sum(r["megapixels"] for r in group), 1e-12),
        })
    return summary


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _cells(summary: list[dict[str, Any]]) -> list[list[str]]:
    return [[row[key] if digits is None else _fmt(row.get(key), digits) for _, key, digits in _columns()]
            for row in summary]


def text_table(summary: list[dict[str, Any]]) -> str:
    """The summary as an aligned plain-text table."""
    header = [title for title, _, _ in _columns()]
    body = _cells(summary)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(summary: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table, the best value of each metric in bold."""
    columns = _columns()
    lines = ["| " + " | ".join(title for title, _, _ in columns) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(columns) - 1)) + "|"]
    best = {}
    for name, metric in metrics.METRICS.items():
        values = [r[name] for r in summary if r.get(name) is not None]
        if values:
            best[name] = max(values) if metric.higher_is_better else min(values)
    for row, cells in zip(summary, _cells(summary)):
        for index, (_, key, _) in enumerate(columns):
            if key in best and row.get(key) == best[key]:
                cells[index] = f"**{cells[index]}**"
        lines.append("| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(cells)) + " |")
    return "\n".join(lines)


def write_csv(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write dict rows as CSV atomically; None becomes an empty cell."""
    rows = list(rows)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    atomic_write_bytes(path, buffer.getvalue().encode())
    return Path(path)


def comparison_grid(item: Kept, labels: list[str], height: int = 320) -> np.ndarray:
    """degraded | each method | clean, with PSNR on each tile; HW3 float32 RGB in [0, 1]."""
    input_psnr = metrics.psnr(item.degraded, item.clean)
    tiles = [(item.degraded, f"input {_fmt(input_psnr, 2)} dB")]
    tiles += [(item.outputs[label], f"{label} {_fmt(item.psnr[label], 2)} dB") for label in labels if label != "input"]
    tiles.append((item.clean, "clean"))
    return grid([tiles], height=height)


def write_comparison(
    out: str | Path,
    rows: list[dict[str, Any]],
    kept: list[Kept],
    *,
    data_spec: str,
    options: MetricOptions,
    lpips_note: str | None = None,
    title: str = "Comparison",
    total: int | None = None,
) -> list[dict[str, Any]]:
    """Write ``results.md``, ``results.csv`` (one row per method), ``per_image.csv`` and
    ``grids/NAME.png`` under ``out``; returns the summary. ``total``: the images of the data
    when only some were compared (said in the header)."""
    out = Path(out)
    summary = summarize(rows)
    labels = [row["method"] for row in summary]
    for stale in (out / "grids").glob("*.png") if (out / "grids").is_dir() else ():
        stale.unlink()  # grids of an earlier comparison in this folder would read as this one's
    grid_paths = []
    for item in kept:
        path = out / "grids" / f"{item.name}.png"
        write_image(path, comparison_grid(item, labels))
        grid_paths.append(path)
    attention_rows = [[(item.degraded, f"{item.name} input")]
                      + [(np.clip(m, 0, 1), f"{label} attention") for label, m in item.attention.items()]
                      for item in kept if item.attention]
    if attention_rows:
        write_image(out / "attention.png", grid(attention_rows))
    write_csv(out / "results.csv", summary)
    write_csv(out / "per_image.csv", rows)
    count = summary[0]["images"] if summary else 0
    of_total = f", {count} of its {total} spread evenly (--limit)" if total is not None and total > count else ""
    lines = [f"# {title}", "", f"Data: `{data_spec}` ({count} images{of_total}).",
             f"PSNR/SSIM: {options.describe()}; SSIM with Gaussian window sigma 1.5 (Wang et al. 2004). "
             f"LPIPS: AlexNet, lower is better{'' if lpips_note is None else ' — ' + lpips_note}. "
             "s/MP: seconds of the method per megapixel on this machine.", "", markdown_table(summary), ""]
    if attention_rows:
        lines += ["The GAN's final attention maps (bright where it sees degradation):", "", "![attention](attention.png)", ""]
    lines += [f"![{p.stem}](grids/{p.name})" for p in grid_paths]
    atomic_write_bytes(out / "results.md", ("\n".join(lines) + "\n").encode())
    return summary
