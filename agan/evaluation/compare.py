"""Run restoration methods over a dataset, score them, and write tables, CSVs and grids.

Images follow the toolkit's convention (HWC float32 [0, 1], RGB or grey).
PSNR and SSIM use :mod:`agan.evaluation.metrics` with the options in :class:`MetricOptions`
(default: RGB, float, no border crop, data range 1); LPIPS is reported when its
AlexNet weights are in the torch hub cache and shown as absent otherwise.
Timing covers the method call only, in seconds per megapixel.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from tqdm import tqdm

from agan.data.io import atomic_write_bytes, write_image
from agan.errors import InputError
from agan.evaluation import metrics
from agan.evaluation.grids import grid
from agan.methods.registry import Method, short_label


@dataclass(frozen=True)
class MetricOptions:
    """How PSNR and SSIM are measured; see :mod:`agan.evaluation.metrics`."""

    crop_border: int = 0
    y_channel: bool = False
    quantize: bool = False

    def as_kwargs(self) -> dict[str, Any]:
        return {"crop_border": self.crop_border, "y_channel": self.y_channel, "quantize": self.quantize}

    def describe(self) -> str:
        return metrics.describe_convention(**self.as_kwargs())


@dataclass
class Kept:
    """Images kept for a comparison grid: HWC float32 [0, 1] arrays and the per-method PSNR."""

    name: str
    degraded: np.ndarray
    clean: np.ndarray
    outputs: dict[str, np.ndarray]
    psnr: dict[str, float]
    attention: dict[str, np.ndarray] = field(default_factory=dict)  # HW maps of the methods that give one


class RowCache:
    """Scores of filters kept in a JSON-lines file, so that another evaluation of the same images reuses them.

    A row is keyed by the method label, the metric conventions and a SHA-256
    of the degraded and clean images (HWC float32 [0, 1]), so different data, a
    changed synthesis or other conventions miss the cache. Only methods
    without a learned step are cached: their output is a fixed function of the
    input. A line cut short by an interrupted run is ignored.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._rows: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                    self._rows[record["key"]] = record["row"]
                except (ValueError, KeyError, TypeError):
                    continue

    @staticmethod
    def _key(label: str, context: str, degraded: np.ndarray, clean: np.ndarray) -> str:
        digest = hashlib.sha256(f"{label}\n{context}\n{degraded.shape}".encode())
        digest.update(np.ascontiguousarray(degraded, np.float32).tobytes())
        digest.update(np.ascontiguousarray(clean, np.float32).tobytes())
        return digest.hexdigest()

    def get(self, label: str, context: str, degraded: np.ndarray, clean: np.ndarray) -> dict[str, Any] | None:
        """The cached row (without method and image), or None."""
        return self._rows.get(self._key(label, context, degraded, clean))

    def put(self, label: str, context: str, degraded: np.ndarray, clean: np.ndarray, row: dict[str, Any]) -> None:
        """Remember ``row`` and append it to the file."""
        key = self._key(label, context, degraded, clean)
        self._rows[key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps({"key": key, "row": row}) + "\n")


def run_methods(
    dataset: Any,
    methods: list[Method],
    *,
    options: MetricOptions = MetricOptions(),
    lpips_metric: Any = None,
    keep: int = 0,
    progress: bool = True,
    also: dict[str, MetricOptions] | None = None,
    cache: RowCache | None = None,
    on_output: Callable[[str, str, np.ndarray], None] | None = None,
    on_error: Callable[[str, str, Exception], None] | None = None,
) -> tuple[list[dict[str, Any]], list[Kept]]:
    """Restore every image of ``dataset`` with every method and score the outputs.

    Args:
        dataset: indexable, items are dicts with ``degraded``, ``clean`` (HWC
            float32 [0, 1]) and ``name`` (e.g. :class:`agan.data.datasets.ImageDataset`).
        methods: resolved method specs.
        options: metric conventions.
        lpips_metric: an LPIPS metric or None.
        keep: how many of the first images to keep, with every output, for grids.
        progress: show a progress bar on stderr.
        also: more conventions to measure, suffix -> options: ``{"y":
            MetricOptions(y_channel=True)}`` adds ``psnr_y`` and ``ssim_y``.
        cache: rows of filters (methods without a learned step) already
            measured on the same images, reused instead of running them again.
        on_output: called with (method name, image name, HWC float32 output) for
            every restored image (it bypasses the cache), e.g. to save the outputs.
        on_error: called with (method name, image name, error) when a method fails
            on an image; that image is then left out for every method (so the
            means stay comparable) and the run goes on. Without it the error is raised.

    Returns:
        ``(rows, kept)``: one row per image and method (method, image, psnr,
        ssim, lpips, the ``also`` columns, seconds, megapixels) and the kept images.
    """
    also = also or {}
    short = {m.label: short_label(m.label) for m in methods}
    if len(set(short.values())) < len(short):  # two runs' best.pt: keep the whole labels apart
        short = {m.label: m.label for m in methods}
    context = "; ".join([options.describe(), f"lpips {lpips_metric is not None}"]
                        + [f"{suffix}: {extra.describe()}" for suffix, extra in also.items()])
    plan = _Plan(methods, short, options, also, context, lpips_metric, keep, cache, on_output)
    rows: list[dict[str, Any]] = []
    kept: list[Kept] = []
    bar = tqdm(range(len(dataset)), desc="images", unit="img", disable=not progress, leave=False)
    for index in bar:
        try:
            image_rows, item = _run_image(dataset[index], index, plan)
        except _MethodFailed as failure:
            if on_error is None:
                raise RuntimeError(str(failure)) from failure.error
            on_error(failure.method, failure.image, failure.error)
            continue
        rows += image_rows
        if item is not None:
            kept.append(item)
    return rows, kept


class _MethodFailed(Exception):
    """A method raised on an image (or returned the wrong shape)."""

    def __init__(self, method: str, image: str, error: Exception):
        super().__init__(f"{method} failed on image {image}: {error}")
        self.method, self.image, self.error = method, image, error


@dataclass(frozen=True)
class _Plan:
    """What :func:`run_methods` does to each image."""

    methods: list[Method]
    short: dict[str, str]
    options: MetricOptions
    also: dict[str, MetricOptions]
    context: str
    lpips_metric: Any
    keep: int
    cache: RowCache | None
    on_output: Callable[[str, str, np.ndarray], None] | None


def _run_image(sample: dict[str, Any], index: int, plan: _Plan) -> tuple[list[dict[str, Any]], Kept | None]:
    """The rows of one image for every method, and what to keep of it for a grid (or None).

    Raises:
        _MethodFailed: a method raised on the image or returned another shape.
    """
    degraded, clean, name = sample["degraded"], sample["clean"], sample["name"]
    megapixels = clean.shape[0] * clean.shape[1] / 1e6
    keep = index < plan.keep
    rows: list[dict[str, Any]] = []
    outputs: dict[str, np.ndarray] = {}
    maps: dict[str, np.ndarray] = {}
    psnrs: dict[str, float] = {}
    for method in plan.methods:
        label = plan.short[method.label]
        cacheable = plan.cache is not None and not method.learned and not keep and plan.on_output is None
        cached = plan.cache.get(method.label, plan.context, degraded, clean) if cacheable else None
        if cached is not None:
            rows.append({"method": label, "image": name, **cached})
            psnrs[label] = cached["psnr"]
            continue
        start = time.perf_counter()
        try:
            if method.gives_attention:
                output, attention = method.restore_with_attention(degraded)
                if keep and attention is not None:
                    maps[label] = attention
            else:
                output = method(degraded)
        except Exception as err:
            raise _MethodFailed(label, name, err) from err
        seconds = time.perf_counter() - start
        if output.shape != clean.shape:
            raise _MethodFailed(label, name, ValueError(f"returned shape {output.shape} for one of {clean.shape}"))
        row = {"method": label, "image": name,
               **metrics.measure(output, clean, plan.lpips_metric, **plan.options.as_kwargs())}
        for suffix, extra in plan.also.items():
            row[f"psnr_{suffix}"] = metrics.psnr(output, clean, **extra.as_kwargs())
            row[f"ssim_{suffix}"] = metrics.ssim(output, clean, **extra.as_kwargs())
        row.update(seconds=seconds, megapixels=megapixels)
        rows.append(row)
        if cacheable:
            plan.cache.put(method.label, plan.context, degraded, clean,
                           {k: v for k, v in row.items() if k not in ("method", "image")})
        psnrs[label] = row["psnr"]
        if plan.on_output is not None:
            plan.on_output(label, name, output)
        if keep:
            outputs[label] = output
    return rows, (Kept(name, degraded, clean, outputs, psnrs, maps) if keep else None)


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


_COLUMNS = (("method", "method", None), ("PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 4), ("LPIPS", "lpips", 4),
            ("s/MP", "sec_per_mp", 3))


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


class FailureLog:
    """The images a method failed on in a run of :func:`run_methods` (its ``on_error``): each is
    reported when it happens and left out of every mean; :meth:`summary` counts them at the end.

    Args:
        report: called with one line for each failure.
        debug: raise the failure instead (to see its traceback).
    """

    def __init__(self, report: Callable[[str], None] = print, debug: bool = False) -> None:
        self.images: list[str] = []
        self.report, self.debug = report, debug

    def __call__(self, method: str, image: str, error: Exception) -> None:
        if self.debug:
            raise error
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        self.report(f"Error: image {image}: {method} failed ({first}); the image is left out of every mean")
        self.images.append(image)

    def summary(self) -> str | None:
        """``"N image(s) left out: a, b ..."``, or None when every image was restored."""
        if not self.images:
            return None
        return (f"{len(self.images)} image(s) left out: {', '.join(self.images[:5])}"
                + (" ..." if len(self.images) > 5 else ""))


def score_on(data_spec: str, methods: list[Method], *, options: MetricOptions = MetricOptions(), seed: int = 0,
             limit: int | None = None, use_lpips: bool = False, device: str = "cpu", keep: int = 0,
             progress: bool = False, on_output: Callable[[str, str, np.ndarray], None] | None = None,
             on_error: Callable[[str, str, Exception], None] | None = None
             ) -> tuple[Any, list[dict[str, Any]], list[Kept], str | None]:
    """Open ``data_spec`` as whole images (a fixed degradation seed per image; ``limit`` images spread
    evenly over the set), then LPIPS when asked, and :func:`run_methods` on it.

    Returns:
        ``(dataset, rows, kept, lpips_note)``; the note says why LPIPS is absent (None when measured).

    Raises:
        InputError: a bad data spec, or every image failed (then there is nothing to report).
    """
    from agan.data.datasets import ImageDataset
    from agan.data.sources import open_source
    from agan.evaluation.lpips import lpips_or_note

    dataset = ImageDataset(open_source(data_spec), seed=seed, limit=limit, spread=True)
    lpips_metric, lpips_note = lpips_or_note(use_lpips, device)
    rows, kept = run_methods(dataset, methods, options=options, lpips_metric=lpips_metric, keep=keep,
                             progress=progress, on_output=on_output, on_error=on_error)
    if not rows:
        raise InputError(f"{' and '.join(m.label for m in methods)}: failed on every image of {data_spec}")
    return dataset, rows, kept, lpips_note
