"""Image-quality metrics: PSNR, SSIM and LPIPS, with their conventions explicit.

Image convention: HWC numpy arrays, float32, nominally in [0, 1]; RGB
(``(H, W, 3)``) or grey (``(H, W, 1)``; a plain ``(H, W)`` array is read as
grey). ``output`` is the restored image, ``target`` the clean reference.

Published numbers differ by convention, so every number here says which one it
uses. The defaults are: **RGB (all channels), float values, no rounding, no
border crop, data range 1**. The options, shared by :func:`psnr`,
:func:`ssim` and :func:`measure`:

* ``y_channel=True``: compare only the luma Y of YCbCr, ITU-R BT.601 as
  MATLAB's ``rgb2ycbcr`` computes it on [0, 1] input,
  ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`` (range [16/255,
  235/255]); as BasicSR's ``test_y_channel``, Y is kept in floating point
  (not rounded to 8 bits). Grey images are used unchanged.
* ``crop_border=k``: drop ``k`` pixels on each side before measuring (the
  super-resolution habit of cropping ``scale`` pixels).
* ``quantize=True``: clip both images to [0, 1] and round to 8-bit levels,
  ``round(x * 255) / 255``, before measuring, as papers that measure saved
  uint8 images do. Applied before the Y conversion.
* ``data_range``: the span of the pixel values (1 for [0, 1] images).

The order of operations is: crop, quantize, Y conversion, metric.

PSNR is ``10 log10(data_range**2 / MSE)`` with the MSE over all pixels and
channels together (``skimage.metrics.peak_signal_noise_ratio``), computed in
float64; identical images give ``inf``.

SSIM is ``skimage.metrics.structural_similarity`` with the settings of Wang et
al. 2004 and MATLAB's ``ssim``: Gaussian weighting (``gaussian_weights=True``,
``sigma=1.5``, an 11x11 window), population covariances
(``use_sample_covariance=False``), K1=0.01, K2=0.03; colour images are
measured per channel and averaged (``channel_axis=-1``). No automatic
downsampling (unlike Wang's original ``ssim_index.m``).

LPIPS (Zhang et al. 2018) is the ``lpips`` package, version 0.1, AlexNet
trunk, on RGB in [-1, 1] (grey replicated to 3 channels), computed on the
images as given (after crop/quantize when called through :func:`measure`,
never on Y). It needs torchvision's ImageNet AlexNet weights in the torch hub
cache (downloaded there once when missing); :func:`agan.evaluation.lpips.load_lpips` returns None
(and says so in one line) when they can be neither found nor downloaded, and tables should then
show LPIPS as absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from agan.data.image import as_hwc

__all__ = [
    "rgb_to_y",
    "psnr",
    "ssim",
    "measure",
    "Metric",
    "METRICS",
    "describe_convention",
    "attention_auc",
]

# BT.601 luma as MATLAB's rgb2ycbcr on [0, 1] RGB: Y = (16 + w . RGB) / 255.
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_Y_OFFSET = 16.0


# --------------------------------------------------------------------------- #
# preparation shared by the metrics
# --------------------------------------------------------------------------- #
def _y64(img: np.ndarray) -> np.ndarray:
    """BT.601 Y of a float64 HWC RGB image on the [0, 1] scale, as (H, W, 1)."""
    if img.shape[2] == 1:
        return img
    if img.shape[2] != 3:
        raise ValueError(f"Y channel needs an RGB (3-channel) or grey image, got {img.shape[2]} channels")
    return ((img @ _Y_WEIGHTS + _Y_OFFSET) / 255.0)[:, :, None]


def _prepare(
    output: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float,
    crop_border: int,
    y_channel: bool,
    quantize: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes, then crop, quantize and (optionally) take Y; float64 HWC out."""
    out = as_hwc(output, "output", np.float64)
    tgt = as_hwc(target, "target", np.float64)
    if out.shape != tgt.shape:
        raise ValueError(
            f"output and target shapes differ: {np.shape(output)} vs {np.shape(target)}"
        )
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        c = int(crop_border)
        if 2 * c >= out.shape[0] or 2 * c >= out.shape[1]:
            raise ValueError(f"crop_border={c} leaves nothing of a {out.shape[0]}x{out.shape[1]} image")
        out = out[c:-c, c:-c]
        tgt = tgt[c:-c, c:-c]
    if quantize:
        levels = 255.0 / data_range
        out = np.clip(np.round(out * levels), 0.0, 255.0) / levels
        tgt = np.clip(np.round(tgt * levels), 0.0, 255.0) / levels
    if y_channel:
        # Y is defined on the [0, 1] scale; rescale around it for other ranges.
        out = _y64(out / data_range) * data_range
        tgt = _y64(tgt / data_range) * data_range
    return out, tgt


# --------------------------------------------------------------------------- #
# PSNR / SSIM
# --------------------------------------------------------------------------- #
def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as MATLAB's ``rgb2ycbcr`` on [0, 1] input.

    ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255``, so Y lies in
    [16/255, 235/255] for RGB in [0, 1]. Not rounded to 8 bits.

    Args:
        image: HWC float32 image in [0, 1]: RGB ``(H, W, 3)`` or grey
            ``(H, W, 1)`` (a plain ``(H, W)`` array is treated as grey).

    Returns:
        float32 array of shape ``(H, W, 1)``: the Y channel for RGB input; a
        grey input is returned unchanged (as float32, ``(H, W, 1)``).
    """
    img = as_hwc(image, "image", np.float64)
    if img.shape[2] == 1:
        return np.asarray(image, dtype=np.float32).reshape(img.shape)
    return _y64(img).astype(np.float32)


def psnr(
    output: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 1.0,
    crop_border: int = 0,
    y_channel: bool = False,
    quantize: bool = False,
) -> float:
    """Peak signal-to-noise ratio in dB.

    ``10 log10(data_range**2 / MSE)``, MSE over all pixels and channels,
    computed in float64 with ``skimage.metrics.peak_signal_noise_ratio``.

    Args:
        output: restored image, HWC float32 in [0, 1], RGB ``(H, W, 3)`` or
            grey ``(H, W, 1)``.
        target: clean reference, same shape and convention.
        data_range: span of the pixel values (1.0 for [0, 1] images).
        crop_border: pixels removed on each side before measuring.
        y_channel: compare the BT.601 Y of YCbCr only (see :func:`rgb_to_y`),
            as BasicSR's ``test_y_channel``.
        quantize: clip to [0, 1] and round both images to 8-bit levels,
            ``round(x * 255) / 255``, first.

    Returns:
        PSNR in dB; ``inf`` for identical images.

    Raises:
        ValueError: if the shapes differ or are not HWC/HW.
    """
    from skimage.metrics import peak_signal_noise_ratio

    out, tgt = _prepare(output, target, data_range=data_range, crop_border=crop_border,
                        y_channel=y_channel, quantize=quantize)
    if np.array_equal(out, tgt):
        return float("inf")
    return float(peak_signal_noise_ratio(tgt, out, data_range=data_range))


def ssim(
    output: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 1.0,
    crop_border: int = 0,
    y_channel: bool = False,
    quantize: bool = False,
) -> float:
    """Structural similarity (Wang et al. 2004), mean SSIM over the image.

    ``skimage.metrics.structural_similarity`` with the paper's / MATLAB's
    settings: ``gaussian_weights=True``, ``sigma=1.5`` (11x11 window),
    ``use_sample_covariance=False``, K1=0.01, K2=0.03, ``data_range`` as
    given; colour images per channel (``channel_axis=-1``) and averaged.
    Computed in float64. Images need to be at least 11x11 (after cropping).

    Args:
        output: restored image, HWC float32 in [0, 1], RGB ``(H, W, 3)`` or
            grey ``(H, W, 1)``.
        target: clean reference, same shape and convention.
        data_range: span of the pixel values (1.0 for [0, 1] images).
        crop_border: pixels removed on each side before measuring.
        y_channel: compare the BT.601 Y of YCbCr only (see :func:`rgb_to_y`).
        quantize: clip to [0, 1] and round both images to 8-bit levels first.

    Returns:
        Mean SSIM, at most 1.0 (1.0 for identical images).

    Raises:
        ValueError: if the shapes differ or are not HWC/HW.
    """
    from skimage.metrics import structural_similarity

    out, tgt = _prepare(output, target, data_range=data_range, crop_border=crop_border,
                        y_channel=y_channel, quantize=quantize)
    kwargs: dict[str, Any] = dict(
        data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    if out.shape[2] == 1:
        return float(structural_similarity(tgt[:, :, 0], out[:, :, 0], **kwargs))
    return float(structural_similarity(tgt, out, channel_axis=-1, **kwargs))


def attention_auc(attention: np.ndarray, mask: np.ndarray) -> float:
    """How well an attention map ranks the degraded pixels above the clean ones: ROC AUC.

    The probability that a random pixel inside the mask scores higher than a
    random pixel outside it (ties count half), from the Mann-Whitney U
    statistic: 0.5 is a map blind to the degradation, 1 a map that separates
    it perfectly. It needs no threshold, so it scores maps of any scale
    (the generator's maps are linear, not probabilities).

    Args:
        attention: HW (or HW1) float map, any range.
        mask: HW (or HW1) map of the same size, > 0.5 where degraded.

    Returns:
        The AUC in [0, 1]; NaN when the mask is empty or full.
    """
    from scipy.stats import rankdata

    scores = np.asarray(attention, dtype=np.float64).reshape(-1)
    positive = np.asarray(mask).reshape(-1) > 0.5
    if scores.shape != positive.shape:
        raise ValueError(f"attention {np.shape(attention)} and mask {np.shape(mask)} differ in size")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def describe_convention(
    *, data_range: float = 1.0, crop_border: int = 0, y_channel: bool = False, quantize: bool = False
) -> str:
    """One-line description of a metric convention, for table captions.

    Args:
        data_range: as in :func:`psnr`.
        crop_border: as in :func:`psnr`.
        y_channel: as in :func:`psnr`.
        quantize: as in :func:`psnr`.

    Returns:
        e.g. ``"RGB, float, no rounding, no border crop, data range 1"``.
    """
    parts = [
        "Y (BT.601)" if y_channel else "RGB",
        "8-bit rounded" if quantize else "float, no rounding",
        f"border crop {crop_border}" if crop_border else "no border crop",
        f"data range {data_range:g}",
    ]
    return ", ".join(parts)


# Constructed networks, keyed by (device, weights file or "random").


# --------------------------------------------------------------------------- #
# all at once
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Metric:
    """A full-reference metric as agan reports it.

    Attributes:
        title: the column title in tables (``PSNR (dB)``).
        compute: ``(output, target, lpips_metric, conventions) -> value or None`` (None: not
            measured, e.g. LPIPS without its weights); ``conventions`` are :func:`psnr`'s keywords.
        digits: decimals in tables; cards round to one more.
        higher_is_better: tables mark the best value by it.
        by_convention: measured again under other conventions (the ``psnr_y`` columns); LPIPS is not.
        validation: measured at each validation of a training run (``val/NAME``).
        card: kept on model cards (with its ``_y`` column when ``by_convention``), rounded to
            ``card_digits``.
    """

    title: str
    compute: Callable[[np.ndarray, np.ndarray, Any, dict[str, Any]], float | None]
    digits: int
    higher_is_better: bool = True
    by_convention: bool = True
    validation: bool = True
    card: bool = True
    card_digits: int = 4


def _lpips(output: np.ndarray, target: np.ndarray, lpips_metric: Any, conventions: dict[str, Any]) -> float | None:
    if lpips_metric is None:
        return None
    out, tgt = _prepare(output, target, **{**conventions, "y_channel": False})
    return lpips_metric(out, tgt)


#: The metrics of every table, report, validation and card, in their column order. A new metric is
#: one entry here: ``measure`` computes it, tables and CSVs show it, validation logs it and cards keep it.
METRICS: dict[str, Metric] = {
    "psnr": Metric("PSNR (dB)", lambda o, t, _, c: psnr(o, t, **c), 2, card_digits=3),
    "ssim": Metric("SSIM", lambda o, t, _, c: ssim(o, t, **c), 4),
    "lpips": Metric("LPIPS", _lpips, 4, higher_is_better=False, by_convention=False, validation=False, card=False),
}


def measure(
    output: np.ndarray,
    target: np.ndarray,
    lpips_metric: Any = None,
    *,
    data_range: float = 1.0,
    crop_border: int = 0,
    y_channel: bool = False,
    quantize: bool = False,
    only: Callable[[Metric], bool] = lambda metric: True,
) -> dict[str, float | None]:
    """Every metric of :data:`METRICS` (those ``only`` keeps) on one image pair.

    Args:
        output: restored image, HWC float32 in [0, 1], RGB ``(H, W, 3)`` or
            grey ``(H, W, 1)``.
        target: clean reference, same shape and convention.
        lpips_metric: an :class:`agan.evaluation.lpips.LPIPSMetric`, or None (then ``"lpips"`` is
            None). LPIPS is measured on the cropped / quantized images, always
            in RGB (never on Y).
        data_range: as in :func:`psnr` (LPIPS assumes 1).
        crop_border: as in :func:`psnr`.
        y_channel: as in :func:`psnr`; applies to PSNR and SSIM only.
        quantize: as in :func:`psnr`.
        only: which metrics to measure (e.g. ``lambda m: m.by_convention``).

    Returns:
        ``{"psnr": float, "ssim": float, "lpips": float | None}`` (one key per metric).
    """
    conventions = dict(data_range=data_range, crop_border=crop_border, y_channel=y_channel, quantize=quantize)
    return {name: metric.compute(output, target, lpips_metric, conventions)
            for name, metric in METRICS.items() if only(metric)}
