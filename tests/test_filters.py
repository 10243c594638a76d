"""Tests for baselines.filters (classical denoisers).

Images follow the project convention: HWC float32 in [0, 1], RGB (H, W, 3) or
grey (H, W, 1); synthetic noisy inputs may be outside [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from agan.baselines import filters as F
from agan.baselines.filters import FILTERS, identity
from agan.baselines.noise_level import estimate_noise_sigma
from agan.evaluation.metrics import psnr

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SET12 = SHARED_DATA / "set12"

ALL = {**FILTERS, "identity": identity}


def smooth_image(channels: int, size: int = 64) -> np.ndarray:
    """A piecewise-smooth synthetic image: gradient, a rectangle and a disk.

    Returns:
        float32 (size, size, channels) in [0.1, 0.9].
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = 0.2 + 0.4 * xx + 0.2 * yy
    base[8:28, 36:58] = 0.85
    base[(yy - 0.7) ** 2 + (xx - 0.3) ** 2 < 0.04] = 0.15
    if channels == 1:
        return base[:, :, None]
    return np.stack([base, 0.2 + 0.6 * yy, 1.0 - base], axis=-1).clip(0.1, 0.9).astype(np.float32)


def gaussian_noisy(clean: np.ndarray, sigma255: float, seed: int) -> np.ndarray:
    """``clean + N(0, sigma/255)``, NOT clipped (may leave [0, 1])."""
    rng = np.random.default_rng(seed)
    return (clean + rng.standard_normal(clean.shape) * sigma255 / 255).astype(np.float32)


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("shape", [(31, 37, 1), (37, 31, 3)])
def test_keeps_shape_dtype_range(name, shape):
    rng = np.random.default_rng(0)
    img = rng.random(shape, dtype=np.float32)
    out = ALL[name](img)
    assert out.shape == shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    # out-of-range input (unclipped noise) is accepted and the output clipped
    wild = (img + rng.standard_normal(shape).astype(np.float32) * 0.3).astype(np.float32)
    out = ALL[name](wild)
    assert out.shape == shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(FILTERS))
def test_denoising_raises_psnr(name, channels):
    clean = smooth_image(channels)
    noisy = gaussian_noisy(clean, 25, seed=7 + channels)
    before = psnr(np.clip(noisy, 0, 1), clean)
    after = psnr(FILTERS[name](noisy), clean)  # default parameters, noise level estimated
    assert after > before + 2.0, f"{name}: {before:.2f} -> {after:.2f} dB"


@pytest.mark.parametrize("name", ["bm3d", "nlm", "wavelet", "bilateral"])
def test_known_sigma_matches_estimated_roughly(name):
    clean = smooth_image(1)
    noisy = gaussian_noisy(clean, 25, seed=3)
    assert estimate_noise_sigma(noisy) == pytest.approx(25, rel=0.15)
    known = psnr(FILTERS[name](noisy, sigma=25), clean)
    estimated = psnr(FILTERS[name](noisy), clean)
    assert abs(known - estimated) < 1.0


def test_median_removes_salt_and_pepper():
    clean = smooth_image(1)
    rng = np.random.default_rng(5)
    noisy = clean.copy()
    u = rng.random(clean.shape)
    noisy[u < 0.05] = 0.0
    noisy[u > 0.95] = 1.0
    out = F.median(noisy)
    assert psnr(out, clean) > psnr(noisy, clean) + 10
    impulses = (u < 0.05) | (u > 0.95)
    # almost all impulses are replaced by a value near the clean one
    assert np.mean(np.abs(out - clean)[impulses] < 0.1) > 0.95


def test_median_large_kernel_keeps_the_depth_and_matches_opencv_on_8_bit_images():
    clean = smooth_image(3)
    out = F.median(clean, ksize=7)
    assert out.shape == clean.shape and out.dtype == np.float32
    levels = np.round(clean * 255).astype(np.uint8)  # on 8-bit images OpenCV's median is exact: compare
    expected = cv2.medianBlur(levels, 7).astype(np.float32) / 255
    np.testing.assert_allclose(F.median(levels.astype(np.float32) / 255, ksize=7), expected, atol=1e-6)
    with pytest.raises(ValueError):
        F.median(clean, ksize=4)


@pytest.mark.parametrize("name", ["bm3d", "nlm"])
@pytest.mark.parametrize("channels", [1, 3])
def test_accepts_out_of_range_noisy_input(name, channels):
    clean = smooth_image(channels)
    noisy = gaussian_noisy(clean, 50, seed=11)
    assert noisy.min() < 0 and noisy.max() > 1
    out = FILTERS[name](noisy, sigma=50)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert psnr(out, clean) > psnr(np.clip(noisy, 0, 1), clean) + 3


def test_gaussian_sigma_is_spatial_blur_in_pixels():
    img = np.zeros((33, 33, 1), np.float32)
    img[16, 16, 0] = 1.0
    assert F.gaussian(img, sigma=0)[16, 16, 0] == 1.0
    out = F.gaussian(img, sigma=0.8)
    # the impulse response of the blur: its spatial std is the given sigma
    yy, xx = np.mgrid[0:33, 0:33]
    w = out[:, :, 0] / out.sum()
    assert np.sqrt((w * (xx - 16) ** 2).sum()) == pytest.approx(0.8, rel=0.05)
    assert np.sqrt((w * (yy - 16) ** 2).sum()) == pytest.approx(0.8, rel=0.05)


def test_identity_returns_equal_copy():
    img = smooth_image(3)
    out = identity(img)
    np.testing.assert_array_equal(out, img)
    assert out is not img and not np.shares_memory(out, img)
    out[0, 0, 0] = 0.5
    assert img[0, 0, 0] != 0.5
    wild = gaussian_noisy(img, 50, seed=1)
    np.testing.assert_array_equal(identity(wild, clip=False), wild)
    np.testing.assert_array_equal(identity(wild), np.clip(wild, 0, 1))


def test_unknown_parameter_raises_type_error():
    img = smooth_image(1)
    for fn in ALL.values():
        with pytest.raises(TypeError):
            fn(img, no_such_parameter=1)


def test_bad_shape_raises():
    with pytest.raises(ValueError):
        F.mean(np.zeros((8, 8, 2), np.float32))


def test_filters_dict():
    assert set(FILTERS) == {"mean", "median", "gaussian", "bilateral", "nlm", "wavelet", "bm3d"}


@pytest.mark.skipif(not SET12.is_dir(), reason=f"shared data not found at {SET12}")
def test_set12_first_image_sigma25():
    """Set12 01.png, unclipped Gaussian noise sigma=25 (seed [0, 0]).

    The full Set12 mean for BM3D is ~30.0 dB (published 29.97); this image
    alone gives ~29.5 dB with BM3D and ~27.3 dB with NLM.
    """
    clean = (cv2.imread(str(SET12 / "01.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255)[:, :, None]
    noisy = (clean + np.random.default_rng([0, 0]).standard_normal(clean.shape) * 25 / 255).astype(np.float32)
    assert psnr(identity(noisy, clip=False), clean) == pytest.approx(20.17, abs=0.05)
    assert psnr(F.bm3d(noisy, sigma=25), clean) == pytest.approx(29.46, abs=0.2)
    assert psnr(F.nlm(noisy, sigma=25), clean) > 26.8
