"""Block seams in a difference map: does a restorer edit a photo in blocks aligned to a grid?

A network whose deepest features each own a square of the output (the U-Net with transposed 2x2
convolutions: 16x16 blocks at depth 4) edits photos in hard-edged rectangles; the difference map
``|output - input|`` then steps across the lines of that grid far more than anywhere else.
"""

from __future__ import annotations

import numpy as np

__all__ = ["block_seam_ratio", "change_map"]


def change_map(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``|after - before|`` averaged over the channels: HW float32 from two HWC (or HW) float images in [0, 1]."""
    difference = np.abs(np.asarray(after, np.float32) - np.asarray(before, np.float32))
    return difference.mean(axis=2) if difference.ndim == 3 else difference


def block_seam_ratio(change: np.ndarray, period: int = 16) -> float:
    """How much more ``change`` steps between neighbours across one line of a ``period``-pixel grid.

    For each axis, the mean absolute step between neighbouring columns (rows) is grouped by the
    position of the step modulo ``period``; the ratio of the largest group's mean to the mean of
    all groups is taken, and the larger of the two axes is returned: 1 for a map without a grid
    (a smooth edit, or noise; a little above 1 from chance), up to ``period`` for a map made of
    flat blocks of that grid, whatever its offset. ``period`` pixels along each border are left
    out (a network's padding makes steps there that belong to no grid). A sparse map (a few edits
    in an otherwise untouched photo) reads high by chance: look at the map before calling a
    ratio a seam.

    Args:
        change: HW float map, e.g. :func:`change_map` of a restorer's input and output.
        period: the grid's spacing in pixels (16 for a depth-4 U-Net).

    Returns:
        The ratio (1.0 for a map too small or too flat to tell).

    Example:
        >>> import numpy as np
        >>> blocks = np.kron(np.random.default_rng(0).random((8, 8)), np.ones((16, 16)))
        >>> round(block_seam_ratio(blocks), 1)
        16.0
    """
    # the outermost rows and columns are left out: a network's padding at the image border makes
    # steps there that belong to no grid (one such row would otherwise weigh as a seam)
    change = np.asarray(change, np.float64)[period:-period, period:-period]
    ratios = [1.0]
    for axis in (0, 1):
        if change.shape[axis] < 2 * period + 1:
            continue
        steps = np.abs(np.diff(change, axis=axis)).mean(axis=1 - axis)
        phases = np.array([steps[p::period].mean() for p in range(period)])
        if phases.mean() > 0:
            ratios.append(float(phases.max() / phases.mean()))
    return max(ratios)
