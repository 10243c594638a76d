"""Labelled image grids for previews and side-by-side comparisons.

Tiles are HWC float32 [0, 1] images, RGB or grey (grey is shown as RGB, a
mask as grey); each gets a caption bar drawn with OpenCV. Grids are for
looking at: tiles are scaled to a common display height.
"""

from __future__ import annotations

import cv2
import numpy as np

CAPTION_HEIGHT = 22
GAP = 4


def as_rgb(image: np.ndarray) -> np.ndarray:
    """HW, HW1 or HW3 float array in [0, 1] to HW3 float32 RGB."""
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.clip(image, 0.0, 1.0)


def captioned(image: np.ndarray, caption: str, height: int) -> np.ndarray:
    """One tile: ``image`` (HW, HW1 or HW3 float [0, 1]) scaled to ``height`` rows under a caption bar."""
    image = as_rgb(image)
    scale = height / image.shape[0]
    width = max(1, int(round(image.shape[1] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    tile = cv2.resize(image, (width, height), interpolation=interpolation)
    bar = np.full((CAPTION_HEIGHT, width, 3), 30, np.uint8)  # OpenCV draws text on 8-bit images only
    font_scale = 0.45
    (text_w, _), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
    if text_w > width - 6:  # shrink long captions to fit the tile
        font_scale *= max(0.25, (width - 6) / text_w)
    cv2.putText(bar, caption, (3, CAPTION_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([bar.astype(np.float32) / 255.0, tile], axis=0)


def grid(rows: list[list[tuple[np.ndarray, str]]], height: int = 192) -> np.ndarray:
    """Arrange rows of ``(image, caption)`` tiles into one HW3 float32 RGB image in [0, 1].

    Each tile is scaled to ``height`` pixels (plus a caption bar); rows are
    padded on the right to the widest row.
    """
    if not rows or not any(rows):
        raise ValueError("grid needs at least one tile")
    built = []
    for row in rows:
        tiles = [captioned(image, caption, height) for image, caption in row]
        spaced = []
        for i, tile in enumerate(tiles):
            if i:
                spaced.append(np.ones((tile.shape[0], GAP, 3), np.float32))
            spaced.append(tile)
        built.append(np.concatenate(spaced, axis=1))
    width = max(r.shape[1] for r in built)
    padded = []
    for i, r in enumerate(built):
        if i:
            padded.append(np.ones((GAP, width, 3), np.float32))
        padded.append(np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=1.0))
    return np.concatenate(padded, axis=0)
