"""``agan synth``'s work: degraded / clean / mask triplets written from clean images, and a preview.

Pair ``i`` uses ``numpy.random.default_rng([seed, i])``, so the same seed writes the same files.
Images are HWC float32 RGB or grey in [0, 1] inside and 8-bit PNG on disk (values clipped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from agan.data.degradations import DEGRADATIONS, degrade, parse_degradation
from agan.data.io import write_image
from agan.data.sources import open_source
from agan.errors import InputError
from agan.evaluation.grids import grid

#: ``agan synth --help``.
SYNTH_HELP = """Synthesise degraded/clean/mask triplets from clean images.

KIND is a degradation chain: one of the kinds below, with optional
parameters in brackets, joined by '+'. Noise levels are on the 0-255 scale.
Outputs are 8-bit PNG (values clipped to [0, 1]).

\b
Kinds: """ + ", ".join(DEGRADATIONS) + """

\b
Example:
  agan synth 'rain(angle=10)+haze' --clean photos/ --out synth/ --count 20 --seed 1
"""


def write_pairs(kind: str, clean: str | Path, out: str | Path, count: int | None = None, seed: int = 0,
                progress: bool = False) -> int:
    """Write ``count`` pairs of degradation chain ``kind`` on the images under ``clean`` (one per image by
    default, cycled when ``count`` is larger) to ``out/degraded``, ``out/clean``, ``out/mask`` and
    ``out/preview.png``; returns the number of pairs written."""
    out = Path(out)
    calls = parse_degradation(kind)
    source = open_source(f"synthetic:{kind}:{clean}")
    total = len(source) if count is None else int(count)
    inputs = {p.resolve() for p in source.files()}
    preview_rows = []
    for i in tqdm(range(total), desc="synth", unit="pair", disable=not progress):
        index = i % len(source)
        image = source.load_clean(index)
        degraded, mask = degrade(image, calls, np.random.default_rng([seed, i]))
        stem = source.name(index) if total <= len(source) else f"{source.name(index)}_{i // len(source):03d}"
        for folder, array in (("degraded", degraded), ("clean", image), ("mask", mask[..., None])):
            target = out / folder / f"{stem}.png"
            if target.resolve() in inputs:
                raise InputError(f"{target}: refusing to overwrite an input file")
            write_image(target, array)
        if len(preview_rows) < 4:
            preview_rows.append([(degraded, f"{stem} degraded"), (mask, "mask"), (image, "clean")])
    write_image(out / "preview.png", grid(preview_rows, height=224))
    return total
