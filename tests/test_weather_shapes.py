"""The weather drawing helpers' fast forms against the direct computations they replace."""

import cv2
import numpy as np
import pytest

from agan.data.degradations._shapes import _blob, _gaussian_row, _kernel, _stamp, _streaks


def test_gaussian_row_is_the_middle_row_of_the_round_kernel():
    for radius in (0.1, 0.35, 0.4, 0.77, 1.5, 3.2, 6.0):
        kernel = _kernel(radius, 0.0, 0.0)
        assert np.array_equal(_gaussian_row(radius), kernel[kernel.shape[0] // 2])


@pytest.mark.parametrize("radius", [0.3, 1.0, 4.5])
def test_round_gaussian_stamps_equal_the_two_dimensional_filter(radius):
    layer = _stamp(np.random.default_rng(3), 96, 80, 150, 0.1, 0.6, radius)
    # the same seeds, filtered with the whole 2-D kernel as before
    rng = np.random.default_rng(3)
    f, dim = max(1, int(max(radius, 0.4) // 2)), min(radius / 0.4, 1.0)
    hh, ww = -(-96 // f), -(-80 // f)
    seeds = np.zeros((hh, ww), np.float32)
    ys, xs = rng.integers(0, hh, 150), rng.integers(0, ww, 150)
    seeds[ys, xs] = rng.uniform(0.1 * dim, 0.6 * dim, 150).astype(np.float32)
    direct = cv2.filter2D(seeds, -1, _kernel(max(radius, 0.4) / f, 0.0, 0.0), borderType=cv2.BORDER_REFLECT_101)
    if f > 1:
        direct = cv2.resize(direct, (ww * f, hh * f), interpolation=cv2.INTER_LINEAR)[:96, :80]
    np.testing.assert_allclose(layer, np.clip(direct, 0.0, 1.0), atol=1e-6)


def test_blob_outline_wobble_equals_the_angle_form():
    rng = np.random.default_rng(0)
    for _ in range(100):
        harm = (rng.random(4) * [0.12, 6.3, 0.1, 6.3]).tolist()
        a, b = rng.uniform(2, 40, 2)
        box = _blob(128, 128, *rng.uniform(-10, 140, 2), a, b, rng.uniform(0, np.pi), harm, 1.5, rng.uniform(0, 10))
        if box is None:
            continue
        _, _, _, u, v, rho = box
        un, vn = u / np.float32(a), v / np.float32(b)
        phi = np.arctan2(vn, un)
        wobble = 1 + harm[0] * np.cos(3 * phi + harm[1]) + harm[2] * np.cos(4 * phi + harm[3])
        assert rho.dtype == np.float32
        np.testing.assert_allclose(rho, np.sqrt(un * un + vn * vn) / wobble, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("radius, half, angle, soft, taper", [(0.6, 30, -20, None, 0.7), (0.9, 40, 25, 0.3, 0.0)])
def test_streaks_match_the_two_dimensional_stamp(radius, half, angle, soft, taper):
    """The streaks drawn in a turned frame have the coverage, direction and length of the capsules
    :func:`_stamp` draws with one large 2-D filter."""
    h = w = 128
    ours = [_streaks(np.random.default_rng(i), h, w, 40, 0.4, 1.0, radius, half, angle, soft, taper)
            for i in range(8)]
    theirs = [_stamp(np.random.default_rng(i), h, w, int(np.random.default_rng(i).poisson(40)), 0.4, 1.0,
                     radius, half, angle, soft, taper) for i in range(8)]
    mean_ours, mean_theirs = np.mean([x.mean() for x in ours]), np.mean([x.mean() for x in theirs])
    assert abs(mean_ours / mean_theirs - 1) < 0.15
    th = np.deg2rad(angle)
    along = np.array([np.sin(th), np.cos(th)])  # (x, y) of the fall direction

    def change(layers, direction, step):
        """Mean absolute change of the layers ``step`` pixels along ``direction`` (bilinear)."""
        dx, dy = direction * step
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        return np.mean([np.abs(cv2.warpAffine(x, shift, (w, h), flags=cv2.WARP_INVERSE_MAP)
                               - x)[20:-20, 20:-20].mean() for x in layers])

    across = np.array([np.cos(th), -np.sin(th)])
    for layers in (ours, theirs):
        assert change(layers, along, 2) < 0.3 * change(layers, across, 2)  # streaks run along the fall
    # as long as the capsules: the correlation along falls alike
    ratio = change(ours, along, half) / change(theirs, along, half)
    assert 0.8 < ratio < 1.25
