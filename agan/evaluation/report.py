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

_COLUMNS = (("method", "method", None), ("PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 4), ("LPIPS", "lpips", 4),
            ("s/MP", "sec_per_mp", 3))


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean PSNR, SSIM, LPIPS (None when absent), the extra ``psnr_*``/``ssim_*`` columns and seconds per
    megapixel for each method, in first-seen order."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_method.setdefault(row["method"], []).append(row)
    summary = []
    for method, group in by_method.items():
        lpips_values = [r["lpips"] for r in group if r["lpips"] is not None]
        extra = [k for k in group[0] if k.startswith(("psnr_", "ssim_"))]
        summary.append({
            "method": method,
            "images": len(group),
            "psnr": float(np.mean([r["psnr"] for r in group])),
            "ssim": float(np.mean([r["ssim"] for r in group])),
            "lpips": float(np.mean(lpips_values)) if len(lpips_values) == len(group) else None,
            **{k: float(np.mean([r[k] for r in group])) for k in extra},
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
    return [[row[key] if digits is None else _fmt(row[key], digits) for _, key, digits in _COLUMNS] for row in summary]


def text_table(summary: list[dict[str, Any]]) -> str:
    """The summary as an aligned plain-text table."""
    header = [title for title, _, _ in _COLUMNS]
    body = _cells(summary)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(summary: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table, the best PSNR and SSIM in bold."""
    best_psnr = max((r["psnr"] for r in summary), default=None)
    best_ssim = max((r["ssim"] for r in summary), default=None)
    lines = ["| " + " | ".join(title for title, _, _ in _COLUMNS) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(_COLUMNS) - 1)) + "|"]
    for row, cells in zip(summary, _cells(summary)):
        if row["psnr"] == best_psnr:
            cells[1] = f"**{cells[1]}**"
        if row["ssim"] == best_ssim:
            cells[2] = f"**{cells[2]}**"
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
