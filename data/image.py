"""The toolkit's image convention, and its one check.

Inside agan an image is a numpy array, HWC, float32, values nominally in [0, 1],
C = 1 (grey) or 3 (RGB, in R, G, B order). OpenCV's BGR order appears only at the
file boundary (:mod:`agan.data.io`); networks see NCHW tensors made from these arrays.
"""

from __future__ import annotations

import cv2
import numpy as np

#: ITU-R BT.601 luma weights of R, G, B: the grey level of an RGB image.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def as_hwc(image: np.ndarray, name: str = "image", dtype: type = np.float32, *, allow_hw: bool = True) -> np.ndarray:
    """``image`` as a contiguous ``(H, W, C)`` array of ``dtype``, C in {1, 3}, after checking it.

    Args:
        image: ``(H, W, 1)`` or ``(H, W, 3)`` array (``(H, W)`` too when ``allow_hw``: it becomes
            ``(H, W, 1)``), nominally in [0, 1]; values out of range are kept.
        name: what the message calls the image.
        dtype: the result's dtype (float32 in the toolkit, float64 for metrics).

    Raises:
        ValueError: a one-line message naming ``name`` when the shape is not one of these or is empty.

    >>> as_hwc(np.zeros((2, 3))).shape
    (2, 3, 1)
    """
    arr = np.asarray(image)
    if arr.ndim == 2 and allow_hw:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        grey = " (or HW grey)" if allow_hw else ""
        raise ValueError(f"{name} must be an HWC array with 1 or 3 channels{grey}, got shape {np.shape(image)}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check an image of the convention (HWC, C = 1 or 3, non-empty) and return it as float32 (no copy
    when it already is); ValueError with a one-line message otherwise."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be an HWC array with 1 or 3 channels, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] in (1, 3) and image.dtype == np.float32 and min(image.shape[:2]) >= 1:
        return image
    return as_hwc(image, name, allow_hw=False)


def to_grey(image: np.ndarray) -> np.ndarray:
    """An HWC RGB image's BT.601 luma as ``(H, W, 1)`` float32 (a grey image is returned as it is)."""
    image = check_image(image)
    return image if image.shape[2] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
