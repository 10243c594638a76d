"""Noise levels for the filters that need one: the estimate of a Gaussian noise level from an image,
and the non-local-means strength for a level. Images are HWC float32 in [0, 1]; levels on the 0-255 scale."""

from __future__ import annotations

import numpy as np

from agan.data.image import as_hwc

#: ``h`` (and ``h_color``) per unit of noise sigma for colour NLM
#: (``cv2.fastNlMeansDenoisingColored``), see :func:`nlm_strength`.
NLM_H_COLOR_RATIO: float = 0.6


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Estimate the Gaussian noise std of an image, on the 0-255 scale.

    Uses ``skimage.restoration.estimate_sigma(image, channel_axis=-1,
    average_sigmas=True)`` (wavelet-based robust median estimator of Donoho),
    multiplied by 255.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1]; may be out of range.

    Returns:
        Estimated noise standard deviation on the 0-255 scale.
    """
    from skimage.restoration import estimate_sigma

    img = as_hwc(image)
    return float(estimate_sigma(img, channel_axis=-1, average_sigmas=True)) * 255.0


def noise_sigma_of(image: np.ndarray, sigma: float | None) -> float:
    """``sigma`` if given, else the estimate; on the 0-255 scale."""
    if sigma is None:
        return estimate_noise_sigma(image)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 (0-255 scale), got {sigma}")
    return float(sigma)


def nlm_strength(sigma: float, colour: bool = False) -> float:
    """Default OpenCV NLM filter strength ``h`` for a noise level.

    Measured with template 7 / search 21 on unclipped Gaussian noise at
    sigma 15, 25 and 50 (mean PSNR, h/sigma swept in steps of 0.05-0.1):

    * grey (``fastNlMeansDenoising``, Set12): the best h/sigma falls with the
      noise level (about 1.05 at 15, 0.95 at 25, 0.8 at 50), so
      ``h = sigma * clip(1.1 - 0.006 * sigma, 0.7, 1.1)``.
    * colour (``fastNlMeansDenoisingColored``, 12 Kodak24 images):
      ``h = h_color = 0.6 * sigma`` is within 0.1 dB of the best at all three
      levels.

    Args:
        sigma: noise std on the 0-255 scale.
        colour: True for RGB images.

    Returns:
        ``h`` on the 0-255 scale.
    """
    if colour:
        return NLM_H_COLOR_RATIO * sigma
    return float(sigma * np.clip(1.1 - 0.006 * sigma, 0.7, 1.1))
