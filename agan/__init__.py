"""agan: GAN-based image restoration, CNN baselines, classical filters and honest metrics.

From Python, :func:`load` gives any method the command line takes (a shipped
model, a trained checkpoint, a filter spec) as a callable::

    >>> import agan, numpy as np
    >>> denoise = agan.load("median(ksize=3)")
    >>> noisy = np.zeros((32, 40, 3), np.uint8)
    >>> denoise(noisy).shape, denoise(noisy).dtype
    ((32, 40, 3), dtype('uint8'))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Restorer", "load"]


class Restorer:
    """A restoration method as a callable on numpy images or image files.

    ``restorer(image)`` takes an HWC (or HW grey) array, uint8, uint16 or
    float in [0, 1], RGB channel order, and returns the restored image of the
    same shape and dtype; given a path it reads the file and returns an HWC
    float32 RGB (or grey) array in [0, 1]. ``restorer.method`` is the
    underlying :class:`agan.methods.registry.Method` (float32 HWC images only).
    """

    def __init__(self, method: Any):
        self.method = method

    def __call__(self, image: np.ndarray | str | Path) -> np.ndarray:
        if isinstance(image, (str, Path)):
            from agan.data.io import read_image

            return self.method(read_image(image))
        from agan.data.image import as_hwc

        array = np.asarray(image)
        if array.dtype.kind in "ui":
            scale = float(np.iinfo(array.dtype).max)
        elif array.dtype.kind == "f":
            scale = 1.0
        else:
            raise ValueError(f"expected an integer or float image, got dtype {array.dtype}")
        restored = self.method(as_hwc(array) / np.float32(scale))
        restored = restored[..., 0] if array.ndim == 2 else restored
        if scale == 1.0:
            return restored.astype(array.dtype, copy=False)
        return np.round(np.clip(restored, 0.0, 1.0) * scale).astype(array.dtype)

    def __repr__(self) -> str:
        return f"agan.Restorer({self.method.label!r})"


def load(method: str, device: str = "auto", **options: Any) -> Restorer:
    """A shipped model (``agan models``), a checkpoint ``.pt`` or a filter spec, ready to restore images.

    Args:
        method: e.g. ``"attentive-gan-weather"``, ``"runs/x/checkpoints/best.pt"``,
            ``"bm3d(sigma=25)"`` or ``"dncnn-color-blind+gaussian(sigma=0.8)"``.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        **options: ``tile``, ``overlap``, ``ensemble`` for networks (see ``agan restore``).
    """
    from agan.device import resolve_device
    from agan.methods.registry import build_method

    return Restorer(build_method(method, str(resolve_device(device)), **options))
