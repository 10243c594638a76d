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
cache; :func:`load_lpips` returns None (and says so in one line) when they
are absent, and tables should then show LPIPS as absent.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from agan.hub import cached_weights_path

__all__ = [
    "rgb_to_y",
    "psnr",
    "ssim",
    "LPIPSMetric",
    "LPIPSUnavailableError",
    "alexnet_weights_path",
    "load_lpips",
    "measure",
    "describe_convention",
    "attention_auc",
]

# BT.601 luma as MATLAB's rgb2ycbcr on [0, 1] RGB: Y = (16 + w . RGB) / 255.
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_Y_OFFSET = 16.0


# --------------------------------------------------------------------------- #
# preparation shared by the metrics
# --------------------------------------------------------------------------- #
def _as_hwc64(image: np.ndarray, name: str) -> np.ndarray:
    """Return ``image`` as a float64 ``(H, W, C)`` array (``(H, W)`` -> C=1)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"{name} must be an HWC image (or HW grey), got shape {np.shape(image)}")
    return arr.astype(np.float64, copy=False)


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
    out = _as_hwc64(output, "output")
    tgt = _as_hwc64(target, "target")
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
    img = _as_hwc64(image, "image")
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


# --------------------------------------------------------------------------- #
# LPIPS
# --------------------------------------------------------------------------- #
class LPIPSUnavailableError(RuntimeError):
    """The ImageNet AlexNet weights LPIPS needs are not in the torch hub cache."""


# Constructed networks, keyed by (device, weights file or "random").
_LPIPS_NETS: dict[tuple[str, str], Any] = {}


def alexnet_weights_path() -> Path:
    """Where torchvision caches its ImageNet AlexNet weights.

    ``torch.hub.get_dir() / "checkpoints" / <file name of
    torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url>``, i.e.
    ``.../hub/checkpoints/alexnet-owt-7be5be79.pth``; ``torch.hub.get_dir()``
    follows ``TORCH_HOME`` and ``torch.hub.set_dir``.

    Returns:
        The path (which may not exist).
    """
    from torchvision.models import AlexNet_Weights

    return cached_weights_path(AlexNet_Weights.IMAGENET1K_V1)


def _unavailable_message(path: Path) -> str:
    return (
        f"LPIPS unavailable: the AlexNet ImageNet weights are not in the torch hub cache at {path}; "
        "to get them, run once with internet: "
        "python -c \"import lpips; lpips.LPIPS(net='alex')\""
    )


def _build_lpips(device: str, random_backbone: bool) -> Any:
    """Construct (or fetch from the cache) the lpips network for ``device``."""
    import torch

    weights = "random" if random_backbone else str(alexnet_weights_path())
    key = (str(torch.device(device)), weights)
    net = _LPIPS_NETS.get(key)
    if net is not None:
        return net
    if not random_backbone and not Path(weights).is_file():
        raise LPIPSUnavailableError(_unavailable_message(Path(weights)))

    import lpips

    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))  # "Setting up [LPIPS]..."
        stack.enter_context(warnings.catch_warnings())
        # lpips still calls torchvision's deprecated alexnet(pretrained=...).
        warnings.filterwarnings("ignore", message=r".*'pretrained' is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*weight enum or `None`", category=UserWarning)
        if random_backbone:
            # Deterministic random trunk, without disturbing the global RNG.
            stack.enter_context(torch.random.fork_rng(devices=[]))
            torch.manual_seed(0)
        net = lpips.LPIPS(net="alex", version="0.1", pnet_rand=random_backbone, verbose=False)
    net = net.to(key[0]).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    _LPIPS_NETS[key] = net
    return net


class LPIPSMetric:
    """LPIPS distance (``lpips`` package v0.1, AlexNet trunk); lower is better.

    The network is built once per device (and weights file) and cached at
    module level, so constructing several ``LPIPSMetric`` objects is cheap.
    The linear calibration layers ship inside the ``lpips`` package; the
    AlexNet trunk needs torchvision's ImageNet weights in the torch hub cache
    (see :func:`alexnet_weights_path`). Nothing is ever downloaded here.

    Args:
        device: torch device to run on, e.g. ``"cpu"`` or ``"cuda"``.
        random_backbone: FOR TESTS ONLY: use a randomly initialised AlexNet
            trunk (seeded, deterministic) so the code path can be exercised
            without the ImageNet weights. Its numbers are not LPIPS.

    Raises:
        LPIPSUnavailableError: if ``random_backbone`` is False and the AlexNet
            weights are not in the cache. Use :func:`load_lpips` to get None
            and a one-line message instead.
    """

    def __init__(self, device: str = "cpu", *, random_backbone: bool = False) -> None:
        self.device = device
        self.random_backbone = random_backbone
        self.net = _build_lpips(device, random_backbone)

    def __call__(self, output: np.ndarray, target: np.ndarray) -> float:
        """LPIPS distance between two images.

        Args:
            output: restored image, HWC float32 in [0, 1], RGB ``(H, W, 3)``
                or grey ``(H, W, 1)`` (replicated to 3 channels). Used as
                given (not clipped).
            target: clean reference, same shape and convention.

        Returns:
            LPIPS distance (>= 0; 0 for identical images).

        Raises:
            ValueError: if the shapes differ or are not HWC/HW.
        """
        import torch

        out = _as_hwc64(output, "output")
        tgt = _as_hwc64(target, "target")
        if out.shape != tgt.shape:
            raise ValueError(
                f"output and target shapes differ: {np.shape(output)} vs {np.shape(target)}"
            )

        def to_tensor(img: np.ndarray) -> "torch.Tensor":
            if img.shape[2] == 1:
                img = np.repeat(img, 3, axis=2)
            t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))
            return (t[None] * 2.0 - 1.0).to(self.device)

        with torch.inference_mode():
            d = self.net(to_tensor(out), to_tensor(tgt))
        return float(d.reshape(-1)[0].item())

    def __repr__(self) -> str:
        kind = "random backbone (tests only)" if self.random_backbone else "AlexNet ImageNet"
        return f"LPIPSMetric(device={self.device!r}, {kind})"


def load_lpips(device: str = "cpu") -> LPIPSMetric | None:
    """The LPIPS metric with real weights, or None when they are not cached.

    Checks the torch hub cache for torchvision's ImageNet AlexNet weights
    (:func:`alexnet_weights_path`) before building anything, so nothing is
    downloaded. When they are absent it prints ONE line to stderr saying so,
    with the path and how to get the weights, and returns None; callers then
    report LPIPS as absent.

    Args:
        device: torch device, e.g. ``"cpu"`` or ``"cuda"``.

    Returns:
        An :class:`LPIPSMetric`, or None.
    """
    try:
        return LPIPSMetric(device)
    except LPIPSUnavailableError as exc:
        print(str(exc), file=sys.stderr)
        return None


# --------------------------------------------------------------------------- #
# all at once
# --------------------------------------------------------------------------- #
def measure(
    output: np.ndarray,
    target: np.ndarray,
    lpips_metric: LPIPSMetric | None = None,
    *,
    data_range: float = 1.0,
    crop_border: int = 0,
    y_channel: bool = False,
    quantize: bool = False,
) -> dict[str, float | None]:
    """PSNR, SSIM and (when a metric is given) LPIPS of one image pair.

    Args:
        output: restored image, HWC float32 in [0, 1], RGB ``(H, W, 3)`` or
            grey ``(H, W, 1)``.
        target: clean reference, same shape and convention.
        lpips_metric: an :class:`LPIPSMetric`, or None (then ``"lpips"`` is
            None). LPIPS is measured on the cropped / quantized images, always
            in RGB (never on Y).
        data_range: as in :func:`psnr` (LPIPS assumes 1).
        crop_border: as in :func:`psnr`.
        y_channel: as in :func:`psnr`; applies to PSNR and SSIM only.
        quantize: as in :func:`psnr`.

    Returns:
        ``{"psnr": float, "ssim": float, "lpips": float | None}``.
    """
    conv = dict(data_range=data_range, crop_border=crop_border, y_channel=y_channel, quantize=quantize)
    result: dict[str, float | None] = {
        "psnr": psnr(output, target, **conv),
        "ssim": ssim(output, target, **conv),
        "lpips": None,
    }
    if lpips_metric is not None:
        out, tgt = _prepare(output, target, data_range=data_range, crop_border=crop_border,
                            y_channel=False, quantize=quantize)
        result["lpips"] = lpips_metric(out, tgt)
    return result
