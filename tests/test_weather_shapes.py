"""The weather drawing helpers' fast forms against the direct computations they replace."""

import cv2
import numpy as np
import pytest

import agan.data.degradations.raindrop as raindrop
from agan.data.degradations.shapes import drop_blob, drop_blobs, drop_boxes, chunks, _gaussian_row, _kernel, stamp_spots, draw_streaks


def test_gaussian_row_is_the_middle_row_of_the_round_kernel():
    for radius in (0.1, 0.35, 0.4, 0.77, 1.5, 3.2, 6.0):
        kernel = _kernel(radius, 0.0, 0.0)
        assert np.array_equal(_gaussian_row(radius), kernel[kernel.shape[0] // 2])


@pytest.mark.parametrize("radius", [0.3, 1.0, 4.5])
def test_round_gaussian_stamps_equal_the_two_dimensional_filter(radius):
    layer = stamp_spots(np.random.default_rng(3), 96, 80, 150, 0.1, 0.6, radius)
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


def _some_blobs(rng, n):
    """n random blobs' parameters for drop_blobs/drop_boxes on a 128 x 128 image: cx, cy, a, b, theta, harm, reach, up."""
    return (rng.uniform(-10, 140, n), rng.uniform(-10, 140, n), rng.uniform(2, 40, n), rng.uniform(2, 40, n),
            rng.uniform(0, np.pi, n), rng.random((n, 4)) * [0.12, 6.3, 0.1, 6.3], rng.uniform(1.2, 2.2, n),
            np.where(rng.random(n) < 0.5, rng.uniform(0, 10, n), 0.0))


def test_blobs_cover_each_box_once_with_offsets_from_the_centre():
    cx, cy, a, b, theta, harm, reach, up = _some_blobs(np.random.default_rng(1), 60)
    cx[3], cy[7] = -500.0, 900.0  # two blobs off the image
    x0, y0, nx, ny = boxes = drop_boxes(128, 128, cx, cy, a, b, theta, reach, up)
    blobs = drop_blobs(128, boxes, cx, cy, a, b, theta, harm)
    assert np.array_equal(np.bincount(blobs.blob, minlength=60), nx * ny) and nx[3] == ny[7] == 0
    assert np.all(np.diff(blobs.blob) >= 0)  # blob after blob
    for i in np.flatnonzero(nx * ny):
        mine = blobs.blob == i
        ys, xs = np.divmod(blobs.pix[mine], 128)
        assert np.array_equal(np.unique(blobs.pix[mine]), blobs.pix[mine])  # once each, row by row
        assert (xs.min(), xs.max(), ys.min(), ys.max()) == (x0[i], x0[i] + nx[i] - 1, y0[i], y0[i] + ny[i] - 1)
        assert np.array_equal(blobs.X[mine], xs.astype(np.float32) - np.float32(cx[i]))
        assert np.array_equal(blobs.Y[mine], ys.astype(np.float32) - np.float32(cy[i]))


def test_blob_outline_wobble_equals_the_angle_form():
    cx, cy, a, b, theta, harm, reach, up = _some_blobs(np.random.default_rng(0), 100)
    blobs = drop_blobs(128, drop_boxes(128, 128, cx, cy, a, b, theta, reach, up), cx, cy, a, b, theta, harm)
    i = blobs.blob
    co, si = np.cos(theta).astype(np.float32)[i], np.sin(theta).astype(np.float32)[i]
    np.testing.assert_array_equal(blobs.u, blobs.X * co + blobs.Y * si)
    np.testing.assert_array_equal(blobs.v, blobs.Y * co - blobs.X * si)
    un, vn = blobs.u / a.astype(np.float32)[i], blobs.v / b.astype(np.float32)[i]
    phi = np.arctan2(vn, un)
    wobble = 1 + harm[i, 0] * np.cos(3 * phi + harm[i, 1]) + harm[i, 2] * np.cos(4 * phi + harm[i, 3])
    assert blobs.rho.dtype == np.float32
    np.testing.assert_allclose(blobs.rho, np.sqrt(un * un + vn * vn) / wobble, rtol=2e-6, atol=2e-6)


def test_chunks_bound_the_pixels_taken_at_once():
    count = np.array([5, 5, 5, 100, 1, 1, 0, 3])
    runs = chunks(count, 10)
    assert runs == [slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 8)]
    assert chunks(count) == [slice(0, 8)] and chunks(np.array([], int)) == []


def test_blobs_at_once_equal_blobs_one_by_one():
    cx, cy, a, b, theta, harm, reach, up = _some_blobs(np.random.default_rng(2), 40)
    cx[5] = -500.0
    blobs = drop_blobs(128, drop_boxes(128, 128, cx, cy, a, b, theta, reach, up), cx, cy, a, b, theta, harm)
    for i in range(40):
        box = drop_blob(128, 128, cx[i], cy[i], a[i], b[i], theta[i], harm[i].tolist(), reach[i], up[i])
        mine = blobs.blob == i
        if box is None:
            assert i == 5 and not mine.any()
            continue
        (rows, cols), X, Y, u, v, rho = box
        ys, xs = np.mgrid[rows, cols]
        assert np.array_equal(blobs.pix[mine], (ys * 128 + xs).ravel())
        for flat, whole in ((blobs.X, X), (blobs.Y, Y), (blobs.u, u), (blobs.v, v), (blobs.rho, rho)):
            assert np.array_equal(flat[mine], np.broadcast_to(whole, rho.shape).ravel())


def test_raindrops_drawn_in_runs_equal_raindrops_drawn_at_once(monkeypatch):
    """Drops drawn a few at a time (as a large image's are) give the same layer."""
    image = np.random.default_rng(0).random((96, 120, 3), dtype=np.float32)
    at_once = [raindrop.raindrop_layer(np.random.default_rng(seed), image.shape, 0.8, severity=1)(image)
               for seed in range(4)]
    whole, pixels = chunks, []
    monkeypatch.setattr(raindrop, "chunks", lambda count: pixels.append(count.sum()) or whole(count, 300))
    in_runs = [raindrop.raindrop_layer(np.random.default_rng(seed), image.shape, 0.8, severity=1)(image)
               for seed in range(4)]
    for (out, mask), (out_runs, mask_runs) in zip(at_once, in_runs):
        assert np.array_equal(out_runs, out) and np.array_equal(mask_runs, mask)
    assert min(pixels) > 3000  # ten runs or more each


@pytest.mark.parametrize("radius, half, angle, soft, taper", [(0.6, 30, -20, None, 0.7), (0.9, 40, 25, 0.3, 0.0)])
def test_streaks_match_the_two_dimensional_stamp(radius, half, angle, soft, taper):
    """The streaks drawn in a turned frame have the coverage, direction and length of the capsules
    :func:`stamp_spots` draws with one large 2-D filter."""
    h = w = 128
    ours = [draw_streaks(np.random.default_rng(i), h, w, 40, 0.4, 1.0, radius, half, angle, soft, taper)
            for i in range(8)]
    theirs = [stamp_spots(np.random.default_rng(i), h, w, int(np.random.default_rng(i).poisson(40)), 0.4, 1.0,
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
