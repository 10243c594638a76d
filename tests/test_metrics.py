"""Tests for agan.evaluation.metrics: PSNR / SSIM conventions and the LPIPS wrapper.

Images follow the project convention: HWC float32 in [0, 1], RGB (H, W, 3) or
grey (H, W, 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from agan.evaluation import lpips as metrics_lpips
from agan.evaluation import metrics
from agan.evaluation.lpips import LPIPSMetric, load_lpips
from agan.evaluation.metrics import measure, psnr, rgb_to_y, ssim


@pytest.fixture
def pair_rgb() -> tuple[np.ndarray, np.ndarray]:
    """A smooth-ish RGB image (48x40x3) and a noisy version, both in [0, 1]."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:48, 0:40] / 48.0
    clean = np.stack([yy, xx, 0.5 * (yy + xx)], axis=-1).astype(np.float32)
    noisy = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    return noisy, clean


@pytest.fixture
def pair_grey(pair_rgb: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Grey (48x40x1) version of ``pair_rgb``."""
    out, tgt = pair_rgb
    return out[:, :, :1].copy(), tgt[:, :, :1].copy()


# --------------------------------------------------------------------------- #
# PSNR
# --------------------------------------------------------------------------- #
def test_psnr_matches_skimage(pair_rgb, pair_grey):
    for out, tgt in (pair_rgb, pair_grey):
        ref = peak_signal_noise_ratio(tgt.astype(np.float64), out.astype(np.float64), data_range=1)
        assert psnr(out, tgt) == pytest.approx(ref, abs=1e-9)
        # skimage on the float32 arrays computes in float32: agrees to ~1e-5 dB.
        assert psnr(out, tgt) == pytest.approx(peak_signal_noise_ratio(tgt, out, data_range=1), abs=1e-4)


def test_psnr_data_range(pair_rgb):
    out, tgt = (a.astype(np.float64) for a in pair_rgb)
    assert psnr(out * 255, tgt * 255, data_range=255) == pytest.approx(psnr(out, tgt), abs=1e-9)
    assert ssim(out * 255, tgt * 255, data_range=255) == pytest.approx(ssim(out, tgt), abs=1e-9)


def test_psnr_identical_is_inf(pair_rgb):
    _, tgt = pair_rgb
    assert psnr(tgt, tgt.copy()) == math.inf


def test_rgb_to_y_values_and_grey_passthrough():
    img = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]], np.float32)
    y = rgb_to_y(img)
    assert y.shape == (2, 2, 1) and y.dtype == np.float32
    expected = np.array([[16 + 65.481, 16 + 128.553], [16 + 24.966, 16 + 65.481 + 128.553 + 24.966]]) / 255
    np.testing.assert_allclose(y[:, :, 0], expected, atol=1e-6)
    assert y[1, 1, 0] == pytest.approx(235 / 255, abs=1e-6)  # white -> 235
    grey = np.random.default_rng(0).random((5, 4, 1)).astype(np.float32)
    np.testing.assert_array_equal(rgb_to_y(grey), grey)


def test_psnr_y_channel_by_hand():
    out = [[[0.2, 0.4, 0.6], [0.9, 0.1, 0.3]], [[0.5, 0.5, 0.5], [0.0, 1.0, 0.25]]]
    tgt = [[[0.25, 0.35, 0.6], [0.8, 0.2, 0.3]], [[0.5, 0.45, 0.55], [0.1, 0.9, 0.25]]]

    def y(p):
        r, g, b = p
        return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255

    sq = [(y(out[i][j]) - y(tgt[i][j])) ** 2 for i in range(2) for j in range(2)]
    mse = sum(sq) / len(sq)
    expected = 10 * math.log10(1 / mse)
    got = psnr(np.array(out, np.float32), np.array(tgt, np.float32), y_channel=True)
    assert got == pytest.approx(expected, abs=1e-4)  # inputs are float32, the hand value float64
    got64 = psnr(np.array(out, np.float64), np.array(tgt, np.float64), y_channel=True)
    assert got64 == pytest.approx(expected, abs=1e-9)


def test_crop_border_crops(pair_rgb):
    out, tgt = pair_rgb
    out = tgt.copy()
    out[:3] = 0.0
    out[:, -3:] = 1.0  # differences only within 3 pixels of the border
    assert psnr(out, tgt) < 30
    assert psnr(out, tgt, crop_border=3) == math.inf
    noisy, _ = pair_rgb
    assert psnr(noisy, tgt, crop_border=4) == pytest.approx(psnr(noisy[4:-4, 4:-4], tgt[4:-4, 4:-4]), abs=1e-12)
    assert ssim(noisy, tgt, crop_border=4) == pytest.approx(ssim(noisy[4:-4, 4:-4], tgt[4:-4, 4:-4]), abs=1e-12)


def test_quantize_rounds_to_8_bit(pair_rgb):
    tgt = pair_rgb[1].astype(np.float64)
    levels = np.round(tgt * 255) / 255
    nudged = levels + 0.3 / 255  # less than half an 8-bit step
    assert psnr(nudged, levels) < 60
    assert psnr(nudged, levels, quantize=True) == math.inf
    # and it equals rounding by hand (with the clip to [0, 1] of a saved image)
    noisy = tgt + np.random.default_rng(3).normal(0, 0.05, tgt.shape)
    by_hand = np.clip(np.round(noisy * 255), 0, 255) / 255
    assert psnr(noisy, tgt, quantize=True) == pytest.approx(psnr(by_hand, np.round(tgt * 255) / 255), abs=1e-12)


def test_shape_mismatch_raises(pair_rgb, pair_grey):
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(pair_rgb[0], pair_grey[1])
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(pair_rgb[0][:-1], pair_rgb[1])


# --------------------------------------------------------------------------- #
# SSIM
# --------------------------------------------------------------------------- #
def test_ssim_matches_skimage_wang_settings(pair_rgb, pair_grey):
    settings = dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    out, tgt = pair_rgb
    ref = structural_similarity(tgt.astype(np.float64), out.astype(np.float64), channel_axis=-1, **settings)
    assert ssim(out, tgt) == pytest.approx(ref, abs=1e-12)
    out, tgt = pair_grey
    ref = structural_similarity(tgt[:, :, 0].astype(np.float64), out[:, :, 0].astype(np.float64), **settings)
    assert ssim(out, tgt) == pytest.approx(ref, abs=1e-12)
    assert ssim(tgt, tgt) == pytest.approx(1.0)


def test_ssim_y_channel_is_ssim_of_y(pair_rgb):
    out, tgt = pair_rgb
    got = ssim(out, tgt, y_channel=True)
    ref = ssim(rgb_to_y(out).astype(np.float64), rgb_to_y(tgt).astype(np.float64))
    assert got == pytest.approx(ref, abs=1e-6)


# --------------------------------------------------------------------------- #
# LPIPS
# --------------------------------------------------------------------------- #
def test_lpips_random_backbone(pair_rgb, pair_grey, tmp_path, monkeypatch):
    """The LPIPS code path with a RANDOM AlexNet trunk (tests only).

    The real ImageNet AlexNet weights cannot be downloaded offline, so the
    numbers are not LPIPS; this checks the plumbing: conversion to NCHW in
    [-1, 1], grey replication, 0 for identical images, > 0 otherwise, the
    per-device cache, and that nothing is fetched into the torch hub cache.
    """
    monkeypatch.setattr(metrics_lpips, "_LPIPS_NETS", {})
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    metric = LPIPSMetric(random_backbone=True)
    assert not (tmp_path / "hub").exists()  # nothing downloaded
    out, tgt = pair_rgb
    assert metric(tgt, tgt.copy()) == pytest.approx(0.0, abs=1e-7)
    d = metric(out, tgt)
    assert d > 0
    assert metric(out, tgt) == d  # deterministic
    g_out, g_tgt = pair_grey
    assert metric(g_tgt, g_tgt) == pytest.approx(0.0, abs=1e-7)
    assert metric(g_out, g_tgt) > 0
    assert LPIPSMetric(random_backbone=True).net is metric.net  # cached per device
    with pytest.raises(ValueError, match="shapes differ"):
        metric(out, g_tgt)
    res = measure(out, tgt, metric)
    assert set(res) == {"psnr", "ssim", "lpips"}
    assert res["lpips"] == pytest.approx(d) and res["psnr"] == pytest.approx(psnr(out, tgt))


def test_load_lpips_without_cached_weights(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    expected_path = tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert metrics_lpips.alexnet_weights_path() == expected_path
    assert load_lpips() is None  # the download is tried (from the tests' refusing mirror) and fails
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("downloading the AlexNet ImageNet weights")
    err = lines[1]
    assert "LPIPS unavailable" in err and str(expected_path) in err and "download from http://127.0.0.1:9/" in err
    assert "lpips.LPIPS(net='alex')" in err
    assert not expected_path.exists()  # nothing downloaded
    with pytest.raises(metrics_lpips.LPIPSUnavailableError):
        LPIPSMetric()


def test_load_lpips_uses_cached_weights(tmp_path, monkeypatch):
    """With a file where torchvision caches AlexNet, load_lpips builds the metric.

    The file holds randomly initialised AlexNet weights (stand-ins for the real
    ImageNet ones), which shows the path is the one torchvision reads.
    """
    import torchvision

    monkeypatch.setattr(metrics_lpips, "_LPIPS_NETS", {})
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    path = metrics_lpips.alexnet_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    try:
        metric = load_lpips()
        assert isinstance(metric, LPIPSMetric)
        img = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
        assert metric(img, img) == pytest.approx(0.0, abs=1e-7)
    finally:
        path.unlink()  # ~240 MB


def test_measure_without_lpips(pair_rgb):
    out, tgt = pair_rgb
    res = measure(out, tgt, y_channel=True, crop_border=2)
    assert res["lpips"] is None
    assert res["psnr"] == pytest.approx(psnr(out, tgt, y_channel=True, crop_border=2))
    assert res["ssim"] == pytest.approx(ssim(out, tgt, y_channel=True, crop_border=2))
    assert metrics.describe_convention() == "RGB, float, no rounding, no border crop, data range 1"


def test_attention_auc_ranks_mask_pixels_above_the_rest():
    mask = np.array([[0, 0], [1, 1]], dtype=np.float32)
    assert metrics.attention_auc(np.array([[0.1, 0.4], [0.35, 0.8]]), mask) == pytest.approx(0.75)
    assert metrics.attention_auc(mask * 3 - 1, mask) == 1.0
    assert metrics.attention_auc(1 - mask, mask) == 0.0
    assert metrics.attention_auc(np.full((2, 2), 0.3), mask) == 0.5  # ties count half: a blind map
    assert math.isnan(metrics.attention_auc(np.ones((2, 2)), np.zeros((2, 2))))
    with pytest.raises(ValueError, match="differ in size"):
        metrics.attention_auc(np.ones((2, 3)), mask)
