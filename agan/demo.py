"""``agan demo``: weather and noise synthesised on bundled photos, restored by the shipped models and every filter.

The photos are scikit-image's bundled samples (no download, no ../shared);
each is centre-cropped to 128x128 so that the demo, every shipped model and
filter on eight degradations, runs in about a minute on two CPU cores (BM3D
takes half of it). The report, ``results.md``, has one table per degradation with a
row per method, and links the side-by-side grids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data

from agan.data.datasets import ImageDataset, open_source
from agan.data.io import atomic_write_bytes, write_image

from .evaluation import MetricOptions, markdown_table, run_methods, write_comparison
from .pretrained import shipped
from .registry import REGISTRY, build_method

SAMPLES = ("astronaut", "chelsea", "coffee")
CROP = (128, 128)
DEGRADATIONS = (
    ("raindrop", "raindrop"),
    ("rain", "rain"),
    ("snow", "snow"),
    ("dust", "dust"),
    ("haze", "haze"),
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


def run_demo(out: str | Path = "agan-demo", *, seed: int = 0, progress: bool = True) -> Path:
    """Write the demo report under ``out``; returns the path of ``results.md``."""
    out = Path(out)
    clean_dir = out / "clean"
    for name, image in sample_photos().items():
        write_image(clean_dir / f"{name}.png", image)
    models = list(shipped())
    methods = [build_method(name) for name in models] + [build_method(entry.name) for entry in REGISTRY]
    options = MetricOptions()
    sections = ["# agan demo", "",
                f"Photos: scikit-image's bundled {', '.join(SAMPLES)}, centre-cropped to {CROP[0]}x{CROP[1]}. "
                f"Seed {seed}. Shipped models: {', '.join(models) or 'none in this build'}. "
                f"Every filter at its defaults (noise level estimated from the image where it needs one). "
                f"PSNR/SSIM: {options.describe()}. LPIPS not measured here. s/MP: seconds per megapixel on this machine.",
                ""]
    for label, spec in DEGRADATIONS:
        dataset = ImageDataset(open_source(f"synthetic:{spec}:{clean_dir}"), seed=seed)
        rows, kept = run_methods(dataset, methods, options=options, keep=1, progress=progress)
        summary = write_comparison(out / label, rows, kept, data_spec=f"synthetic:{spec}:<samples>", options=options,
                                   lpips_note="not measured in the demo", title=f"{label}: {spec}")
        sections += [f"## {label}: `{spec}`", "", markdown_table(summary), "",
                     f"![{label}]({label}/grids/{kept[0].name}.png)", ""]
    report = out / "results.md"
    atomic_write_bytes(report, "\n".join(sections).encode())
    return report
