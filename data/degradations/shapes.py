"""Drawing helpers of the weather degradations: parameter draws around a severity, soft kernels and
stamps of streaks, drops and flakes, low-frequency fields. Arrays are HW or HWC float32 in [0, 1]."""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import cv2
import numpy as np

#: A drawn weather layer: applies it to an HWC float32 image in [0, 1] of the shape it was drawn
#: for, returning ``(degraded, mask)`` as the kind's function does.
Apply = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

VISIBLE_OPACITY = 0.03  # a layer of opacity <= VISIBLE_OPACITY changes a pixel by at most 0.03 (~7.6/255)


COARSE_DROP_RADIUS = 8  # drops of this typical radius (pixels) and more are drawn on a half-resolution grid


def draw_uniform(rng: np.random.Generator, value: float | None, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi)) if value is None else float(value)


def draw_severity(rng: np.random.Generator, value: float | str | None) -> float:
    """The severity in [0, 1]: ``value``; drawn uniformly from [0, 1] when None, or from [lo, hi]
    when ``value`` is a range written ``"lo-hi"`` (``rain(severity=0.5-1)``: medium to heavy)."""
    lo, hi = fraction_range(value, "severity")
    return lo if lo == hi else float(rng.uniform(lo, hi))


def draw_fraction(rng: np.random.Generator, value: float | str, name: str) -> float:
    """A parameter in [0, 1] given as a number, or drawn uniformly from a range written ``"lo-hi"``
    (``rain(veil=0.3-0.9)``); ValueError naming ``name`` otherwise."""
    lo, hi = fraction_range(value, name)
    return lo if lo == hi else float(rng.uniform(lo, hi))


def fraction_range(value: float | str | None, name: str) -> tuple[float, float]:
    """``(lo, hi)`` of a parameter in [0, 1]: a number, ``"lo-hi"`` or None (0 to 1); ValueError
    naming ``name`` if it is none of these or falls outside [0, 1]."""
    if value is None:
        return 0.0, 1.0
    problem = f"{name} must be a number from 0 to 1 or a range such as 0.5-1, got {value!r}"
    if isinstance(value, str):
        parts = value.split("-")
        try:
            lo, hi = (float(parts[0]), float(parts[1])) if len(parts) == 2 else (float("nan"),) * 2
        except ValueError:
            raise ValueError(problem) from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        lo = hi = float(value)
    else:
        raise ValueError(problem)
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(problem)
    return lo, hi


def draw_around(rng: np.random.Generator, value: float | None, lo: float, hi: float, t: float,
            spread: float = 0.15) -> float:
    """``value``, or a draw near the point ``t`` in [0, 1] of [lo, hi] (jittered by ``spread`` of the range)."""
    if value is not None:
        return float(value)
    u = float(np.clip(t + rng.uniform(-spread, spread), 0.0, 1.0))
    return lo + (hi - lo) * u


def draw_geometric(rng: np.random.Generator, value: float | None, lo: float, hi: float, t: float,
               spread: float = 0.15) -> float:
    """Like :func:`draw_around` on a log scale (for counts and densities that span decades)."""
    if value is not None:
        return float(value)
    return float(np.exp(draw_around(rng, None, np.log(lo), np.log(hi), t, spread)))


def draw_maybe(rng: np.random.Generator, value: float | None, p_on: float, lo: float, hi: float) -> float:
    """An optional effect: 0 with probability 1 - p_on, else uniform in [lo, hi]."""
    if value is not None:
        return float(value)
    return float(rng.uniform(lo, hi)) if rng.random() < p_on else 0.0


def expected_count(per_512: float, h: float, w: float, s: float) -> float:
    """The mean number of ``per_512`` items per 512x512 area (in scaled units) on h x w pixels."""
    return max(per_512, 0.0) * h * w / (512.0 * s) ** 2


def draw_count(rng: np.random.Generator, per_512: float, h: float, w: float, s: float) -> int:
    """Poisson count for ``per_512`` items per 512x512 area (in scaled units) on h x w pixels."""
    return int(rng.poisson(expected_count(per_512, h, w, s)))


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an HW or HWC array; wide blurs run on a coarser grid (they leave no fine detail)."""
    if sigma < 0.3:
        return x
    h, w = x.shape[:2]
    k = int(sigma / 2.0)
    if k < 2 or min(h, w) < 8 * k:
        return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101).reshape(x.shape)
    small = cv2.resize(x, (-(-w // k), -(-h // k)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), np.sqrt(max(sigma**2 - 0.25 * k * k, 0.09)) / k,
                             borderType=cv2.BORDER_REFLECT_101)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(x.shape)


def fit_to_shape(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image``, checked to be of the ``shape`` a layer was drawn for (ValueError otherwise)."""
    if image.shape != tuple(shape):
        raise ValueError(f"a weather layer drawn for shape {tuple(shape)} cannot apply to an image of {image.shape}")
    return image


def channel_of(x: np.ndarray, c: int) -> np.ndarray:
    """HW array as HWC with c channels (a real copy for RGB: numpy broadcasting over a last axis of
    3 is several times slower than an elementwise op on same-shape arrays)."""
    return cv2.merge([x, x, x]) if c == 3 else x[..., None]


def filled(h: int, w: int, colour: np.ndarray) -> np.ndarray:
    """HWC image of one colour (per-channel constants broadcast slowly, like channel_of)."""
    planes = [np.full((h, w), v, np.float32) for v in np.asarray(colour, np.float32).tolist()]
    return cv2.merge(planes).reshape(h, w, -1)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = ((x - e0) * (1.0 / max(e1 - e0, 1e-6))).clip(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _kernel(radius: float, half_len: float, angle: float, soft: float | None = None,
            taper: float = 0.0) -> np.ndarray:
    """Peak-1 float32 kernel: a capsule of half-length ``half_len`` along ``angle`` (degrees from
    vertical), Gaussian of sigma ``radius`` across (``soft`` None) or a disc of ``radius`` with an
    edge ``soft`` wide; ``taper`` in [0, 1] dims the ends of the capsule."""
    th = np.deg2rad(angle)
    radius, half_len = max(radius, 0.35), max(half_len, 0.0)
    r = int(np.ceil(half_len + (3.0 * radius if soft is None else radius + soft)))
    g = np.arange(-r, r + 1, dtype=np.float32)
    x, y = g[None, :], g[:, None]
    along = x * np.float32(np.sin(th)) + y * np.float32(np.cos(th))
    across = x * np.float32(np.cos(th)) - y * np.float32(np.sin(th))
    d = np.sqrt(across * across + np.maximum(np.abs(along) - half_len, 0.0) ** 2)
    k = np.exp(-0.5 * (d / radius) ** 2) if soft is None else 1.0 - smoothstep(radius - soft, radius + soft, d)
    if taper > 0 and half_len > 0.5:
        k = k * (1.0 - taper * np.clip(np.abs(along) / half_len, 0.0, 1.0) ** 2)
    return (k / max(float(k.max()), 1e-6)).astype(np.float32)


def _gaussian_row(radius: float) -> np.ndarray:
    """The middle row of ``_kernel(radius, 0, 0)``: a peak-1 float32 Gaussian of sigma ``radius`` out to 3 sigma."""
    radius = max(radius, 0.35)
    r = int(np.ceil(3.0 * radius))
    x = np.abs(np.arange(-r, r + 1, dtype=np.float32))
    return np.exp(-0.5 * (x / radius) ** 2).astype(np.float32)


def _at_least_thin(lo: float, hi: float, radius: float, fade: float) -> tuple[float, float, float]:
    """``(lo, hi, radius)`` of stamps at least 0.4 pixel wide: thinner ones drawn 0.4 wide, their
    opacity range dimmed by ``(radius / 0.4) ** fade``."""
    if radius >= 0.4:
        return lo, hi, radius
    dim = (radius / 0.4) ** fade
    return lo * dim, hi * dim, 0.4


def stamp_spots(rng: np.random.Generator, h: int, w: int, n: int, lo: float, hi: float, radius: float,
           half_len: float = 0.0, angle: float = 0.0, soft: float | None = None, taper: float = 0.0,
           fade: float = 1.0) -> np.ndarray:
    """``n`` random points of opacity in [lo, hi] stamped with a peak-1 :func:`_kernel`; HW in [0, 1].

    Stamps thinner than 0.4 pixel are drawn 0.4 wide and dimmed by (radius / 0.4) ** fade; big
    soft stamps are drawn on a coarser grid and resized up (they have no fine detail)."""
    lo, hi, radius = _at_least_thin(lo, hi, radius, fade)
    f = max(1, int((radius if soft is None else soft) // 2))
    hh, ww = -(-h // f), -(-w // f)
    if n <= 0:
        return np.zeros((h, w), np.float32)
    layer = np.zeros((hh, ww), np.float32)
    ys, xs = rng.integers(0, hh, n), rng.integers(0, ww, n)
    layer[ys, xs] = rng.uniform(lo, hi, n).astype(np.float32)
    if soft is None and half_len == 0:  # a round Gaussian is separable: the same filter in two short passes
        g = _gaussian_row(radius / f)
        layer = cv2.sepFilter2D(layer, -1, g, g, borderType=cv2.BORDER_REFLECT_101)
    else:
        kernel = _kernel(radius / f, half_len / f, angle, None if soft is None else soft / f, taper)
        if kernel.shape[0] > 1:
            layer = cv2.filter2D(layer, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    if f > 1:
        layer = cv2.resize(layer, (ww * f, hh * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return np.clip(layer, 0.0, 1.0)


def draw_streaks(rng: np.random.Generator, h: int, w: int, mean: float, lo: float, hi: float, radius: float,
             half_len: float, angle: float, soft: float | None = None, taper: float = 0.0,
             fade: float = 1.0) -> np.ndarray:
    """Long capsules like :func:`stamp_spots`'s (streaks of rain), about ``mean`` of them per h x w area, of
    opacity in [lo, hi]; HW float32 in [0, 1].

    Drawn in a frame turned by ``angle``, where a streak runs down a column: seeds are spread over
    that frame's picture of the image and its surroundings (so streaks enter from outside),
    summed down the columns over the streak's length (two box sums, from one summed-area table
    each, make a tapered streak's trapezoid), spread by the 1-D cross profile across and by the
    same profile, normalised, along (the ends), then turned back by ``cv2.warpAffine``; a few
    cheap filters instead of one large 2-D filter. The cross profile is Gaussian of sigma
    ``radius`` (``soft`` None) or flat to ``radius`` with an edge ``soft`` wide (averaged over each
    pixel: the width stays 2 * radius when it is under a pixel or two); ``taper`` in
    [0, 1] dims the ends; thinner than 0.4 pixel as :func:`stamp_spots`."""
    lo, hi, radius = _at_least_thin(lo, hi, radius, fade)
    if soft is None:
        cross = _gaussian_row(radius)
    else:  # averaged over each pixel (eight samples): a thin flat profile keeps its width 2 * radius
        m = int(np.ceil(radius + soft))
        x = np.arange(-m, m + 1, dtype=np.float32)[:, None] + (np.arange(8, dtype=np.float32) - 3.5) / 8
        cross = (1.0 - smoothstep(radius - soft, radius + soft, np.abs(x))).mean(axis=1).astype(np.float32)
    m = cross.size // 2
    # the streak's length: its ends fall to half where the capsule's do
    length = max(half_len + (1.18 * radius if soft is None else radius) - 0.5, 0.0)
    short = int(round(taper * length / 3.0)) if taper > 0 else 0  # a trapezoid of the same mean as 1 - taper t^2
    long = max(int(round(length)) - short, 0)
    th = np.deg2rad(angle)
    co, si = float(np.cos(th)), float(np.sin(th))
    mx, my = m + 1, long + short + m + 1
    cw = int(np.ceil(w * abs(co) + h * abs(si))) + 2 * mx
    ch = int(np.ceil(w * abs(si) + h * abs(co))) + 2 * my
    n = int(rng.poisson(max(mean, 0.0) * ch * cw / (h * w)))
    if n == 0:
        return np.zeros((h, w), np.float32)
    canvas = np.zeros((ch, cw), np.float32)
    canvas[rng.integers(0, ch, n), rng.integers(0, cw, n)] = rng.uniform(lo, hi, n).astype(np.float32)
    rows = np.arange(ch)
    # a table's error is about its dtype's epsilon times the canvas's sum (about n * hi in both passes,
    # the short, averaging one first): float32 up to 2000 seeds (under 1/4000), float64 beyond
    depth = cv2.CV_32F if n <= 2000 else cv2.CV_64F
    for reach, scale in ((short, 1.0 / (2 * short + 1)), (long, 1.0)):
        if reach > 0:  # sums over rows y - reach .. y + reach, from the column sums of a summed-area table
            table = cv2.integral(canvas, sdepth=depth)
            above = np.subtract(table[:, 1:], table[:, :-1])  # above[y] = sum of the rows above y
            summed = above.take(np.minimum(rows + reach + 1, ch), axis=0)
            summed -= above.take(np.maximum(rows - reach, 0), axis=0)
            if scale != 1.0:
                summed *= scale
            canvas = summed.astype(np.float32, copy=False)
    canvas = cv2.sepFilter2D(canvas, -1, cross, cross / cross.sum(), borderType=cv2.BORDER_CONSTANT)
    cx, cy, gx, gy = 0.5 * (w - 1), 0.5 * (h - 1), 0.5 * (cw - 1), 0.5 * (ch - 1)
    turn = np.array([[co, -si, gx - co * cx + si * cy], [si, co, gy - si * cx - co * cy]], np.float32)
    layer = cv2.warpAffine(canvas, turn, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    return np.clip(layer, 0.0, 1.0, out=layer)


def low_frequency_field(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Smooth random HW field in [0, 1] with about ``cells`` blobs across the short side."""
    short = min(h, w)
    gh, gw = max(2, int(round(cells * h / short))), max(2, int(round(cells * w / short)))
    f = cv2.resize(rng.random((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(f.min()), float(f.max())
    return (f - lo) / (hi - lo) if hi > lo else np.zeros((h, w), np.float32)


def airlight_colour(rgb: Sequence[float], c: int) -> np.ndarray:
    a = np.asarray(rgb, np.float32)
    return np.float32(0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]).reshape(1) if c == 1 else a


def _outline(X: np.ndarray, Y: np.ndarray, co, si, a, b, w3c, w3s, w4c, w4s) -> tuple[np.ndarray, ...]:
    """``(u, v, rho)`` of offsets X, Y from an irregular ellipse's centre (float32 arrays that broadcast
    together): u, v turned by theta (``co``, ``si`` its cosine and sine), rho the normalised radius (1 on
    the outline, semi-axes ``a``, ``b``). The outline's wobble 1 + h0 cos(3 phi + p3) + h2 cos(4 phi + p4),
    phi the angle of (u / a, v / b), comes from cos(phi) and sin(phi) by the multiple-angle formulas
    (numpy's float32 arctan2 is not vectorised): ``w3c, w3s, w4c, w4s`` are h0 cos p3, h0 sin p3,
    h2 cos p4 and 4 h2 sin p4. Parameters are float32 scalars or arrays (or python floats)."""
    u, v = X * co + Y * si, Y * co - X * si
    un, vn = u / a, v / b
    radial = np.sqrt(un * un + vn * vn)
    inv = 1.0 / np.maximum(radial, np.float32(1e-12))  # at the centre any angle does: rho is 0 there
    c, s = un * inv, vn * inv
    c2 = c * c
    cos2 = 2.0 * c2 - 1.0
    wob = (c * (4.0 * c2 - 3.0)) * w3c + 1.0  # h0 cos(3 phi) cos(p3) - h0 sin(3 phi) sin(p3) + ...
    wob -= (s * (4.0 * c2 - 1.0)) * w3s
    wob += (2.0 * cos2 * cos2 - 1.0) * w4c
    wob -= ((c * s) * cos2) * w4s
    return u, v, radial / wob


def drop_blob(h: int, w: int, cx: float, cy: float, a: float, b: float, theta: float,
          harm: Sequence[float], reach: float, up: float = 0.0):
    """Local frame of an irregular ellipse (semi-axes a, b, rotated by theta) in its bounding box.

    Returns ``(slices, X, Y, u, v, rho)`` or None when the box misses the image: X, Y are offsets
    from the centre (a row and a column: u, v and rho broadcast them), u, v the rotated ones, rho the
    normalised radius (1 on the outline). For a few large blobs; many small ones: :func:`drop_blobs`."""
    x0, y0, nx, ny = (int(v) for v in drop_boxes(h, w, cx, cy, a, b, theta, reach, up))
    if nx == 0 or ny == 0:
        return None
    X = (np.arange(x0, x0 + nx, dtype=np.float32) - np.float32(cx))[None, :]
    Y = (np.arange(y0, y0 + ny, dtype=np.float32) - np.float32(cy))[:, None]
    h0, p3, h2, p4 = (float(x) for x in harm)  # python floats: float32 arrays stay float32
    u, v, rho = _outline(X, Y, np.float32(np.cos(theta)), np.float32(np.sin(theta)), np.float32(a), np.float32(b),
                         h0 * math.cos(p3), h0 * math.sin(p3), h2 * math.cos(p4), 4.0 * h2 * math.sin(p4))
    return (slice(y0, y0 + ny), slice(x0, x0 + nx)), X, Y, u, v, rho


def per_element(count: np.ndarray, *values: np.ndarray) -> np.ndarray:
    """Per-blob values (1-D arrays of length n) as float32 rows of per-element values, each repeated
    ``count`` times (the elements of :func:`drop_blobs`, blob after blob)."""
    return np.repeat(np.stack(values).astype(np.float32), count, axis=1)


class Blobs(NamedTuple):
    """The pixels of many blobs' bounding boxes, flat: blob after blob, row-major within a box (see :func:`drop_blobs`)."""

    blob: np.ndarray  # (N,) intp: the blob each element belongs to
    pix: np.ndarray  # (N,) intp: its pixel, y * w + x
    X: np.ndarray  # (N,) float32: x offset from the blob's centre
    Y: np.ndarray  # (N,) float32: y offset
    u: np.ndarray  # (N,) float32: X, Y turned by the blob's theta
    v: np.ndarray
    rho: np.ndarray  # (N,) float32: the normalised radius, 1 on the outline


def drop_boxes(h: int, w: int, cx: np.ndarray, cy: np.ndarray, a: np.ndarray, b: np.ndarray, theta: np.ndarray,
           reach: float | np.ndarray, up: float | np.ndarray = 0.0) -> tuple[np.ndarray, ...]:
    """The boxes of :func:`drop_blob` for n blobs (1-D parameter arrays) in an h x w image: ``(x0, y0, nx, ny)``,
    intp, the first column and row and the box's width and height (0 where it misses the image)."""
    ext = np.maximum(a, b) * reach + 2.0
    side = ext + np.abs(np.sin(theta)) * up
    x0 = np.maximum(np.floor(cx - side), 0).astype(np.intp)
    x1 = np.minimum(np.ceil(cx + side) + 1, w).astype(np.intp)
    y0 = np.maximum(np.floor(cy - ext - up), 0).astype(np.intp)
    y1 = np.minimum(np.ceil(cy + ext) + 1, h).astype(np.intp)
    return x0, y0, np.maximum(x1 - x0, 0), np.maximum(y1 - y0, 0)


def chunks(count: np.ndarray, limit: int = 1 << 19) -> list[slice]:
    """Runs of consecutive blobs whose boxes (``count`` pixels each) hold at most ``limit`` pixels in
    all (a blob alone may hold more): what :func:`drop_blobs` takes at once, to bound its memory."""
    ends = np.cumsum(count)
    bounds, start = [], 0
    while start < count.size:
        stop = max(int(np.searchsorted(ends, (ends[start - 1] if start else 0) + limit, side="right")), start + 1)
        bounds.append(slice(start, stop))
        start = stop
    return bounds


def drop_blobs(w: int, boxes: tuple[np.ndarray, ...], cx: np.ndarray, cy: np.ndarray, a: np.ndarray, b: np.ndarray,
           theta: np.ndarray, harm: np.ndarray) -> Blobs:
    """:func:`drop_blob` for n blobs at once (1-D float64 parameter arrays of length n, ``harm`` (n, 4)) in an
    image w pixels wide, their ``boxes`` from :func:`drop_boxes` (which the caller has: it takes the blobs in
    :func:`chunks` of them): one pass of numpy operations over all the boxes' pixels, faster than a pass
    per blob for many small blobs (values equal to :func:`drop_blob`'s). A blob whose box misses the image
    has no elements. Memory grows with the boxes' pixels."""
    x0, y0, nx, ny = boxes
    count = nx * ny
    blob = np.repeat(np.arange(count.size), count)
    h0, p3, h2, p4 = harm.T
    # per-element parameters, float32 as the one-blob form has them (python floats against float32 arrays)
    start, nxe, x0e, y0e, cxe, cye, co, si, ae, be, w3c, w3s, w4c, w4s = per_element(
        count, np.cumsum(count) - count, nx, x0, y0, cx, cy, np.cos(theta), np.sin(theta), a, b, h0 * np.cos(p3),
        h0 * np.sin(p3), h2 * np.cos(p4), 4.0 * h2 * np.sin(p4))
    # each element's place in its box, row by row, in float32 (exact: boxes of < 2**24 pixels)
    k = np.arange(blob.size, dtype=np.float32) - start
    ly = np.floor((k + 0.5) / nxe)
    gx, gy = x0e + (k - ly * nxe), y0e + ly
    X, Y = gx - cxe, gy - cye
    u, v, rho = _outline(X, Y, co, si, ae, be, w3c, w3s, w4c, w4s)
    return Blobs(blob, (gy.astype(np.float64) * w + gx).astype(np.intp), X, Y, u, v, rho)
