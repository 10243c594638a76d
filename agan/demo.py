"""``agan demo``: weather and noise synthesised on bundled photos, restored by the shipped models and every filter.

The photos are scikit-image's bundled samples (no download, no ../shared);
two are centre-cropped to 128x128, so that every shipped model and filter on
seven degradations finishes in under a minute on two CPU cores (BM3D takes
two thirds of that). On a machine with more cores the degradations run in
parallel worker processes. The report, ``results.md``, has one table per
degradation with a row per method, and links the side-by-side grids.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import skimage.data

from agan.data.datasets import ImageDataset
from agan.data.io import atomic_write_bytes, write_image
from agan.data.sources import open_source
from agan.evaluation.compare import MetricOptions, run_methods
from agan.evaluation.report import markdown_table, write_comparison
from agan.methods.registry import REGISTRY, Method, build_method
from agan.methods.shipped import shipped

SAMPLES = ("astronaut", "chelsea")
CROP = (128, 128)
DEGRADATIONS = (
    ("raindrop", "raindrop"),
    ("rain", "rain"),
    ("snow", "snow"),
    ("dust", "dust"),
    ("gaussian-25", "gaussian(sigma=25)"),
    ("salt-pepper", "salt-pepper(amount=0.1)"),
    ("poisson-30", "poisson(peak=30)"),
)


def sample_photos() -> dict[str, np.ndarray]:
    """The bundled sample photos, centre-cropped to :data:`CROP`: name -> HWC float32 RGB in [0, 1]."""
    photos = {}
    for name in SAMPLES:
        image = getattr(skimage.data, name)().astype(np.float32) / 255.0
        h, w = image.shape[:2]
        ch, cw = min(CROP[0], h), min(CROP[1], w)
        top, left = (h - ch) // 2, (w - cw) // 2
        photos[name] = np.ascontiguousarray(image[top : top + ch, left : left + cw, :3])
    return photos


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_jobs() -> int:
    """Worker processes for the demo: one per two CPU cores (BM3D and torch each keep two threads busy),
    at most one per degradation; 1 (no workers) on a machine of two cores."""
    return max(1, min(_cores() // 2, len(DEGRADATIONS)))


def run_demo(
    out: str | Path = "agan-demo",
    *,
    seed: int = 0,
    progress: bool = True,
    jobs: int | None = None,
    degradations: tuple[tuple[str, str], ...] = DEGRADATIONS,
    methods: list[str] | None = None,
) -> Path:
    """Write the demo report under ``out``; returns the path of ``results.md``.

    Args:
        out: report folder (``clean/`` photos, one folder per degradation, ``results.md``).
        seed: seed of the synthetic degradations (the same seed, the same report figures).
        progress: print a line on stderr as each degradation ends.
        jobs: worker processes (default: one per core); 1 runs everything in this process.
        degradations: (label, degradation spec) pairs; default :data:`DEGRADATIONS`.
        methods: method names; default every shipped model and every filter.
    """
    out = Path(out)
    clean_dir = out / "clean"
    for name, image in sample_photos().items():
        write_image(clean_dir / f"{name}.png", image)
    models = list(shipped())
    names = methods if methods is not None else models + [entry.name for entry in REGISTRY.filters()]
    _methods(tuple(names))  # an unknown name fails here, before any work
    jobs = default_jobs() if jobs is None else max(1, jobs)
    options = MetricOptions()
    threads = f"{_worker_threads(jobs)} torch thread(s) per process" if jobs > 1 else f"{_torch_threads()} torch thread(s)"
    sections = ["# agan demo", "",
                f"Photos: scikit-image's bundled {', '.join(SAMPLES)}, centre-cropped to {CROP[0]}x{CROP[1]}. "
                f"Seed {seed}. Shipped models: {', '.join(models) or 'none in this build'}. "
                f"Every filter at its defaults (noise level estimated from the image where it needs one). "
                f"PSNR/SSIM: {options.describe()}. LPIPS not measured here. s/MP: seconds per megapixel on this "
                f"machine, {jobs} degradation(s) at a time, {threads}.",
                ""]
    tasks = [(label, spec, str(clean_dir), str(out), seed, tuple(names)) for label, spec in degradations]
    if jobs == 1:
        results = [_run_degradation(*task, progress=progress) for task in tasks]
    else:
        # spawn, not fork: a forked copy of a process that has started torch's thread pools can hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context,
                                 initializer=_worker_init, initargs=(_worker_threads(jobs),)) as pool:
            futures = [pool.submit(_run_degradation, *task, progress=False) for task in tasks]
            results = []
            for (label, _spec, *_rest), future in zip(tasks, futures):
                results.append(future.result())
                if progress:
                    print(f"demo: {label} done ({len(results)} of {len(tasks)})", file=sys.stderr, flush=True)
    for lines in results:
        sections += lines
    report = out / "results.md"
    atomic_write_bytes(report, "\n".join(sections).encode())
    return report


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _worker_threads(jobs: int) -> int:
    return max(1, _cores() // jobs)


def _worker_init(threads: int) -> None:
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


@functools.lru_cache(maxsize=1)
def _methods(names: tuple[str, ...]) -> list[Method]:
    """The methods of ``names``, built once per process (loading the networks takes seconds)."""
    return [build_method(name) for name in names]


def _run_degradation(label: str, spec: str, clean_dir: str, out: str, seed: int, names: tuple[str, ...], *,
                     progress: bool) -> list[str]:
    """Restore and score one degradation of the sample photos; returns its report section (markdown lines)."""
    options = MetricOptions()
    methods = _methods(names)
    dataset = ImageDataset(open_source(f"synthetic:{spec}:{clean_dir}"), seed=seed)
    rows, kept = run_methods(dataset, methods, options=options, keep=1, progress=progress)
    summary = write_comparison(Path(out) / label, rows, kept, data_spec=f"synthetic:{spec}:<samples>", options=options,
                               lpips_note="not measured in the demo", title=f"{label}: {spec}")
    return [f"## {label}: `{spec}`", "", markdown_table(summary), "",
            f"![{label}]({label}/grids/{kept[0].name}.png)", ""]
