"""Keeping evaluation photos out of training: finding the images of a source that are the same photo
as a validation or test image (another file format or encoding of it included). Images are HWC
float32 in [0, 1]."""

from __future__ import annotations

import cv2
import numpy as np

from agan.data.sources import MultiSource, Source


def _thumb(image: np.ndarray) -> np.ndarray:
    """A 32x32 grey float32 thumbnail of an HWC float32 image (for quick sameness checks)."""
    grey = image.mean(axis=2) if image.shape[2] > 1 else image[..., 0]
    return cv2.resize(np.ascontiguousarray(grey, np.float32), (32, 32), interpolation=cv2.INTER_AREA)


def _same_photo(a: np.ndarray, b: np.ndarray, psnr: float = 40.0) -> bool:
    """True when two HW(C) float32 [0, 1] images of one size are the same photo (PSNR >= ``psnr`` dB on grey)."""
    ga = a.mean(axis=2) if a.ndim == 3 else a
    gb = b.mean(axis=2) if b.ndim == 3 else b
    return float(np.mean((ga - gb) ** 2)) <= 10 ** (-psnr / 10)


def leave_out(source: Source | MultiSource, images: list[np.ndarray]) -> tuple[list[str], list[str]]:
    """Remove from ``source`` every image that is one of ``images`` (the same photo: the same size
    and, on grey, a PSNR of at least 40 dB: another file format or encoding of it counts), so that
    validation and test photos are never training photos. Works on the clean side of real pairs and
    on the clean photos of synthetic data.

    Args:
        source: the training source, changed in place.
        images: clean images (HWC float32 in [0, 1]) of the validation or test sets.

    Returns:
        ``(removed, whole)``: the names of the images removed, in order, and the specs of the parts
        kept whole because every image of them is a validation image (a run that validates on its
        own training set on purpose: its validation then measures fit, not generalisation).
    """
    by_size: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
    for image in images:
        by_size.setdefault(image.shape[:2], []).append((_thumb(image), image))
    removed: list[str] = []
    whole: list[str] = []
    parts = source.parts if isinstance(source, MultiSource) else [source]
    for part in parts:
        keep, names = [], []
        for index in range(len(part)):
            candidates = by_size.get(tuple(part.size(index)), [])
            clean = part.load_clean(index) if candidates else None
            small = _thumb(clean) if clean is not None else None
            if clean is not None and any(_same_photo(small, thumb, 30.0) and _same_photo(clean, image)
                                         for thumb, image in candidates):
                names.append(part.name(index))
            else:
                keep.append(index)
        if not keep:
            whole.append(part.spec)
            continue
        removed += names
        if len(keep) < len(part):
            if part.synthetic:
                part.clean_files = [part.clean_files[i] for i in keep]
            else:
                part.pairs = [part.pairs[i] for i in keep]
    if isinstance(source, MultiSource) and removed:
        source.__init__(source.spec, source.parts, source.repeats)  # re-index the joined list
    return removed, whole
