"""Run restoration methods over a dataset, score them, and write tables, CSVs and grids.

Images follow the toolkit's convention (HWC float32 [0, 1], RGB or grey).
PSNR and SSIM use :mod:`agan.evaluation.metrics` with the options in :class:`MetricOptions`
(default: RGB, float, no border crop, data range 1); LPIPS is reported when its
AlexNet weights are in the torch hub cache (downloaded there when missing) and shown as absent otherwise.
Timing covers the method call only, in seconds per megapixel.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from agan.errors import InputError, first_line
from agan.evaluation import metrics
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
            again = metrics.measure(output, clean, **extra.as_kwargs(), only=lambda metric: metric.by_convention)
            row.update({f"{name}_{suffix}": value for name, value in again.items()})
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
        self.report(f"Error: image {image}: {method} failed ({first_line(error)}); the image is left out of every mean")
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
