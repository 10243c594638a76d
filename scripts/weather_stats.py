"""How strong agan's synthetic weather is, beside real weather sets: input PSNR/SSIM (Y) and affected pixels.

    python scripts/weather_stats.py --clean ../shared/data/bsds432 --count 20 \
        --paired ../shared/data/rain12 --paired ../shared/data/jorder_small/test \
        [--kind raindrop --kind 'rain(severity=0.9)' ...] [--seed 0] [--markdown]
    python scripts/weather_stats.py --gallery docs/weather-gallery.png --photo ../shared/data/kodak24/kodim03.png \
        [--reference rain=../shared/data/real_heavy_rain/web_Image2.png ...]

For each synthetic kind (with its default random parameters unless given), the
first ``--count`` clean images are degraded with seed ``[seed, i]`` (as
``agan synth`` does); each ``--paired`` folder is read as it is. Per image:
PSNR and SSIM of the degraded input against the clean image on the BT.601 Y
channel (agan's ``--y-channel``), and the share of "affected" pixels whose
value changes by more than 30/255 in some channel (the Attentive GAN paper's
mask threshold). The table gives p10/p50/p90 over images.

``--gallery`` writes one PNG: each weather kind at light, medium and heavy
severity (0.15, 0.5, 0.9) on the same photo (raindrops twice: seen with the
camera focused on the glass, the default, and on the scene, ``focus=1``; rain
twice: with its default veil, and under a veil of 0.6 as the weather recipes'
veiled rain), and each ``--reference`` image (real weather, named by kind) at the end of its
kind's last row.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from agan.data.datasets import ImageDataset
from agan.data.degradations import degrade
from agan.data.io import read_image, write_image
from agan.data.sources import mask_from_difference, open_source
from agan.evaluation.grids import grid
from agan.evaluation.metrics import psnr, ssim

AFFECTED_THRESHOLD = 30 / 255
WEATHER = ("raindrop", "rain", "snow", "dust")
SEVERITIES = (("light", 0.15), ("medium", 0.5), ("heavy", 0.9))
#: The gallery's rows: (kind, its parameters besides the severity).
GALLERY_ROWS = (("raindrop", ""), ("raindrop", "focus=1"), ("rain", ""), ("rain", "veil=0.6"), ("snow", ""), ("dust", ""))


def image_stats(degraded: np.ndarray, clean: np.ndarray) -> tuple[float, float, float]:
    """``(PSNR Y dB, SSIM Y, affected share)`` of a degraded HWC float32 [0, 1] image against its clean one."""
    return (psnr(degraded, clean, y_channel=True), ssim(degraded, clean, y_channel=True),
            float(mask_from_difference(degraded, clean, AFFECTED_THRESHOLD).mean()))


def set_stats(spec: str, count: int | None, seed: int) -> np.ndarray:
    """Per-image stats of a data spec: an ``(images, 3)`` array of PSNR Y, SSIM Y, affected share."""
    dataset = ImageDataset(open_source(spec, grey=False), seed=seed, limit=count)
    return np.array([image_stats(s["degraded"], s["clean"]) for s in (dataset[i] for i in range(len(dataset)))])


def percentiles(values: np.ndarray, scale: float = 1.0, digits: int = 1) -> str:
    p10, p50, p90 = np.percentile(values * scale, [10, 50, 90])
    return f"{p10:.{digits}f} / {p50:.{digits}f} / {p90:.{digits}f}"


def table(rows: list[tuple[str, np.ndarray]], markdown: bool) -> str:
    """The stats of each set as a table: PSNR Y, SSIM Y and affected %, each p10 / p50 / p90."""
    header = ("set", "images", "input PSNR Y (dB) p10/p50/p90", "SSIM Y p10/p50/p90", "affected % p10/p50/p90")
    body = [(name, str(len(s)), percentiles(s[:, 0]), percentiles(s[:, 1], digits=3), percentiles(s[:, 2], 100, 0))
            for name, s in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|---:|---|---|---|"]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in (header, *body))


def gallery(photo: Path, references: tuple[str, ...], seed: int, height: int) -> np.ndarray:
    """Each weather kind at light, medium and heavy severity on ``photo``, with real references per kind."""
    clean = read_image(photo, grey=False)
    by_kind: dict[str, list[Path]] = {}
    for item in references:
        kind, _, path = item.partition("=")
        if kind not in WEATHER or not path:
            raise click.BadParameter(f"{item!r}: expected KIND=IMAGE with KIND one of {', '.join(WEATHER)}")
        by_kind.setdefault(kind, []).append(Path(path))
    rows = []
    for index, (kind, params) in enumerate(GALLERY_ROWS):
        row = [(clean, "clean")] if not rows else []
        for label, severity in SEVERITIES:
            spec = f"{kind}({params + ',' if params else ''}severity={severity})"
            degraded, _ = degrade(clean, spec, np.random.default_rng([seed, 0]))
            name = f"{kind} {params}" if params else kind
            row.append((degraded, f"{name} {label} ({severity}): {psnr(degraded, clean, y_channel=True):.1f} dB Y"))
        if all(later != kind for later, _ in GALLERY_ROWS[index + 1:]):
            row += [(read_image(p, grey=False), f"real: {p.name}") for p in by_kind.get(kind, [])]
        rows.append(row)
    return grid(rows, height=height)


@click.command()
@click.option("--clean", "clean_path", type=click.Path(exists=True, path_type=Path), default=None, help="Folder of clean photos to synthesise on.")
@click.option("--count", type=int, default=20, show_default=True, help="Clean photos used (the first N).")
@click.option("--kind", "kinds", multiple=True, help=f"A degradation spec; repeatable [default: {', '.join(WEATHER)}].")
@click.option("--paired", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="A real paired folder to measure beside them; repeatable.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@click.option("--gallery", "gallery_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the severity gallery PNG here.")
@click.option("--photo", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="The photo of the gallery.")
@click.option("--reference", "references", multiple=True, help="KIND=IMAGE: a real weather photo shown in KIND's row.")
@click.option("--height", type=int, default=200, show_default=True, help="Gallery tile height in pixels.")
def main(clean_path: Path | None, count: int, kinds: tuple[str, ...], paired: tuple[Path, ...], seed: int,
         markdown: bool, gallery_path: Path | None, photo: Path | None, references: tuple[str, ...],
         height: int) -> None:
    """Print input PSNR/SSIM (Y) and affected pixels of synthetic weather and real paired sets."""
    if gallery_path is not None:
        if photo is None:
            raise click.BadParameter("the gallery needs a photo", param_hint="--photo")
        write_image(gallery_path, gallery(photo, references, seed, height))
        click.echo(f"wrote {gallery_path}")
    rows = []
    if clean_path is not None:
        for kind in kinds or WEATHER:
            rows.append((f"synthetic {kind}", set_stats(f"synthetic:{kind}:{clean_path}", count, seed)))
    for folder in paired:
        rows.append((f"{folder.parent.name}/{folder.name}" if folder.name in ("test", "train") else folder.name,
                     set_stats(str(folder), None, seed)))
    if rows:
        source = f"{count} photos of {clean_path}, seed {seed}; " if clean_path is not None else ""
        click.echo(f"{source}Y = BT.601 luma; affected = changed by more than 30/255 in some channel")
        click.echo(table(rows, markdown))


if __name__ == "__main__":
    main()
