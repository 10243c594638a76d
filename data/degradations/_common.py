"""Helpers shared by the degradation functions."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Iterator

import numpy as np

# Short side of the whole photo a crop was taken from; None means the image itself.
_PHOTO_SIDE: ContextVar[int | None] = ContextVar("photo_side", default=None)


@contextlib.contextmanager
def photo_scale(short_side: int) -> Iterator[None]:
    """Size weather features for a photo of this short side while degrading a crop of it.

    Training degrades random patches; without this, raindrops on a 128-pixel patch
    of a 512-pixel photo would be drawn four times smaller than on the whole photo.
    """
    token = _PHOTO_SIDE.set(int(short_side))
    try:
        yield
    finally:
        _PHOTO_SIDE.reset(token)


def size_scale(image: np.ndarray) -> float:
    """Scale factor for sizes given at a 512-pixel short side: min(H, W) / 512.

    Inside :func:`photo_scale` the short side of the whole photo is used instead
    of the image's own, so a crop gets features the size they have on the photo.
    Counts of features (drops, flakes, spots) should scale with the area in
    these units: ``H * W / (512 * size_scale) ** 2`` times the count at 512x512.
    """
    side = _PHOTO_SIDE.get()
    return (side if side is not None else min(image.shape[0], image.shape[1])) / 512.0


def finish(degraded: np.ndarray, mask: np.ndarray, clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(degraded, mask)`` as float32, the image clipped to [0, 1] unless ``clip`` is False
    and the HW mask clipped to [0, 1]."""
    degraded = degraded.astype(np.float32, copy=False)
    if clip:
        degraded = np.clip(degraded, 0.0, 1.0, out=degraded)
    mask = np.clip(mask.astype(np.float32, copy=False), 0.0, 1.0)
    if mask.ndim == 3:
        mask = mask[..., 0]
    return degraded, mask
