"""Classical (non-learned) image restoration filters.

Every filter has the form ``f(image, **params) -> image`` and follows the
project's image convention:

* input: HWC numpy array, RGB (shape ``(H, W, 3)``) or grey (shape
  ``(H, W, 1)``; a plain ``(H, W)`` array is accepted too and comes back as
  ``(H, W)``), nominally float32 in [0, 1]. Values *outside* [0, 1] are
  accepted: a synthetically noised image ``clean + N(0, sigma)`` is not clipped
  before filtering, so the filters see the noise exactly as generated (only
  ``nlm`` and ``median`` with ``ksize > 5`` work on uint8 internally and so
  must clip their input; this is stated in their docstrings).
* output: same shape as the input, float32, clipped to [0, 1].

Noise levels (``sigma``) are standard deviations on the 0-255 scale
(``sigma=25`` means noise of std 25/255 on the [0, 1] image). When a filter
needs a noise level and ``sigma`` is None, it is estimated with
``skimage.restoration.estimate_sigma(image, channel_axis=-1,
average_sigmas=True) * 255`` (see :func:`estimate_noise_sigma`).
``gaussian`` is the exception: its ``sigma`` is the spatial blur width in
pixels, not a noise level.

``FILTERS`` maps a short name to each denoising filter; :func:`identity` (the
"input, no restoration" row) is kept outside it.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from agan.baselines.noise_level import noise_sigma_of, nlm_strength
from agan.data.image import as_hwc

__all__ = [
    "FILTERS",
    "BILATERAL_RANGE_RATIO_GREY",
    "BILATERAL_RANGE_RATIO_RGB",
    "identity",
    "mean",
    "median",
    "gaussian",
    "bilateral",
    "nlm",
    "wavelet",
    "bm3d",
]

#: ``sigma_color`` of the bilateral filter per unit of noise sigma (both on the
#: 0-255 scale), grey images. Measured on Set12 (d=9, sigma_space=3), mean
#: PSNR at noise sigma 15/25/50: ratio 2 -> 29.98/27.07/23.09 dB, 2.5 ->
#: 29.84/27.15/23.74, 3 -> 29.42/26.85/23.92.
BILATERAL_RANGE_RATIO_GREY: float = 2.5
#: The same for RGB images; larger because OpenCV's colour range distance is
#: the L1 norm over the three channels. On 12 Kodak24 images: ratio 3 ->
#: 31.38/28.04/23.39 dB, 4 -> 31.65/28.62/24.53, 5 -> 31.26/28.41/24.79.
BILATERAL_RANGE_RATIO_RGB: float = 4.0


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _finish(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Restore the channel axis OpenCV drops, clip to [0, 1], cast to float32.

    Args:
        out: filter result, ``(H, W)`` or ``(H, W, C)``.
        like: the caller's original input; the result takes its shape.

    Returns:
        float32 array of shape ``np.shape(like)`` in [0, 1].
    """
    out = np.asarray(out, dtype=np.float32).reshape(np.shape(like))
    return np.clip(out, 0.0, 1.0)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """Float HWC image -> uint8, clipping to [0, 1] and rounding to 8-bit levels."""
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- #
# filters
# --------------------------------------------------------------------------- #
def identity(image: np.ndarray, *, clip: bool = True) -> np.ndarray:
    """No restoration: return a copy of the input (the "input" row of a table).

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1].
        clip: clip the copy to [0, 1] like every other filter's output
            (default), so the row is measured on the same footing as the
            restored images. With ``clip=False`` the copy is exact, e.g. to
            quote the PSNR of unclipped synthetic noise (20.17 dB at sigma 25).

    Returns:
        float32 copy of shape ``image.shape`` (in [0, 1] when ``clip``). For an
        input already in [0, 1] the copy equals the input either way.
    """
    out = np.array(image, dtype=np.float32, copy=True)
    return np.clip(out, 0.0, 1.0) if clip else out


def mean(image: np.ndarray, ksize: int = 3) -> np.ndarray:
    """Box (mean) filter, ``cv2.blur`` with a ``ksize x ksize`` window.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1]; out-of-range input
            is filtered as is.
        ksize: window side in pixels (>= 1). Borders: reflect-101.

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].
    """
    img = as_hwc(image)
    return _finish(cv2.blur(img, (int(ksize), int(ksize))), image)


def median(image: np.ndarray, ksize: int = 3) -> np.ndarray:
    """Median filter, ``cv2.medianBlur`` with a ``ksize x ksize`` window.

    OpenCV supports float32 input only for ``ksize`` 3 and 5; those run on the
    float image as is (out-of-range values included). Larger windows run
    ``scipy.ndimage.median_filter`` on the float image (OpenCV would cut it to
    8-bit levels, losing a 16-bit photo's depth), with OpenCV's replicated borders.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1].
        ksize: odd window side, >= 3.

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].

    Raises:
        ValueError: if ``ksize`` is even or < 3.
    """
    ksize = int(ksize)
    if ksize < 3 or ksize % 2 == 0:
        raise ValueError(f"median ksize must be odd and >= 3, got {ksize}")
    img = as_hwc(image)
    if ksize <= 5:
        out = cv2.medianBlur(img, ksize)
    else:
        from scipy.ndimage import median_filter

        out = median_filter(img, size=(ksize, ksize, 1), mode="nearest")  # OpenCV's median replicates borders
    return _finish(out, image)


def gaussian(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur, ``cv2.GaussianBlur``.

    ``sigma`` here is the SPATIAL standard deviation of the blur kernel in
    pixels, not a noise level (this filter doubles as the light post-filter
    ``gaussian(sigma=0.8)`` applied after a GAN). The kernel size is chosen by
    OpenCV from ``sigma`` (about ``8 * sigma + 1``); borders reflect-101.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1]; out-of-range input
            is filtered as is.
        sigma: blur std in pixels, >= 0; 0 returns a (clipped) copy.

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].
    """
    if sigma < 0:
        raise ValueError(f"gaussian blur sigma must be >= 0 pixels, got {sigma}")
    img = as_hwc(image)
    if sigma == 0:
        return _finish(img.copy(), image)
    out = cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), sigmaY=float(sigma))
    return _finish(out, image)


def bilateral(
    image: np.ndarray,
    d: int = 9,
    sigma_color: float | None = None,
    sigma_space: float = 3.0,
    sigma: float | None = None,
) -> np.ndarray:
    """Bilateral filter, ``cv2.bilateralFilter`` on the float32 image.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1]; out-of-range input
            is filtered as is.
        d: diameter of the pixel neighbourhood.
        sigma_color: range (intensity) std on the 0-255 scale. None derives it
            from the noise level: ``BILATERAL_RANGE_RATIO_GREY * sigma``
            (2.5 sigma) for grey, ``BILATERAL_RANGE_RATIO_RGB * sigma``
            (4 sigma) for RGB.
        sigma_space: spatial std in pixels.
        sigma: noise std on the 0-255 scale, used only when ``sigma_color`` is
            None; None estimates it (see :func:`estimate_noise_sigma`).

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].
    """
    img = as_hwc(image)
    if sigma_color is None:
        ratio = BILATERAL_RANGE_RATIO_RGB if img.shape[2] == 3 else BILATERAL_RANGE_RATIO_GREY
        sigma_color = ratio * noise_sigma_of(img, sigma)
    sc = max(float(sigma_color), 1e-3) / 255.0  # the float image is on the [0, 1] scale
    out = cv2.bilateralFilter(img, int(d), sc, float(sigma_space))
    return _finish(out, image)


def nlm(
    image: np.ndarray,
    h: float | None = None,
    sigma: float | None = None,
    template: int = 7,
    search: int = 21,
    h_color: float | None = None,
) -> np.ndarray:
    """Non-local means, OpenCV's ``fastNlMeansDenoising`` (grey) or
    ``fastNlMeansDenoisingColored`` (RGB; denoises in CIELab).

    OpenCV's NLM works on uint8 only: the image is clipped to [0, 1] and
    rounded to 8-bit levels first (so out-of-range noisy input is accepted but
    clipped), and the result is quantised to multiples of 1/255.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1].
        h: filter strength on the 0-255 scale (luminance for RGB). None uses
            :func:`nlm_strength` of the noise level (grey: about 0.95 sigma at
            sigma 25; RGB: 0.6 sigma).
        sigma: noise std on the 0-255 scale, used only when ``h`` is None;
            None estimates it (see :func:`estimate_noise_sigma`).
        template: template (patch) window side, odd.
        search: search window side, odd.
        h_color: strength for the colour (a, b) components, RGB only; None
            uses ``h``.

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].
    """
    img = as_hwc(image)
    colour = img.shape[2] == 3
    if h is None:
        h = nlm_strength(noise_sigma_of(img, sigma), colour=colour)
    h = float(h)
    u8 = _to_uint8(img)
    if colour:
        hc = h if h_color is None else float(h_color)
        # OpenCV's colour NLM expects BGR order (it converts to Lab internally).
        bgr = np.ascontiguousarray(u8[:, :, ::-1])
        out = cv2.fastNlMeansDenoisingColored(bgr, None, h, hc, int(template), int(search))
        out = out[:, :, ::-1]
    else:
        out = cv2.fastNlMeansDenoising(np.ascontiguousarray(u8[:, :, 0]), None, h, int(template), int(search))
    return _finish(out.astype(np.float32) / 255.0, image)


def wavelet(
    image: np.ndarray,
    sigma: float | None = None,
    wavelet: str = "db1",
    method: str = "BayesShrink",
    mode: str = "soft",
    wavelet_levels: int | None = None,
) -> np.ndarray:
    """Wavelet shrinkage, ``skimage.restoration.denoise_wavelet``.

    Colour images are denoised in YCbCr (``convert2ycbcr=True``) with the
    noise level converted accordingly (``rescale_sigma=True``).

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1]; out-of-range input
            is filtered as is.
        sigma: noise std on the 0-255 scale; None estimates it (see
            :func:`estimate_noise_sigma`).
        wavelet: PyWavelets wavelet name. Default ``'db1'`` (Haar, skimage's
            default): with BayesShrink it beat ``'sym8'`` at noise sigma 25
            and 50 (Set12: 26.11 vs 25.85 dB and 23.10 vs 21.39 dB) and lost
            only at sigma 15 (28.72 vs 28.97 dB).
        method: ``'BayesShrink'`` or ``'VisuShrink'``.
        mode: ``'soft'`` or ``'hard'`` thresholding.
        wavelet_levels: decomposition levels; None lets skimage choose.

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].
    """
    from skimage.restoration import denoise_wavelet

    img = as_hwc(image)
    s = noise_sigma_of(img, sigma) / 255.0
    if img.shape[2] == 3:
        out = denoise_wavelet(
            img, sigma=s, wavelet=wavelet, mode=mode, method=method,
            wavelet_levels=wavelet_levels, convert2ycbcr=True,
            channel_axis=-1, rescale_sigma=True,
        )
    else:
        out = denoise_wavelet(
            img[:, :, 0], sigma=s, wavelet=wavelet, mode=mode, method=method,
            wavelet_levels=wavelet_levels, channel_axis=None, rescale_sigma=True,
        )
    return _finish(out, image)


def bm3d(image: np.ndarray, sigma: float | None = None, profile: str = "np") -> np.ndarray:
    """BM3D, from the ``bm3d`` package (Makinen, Azzari, Foi).

    Grey images use ``bm3d.bm3d(z, sigma_psd=sigma/255)``; RGB images use
    ``bm3d.bm3d_rgb`` (CBM3D: block matching on the luminance of an opponent
    colour transform). The noisy input is used as is, out-of-range values
    included.

    Args:
        image: HWC float32 image, RGB ``(H, W, 3)`` or grey ``(H, W, 1)``
            (``(H, W)`` accepted), nominally in [0, 1].
        sigma: noise std on the 0-255 scale; None estimates it (see
            :func:`estimate_noise_sigma`).
        profile: ``bm3d`` profile name (``'np'`` normal, ``'refilter'``,
            ``'vn'``, ``'high'``, ...).

    Returns:
        float32 array, same shape as ``image``, clipped to [0, 1].
    """
    import bm3d as _bm3d

    img = as_hwc(image)
    s = noise_sigma_of(img, sigma) / 255.0
    if s == 0:
        return _finish(img.copy(), image)
    if img.shape[2] == 3:
        out = _bm3d.bm3d_rgb(img.astype(np.float64), s, profile=profile)
    else:
        out = _bm3d.bm3d(img[:, :, 0].astype(np.float64), sigma_psd=s, profile=profile)
    return _finish(out, image)


#: Denoising filters by name (``identity`` is kept separate).
FILTERS: dict[str, Callable[..., np.ndarray]] = {
    "mean": mean,
    "median": median,
    "gaussian": gaussian,
    "bilateral": bilateral,
    "nlm": nlm,
    "wavelet": wavelet,
    "bm3d": bm3d,
}
