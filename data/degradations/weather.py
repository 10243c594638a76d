"""Weather degradations, each ``(clean, rng, **params) -> (degraded, mask)``.

Convention: ``clean`` is HWC float32 in [0, 1], 1 (grey) or 3 (RGB) channels;
``rng`` (a ``numpy.random.Generator``) is the only source of randomness, so the
same seed gives a bit-identical pair; ``degraded`` has the shape and dtype of
``clean`` and is clipped to [0, 1]; ``mask`` is HW float32 in [0, 1], 1 where
the image was corrupted. A parameter left as ``None`` is drawn from ``rng``
within the range its docstring gives.

Each sparse kind (raindrop, rain, snow, dust) takes one ``severity`` in [0, 1]
(0 light, 1 heavy) that sets the centre of every other parameter's range; by
default it is drawn uniformly per image, so one training run sees light and
heavy weather; ``severity=0.5-1`` draws it from a range instead. A parameter given explicitly overrides what severity implies.
How strong the defaults are (``scripts/weather_stats.py``: input PSNR on Y, p10 / p50 / p90
over 20 BSDS432 photos; share of pixels changed by more than 30/255, p90):

==========  =====================  ===========
kind        PSNR Y (dB)            affected
==========  =====================  ===========
raindrop    17.3 / 23.0 / 31.2     39 %
rain        12.2 / 18.2 / 29.9     71 %
snow        14.2 / 19.8 / 29.6     70 %
dust        19.1 / 28.7 / 40.2     75 %
==========  =====================  ===========

Real rain for comparison (medians): Rain12 28.6 dB, Rain100L 29.4 dB, Rain100H-style
(jorder_small) 13.4 dB, Outdoor-Rain (heavy rain and haze) 15.6 dB.

Sizes (radii, lengths, widths) are in pixels at a 512-pixel short side and are
multiplied by :func:`size_scale`; counts are per 512x512 area in those units,
so a 256x256 image, a 1024x1024 one and a crop of a photo look alike. For the
sparse kinds (raindrop, rain, snow, dust) the mask is binary and covers every
pixel the drops, streaks, flakes or spots changed by more than ~8/255; a
veil or haze adds its strength ``1 - t`` to the mask.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ._common import check_image, finish, size_scale

_THR = 0.03  # a layer of opacity <= _THR changes a pixel by at most 0.03 (~7.6/255)
_COARSE_DROPS = 8  # drops of this typical radius (pixels) and more are drawn on a half-resolution grid


def _pick(rng: np.random.Generator, value: float | None, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi)) if value is None else float(value)


def _severity(rng: np.random.Generator, value: float | str | None) -> float:
    """The severity in [0, 1]: ``value``; drawn uniformly from [0, 1] when None, or from [lo, hi]
    when ``value`` is a range written ``"lo-hi"`` (``rain(severity=0.5-1)``: medium to heavy)."""
    lo, hi = _severity_range(value)
    return lo if lo == hi else float(rng.uniform(lo, hi))


def _severity_range(value: float | str | None) -> tuple[float, float]:
    """``(lo, hi)`` of a severity value: a number, ``"lo-hi"`` or None (0 to 1); ValueError if outside [0, 1]."""
    if value is None:
        return 0.0, 1.0
    problem = f"severity must be a number from 0 to 1 or a range such as 0.5-1, got {value!r}"
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


def _around(rng: np.random.Generator, value: float | None, lo: float, hi: float, t: float,
            spread: float = 0.15) -> float:
    """``value``, or a draw near the point ``t`` in [0, 1] of [lo, hi] (jittered by ``spread`` of the range)."""
    if value is not None:
        return float(value)
    u = float(np.clip(t + rng.uniform(-spread, spread), 0.0, 1.0))
    return lo + (hi - lo) * u


def _geometric(rng: np.random.Generator, value: float | None, lo: float, hi: float, t: float,
               spread: float = 0.15) -> float:
    """Like :func:`_around` on a log scale (for counts and densities that span decades)."""
    if value is not None:
        return float(value)
    return float(np.exp(_around(rng, None, np.log(lo), np.log(hi), t, spread)))


def _maybe(rng: np.random.Generator, value: float | None, p_on: float, lo: float, hi: float) -> float:
    """An optional effect: 0 with probability 1 - p_on, else uniform in [lo, hi]."""
    if value is not None:
        return float(value)
    return float(rng.uniform(lo, hi)) if rng.random() < p_on else 0.0


def _count(rng: np.random.Generator, per_512: float, h: float, w: float, s: float) -> int:
    """Poisson count for ``per_512`` items per 512x512 area (in scaled units) on h x w pixels."""
    return int(rng.poisson(max(per_512, 0.0) * h * w / (512.0 * s) ** 2))


def _gblur(x: np.ndarray, sigma: float) -> np.ndarray:
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


def _chan(x: np.ndarray, c: int) -> np.ndarray:
    """HW array as HWC with c channels (a real copy for RGB: numpy broadcasting over a last axis of
    3 is several times slower than an elementwise op on same-shape arrays)."""
    return cv2.merge([x, x, x]) if c == 3 else x[..., None]


def _fill(h: int, w: int, colour: np.ndarray) -> np.ndarray:
    """HWC image of one colour (per-channel constants broadcast slowly, like _chan)."""
    planes = [np.full((h, w), v, np.float32) for v in np.asarray(colour, np.float32).tolist()]
    return cv2.merge(planes).reshape(h, w, -1)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
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
    k = np.exp(-0.5 * (d / radius) ** 2) if soft is None else 1.0 - _smoothstep(radius - soft, radius + soft, d)
    if taper > 0 and half_len > 0.5:
        k = k * (1.0 - taper * np.clip(np.abs(along) / half_len, 0.0, 1.0) ** 2)
    return (k / max(float(k.max()), 1e-6)).astype(np.float32)


def _stamp(rng: np.random.Generator, h: int, w: int, n: int, lo: float, hi: float, radius: float,
           half_len: float = 0.0, angle: float = 0.0, soft: float | None = None, taper: float = 0.0,
           fade: float = 1.0) -> np.ndarray:
    """``n`` random points of opacity in [lo, hi] stamped with a peak-1 :func:`_kernel`; HW in [0, 1].

    Stamps thinner than 0.4 pixel are drawn 0.4 wide and dimmed by (radius / 0.4) ** fade; big
    soft stamps are drawn on a coarser grid and resized up (they have no fine detail)."""
    if radius < 0.4:
        lo, hi, radius = lo * (radius / 0.4) ** fade, hi * (radius / 0.4) ** fade, 0.4
    f = max(1, int((radius if soft is None else soft) // 2))
    hh, ww = -(-h // f), -(-w // f)
    if n <= 0:
        return np.zeros((h, w), np.float32)
    layer = np.zeros((hh, ww), np.float32)
    ys, xs = rng.integers(0, hh, n), rng.integers(0, ww, n)
    layer[ys, xs] = rng.uniform(lo, hi, n).astype(np.float32)
    kernel = _kernel(radius / f, half_len / f, angle, None if soft is None else soft / f, taper)
    if kernel.shape[0] > 1:
        layer = cv2.filter2D(layer, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    if f > 1:
        layer = cv2.resize(layer, (ww * f, hh * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return np.clip(layer, 0.0, 1.0)


def _lowfreq(rng: np.random.Generator, h: int, w: int, cells: float) -> np.ndarray:
    """Smooth random HW field in [0, 1] with about ``cells`` blobs across the short side."""
    short = min(h, w)
    gh, gw = max(2, int(round(cells * h / short))), max(2, int(round(cells * w / short)))
    f = cv2.resize(rng.random((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(f.min()), float(f.max())
    return (f - lo) / (hi - lo) if hi > lo else np.zeros((h, w), np.float32)


def _airlight(rgb: Sequence[float], c: int) -> np.ndarray:
    a = np.asarray(rgb, np.float32)
    return np.float32(0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]).reshape(1) if c == 1 else a


def _blob(h: int, w: int, cx: float, cy: float, a: float, b: float, theta: float,
          harm: Sequence[float], reach: float, up: float = 0.0):
    """Local frame of an irregular ellipse (semi-axes a, b, rotated by theta) in its bounding box.

    Returns ``(slices, X, Y, u, v, rho)`` or None when the box misses the image: X, Y are offsets
    from the centre, u, v the rotated ones, rho the normalised radius (1 on the outline)."""
    ext = max(a, b) * reach + 2.0
    side = ext + abs(np.sin(theta)) * up
    x0, x1 = max(int(np.floor(cx - side)), 0), min(int(np.ceil(cx + side)) + 1, w)
    y0, y1 = max(int(np.floor(cy - ext - up)), 0), min(int(np.ceil(cy + ext)) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    X = (np.arange(x0, x1, dtype=np.float32) - np.float32(cx))[None, :]
    Y = (np.arange(y0, y1, dtype=np.float32) - np.float32(cy))[:, None]
    co, si = np.float32(np.cos(theta)), np.float32(np.sin(theta))
    u, v = X * co + Y * si, Y * co - X * si
    un, vn = u / np.float32(a), v / np.float32(b)
    phi = np.arctan2(vn, un)
    wob = 1.0 + harm[0] * np.cos(3 * phi + harm[1]) + harm[2] * np.cos(4 * phi + harm[3])
    rho = np.sqrt(un * un + vn * vn) / wob
    return (slice(y0, y1), slice(x0, x1)), X, Y, u, v, rho


def raindrop(
    clean: np.ndarray, rng: np.random.Generator, *, severity: float | str | None = None, count: float | None = None,
    radius: float | None = None, blur: float | None = None, slide: float | None = None,
    highlight: float | None = None, merge: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Raindrops on a glass pane in front of the camera (Qian et al., CVPR 2018).

    Each drop is an irregular ellipse (some elongated and sliding, with a tapering trail above;
    some merged with one or two neighbours) showing a flipped, shrunk, fisheye and blurred view
    of the scene around it (one ``cv2.remap``), with a dark rim and sometimes a specular
    highlight; the drop layer and its alpha are defocused, as drops near the lens are.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        severity: 0 (a few small drops over ~2 % of the picture) to 1 (large drops over about
            half of it, as in the Raindrop set's heaviest photos); default drawn from [0, 1].
        count: drops per 512x512 area; default the number that covers the share of the picture
            the severity implies (2 % to 70 %), given the drop sizes.
        radius: typical drop radius in pixels at a 512 short side, 8 to 30 by severity (sizes
            spread log-normally around it, x0.3 to x2.8, up to 64: a drop at most about a sixth
            of a 3:2 photo's width across).
        blur: defocus sigma in pixels at 512, 0.8 to 4 by severity.
        slide: fraction of elongated sliding drops with a trail; default drawn from [0.1, 0.4].
        highlight: fraction of drops with a specular highlight; default drawn from [0.2, 0.7].
        merge: fraction of drops merged with one or two smaller neighbours; default drawn from [0.1, 0.35].

    Returns:
        ``(degraded, mask)``; the mask is 1 on the drops (defocused alpha > 0.03).
    """
    img = np.ascontiguousarray(check_image(clean, "clean"))
    h, w, c = img.shape
    s = size_scale(img)
    sev = _severity(rng, severity)
    r0 = max(_around(rng, radius, 8, 30, sev) * s, 0.8)
    sig = _around(rng, blur, 0.8, 4.0, sev) * s
    p_slide, p_high = _pick(rng, slide, 0.1, 0.4), _pick(rng, highlight, 0.2, 0.7)
    p_merge = _pick(rng, merge, 0.1, 0.35)
    if count is None:  # drops per 512^2 for the coverage: 1 - exp(-n * mean area / area) = cover
        cover = _around(rng, None, 0.02, 0.7, sev, 0.1)
        mean_area = np.pi * (r0 / s) ** 2 * 1.9 * (1.0 + 0.35 * p_merge)
        count = -np.log1p(-cover) * 512.0**2 / mean_area
    n = _count(rng, float(count), h + 2 * r0, w + 2 * r0, s)
    # per-drop parameters, drawn at once: radius, centre, shape wobble, sliding and trail, lens
    rad = np.clip(r0 * np.clip(np.exp(rng.normal(0.0, 0.55, n)), 0.3, 2.8), 0.8, 64.0 * s)
    cxs, cys = rng.uniform(-r0, w + r0, n), rng.uniform(-r0, h + r0, n)
    # merged drops: one or two smaller neighbours overlapping each chosen drop
    merged = np.flatnonzero(rng.random(n) < p_merge)
    if merged.size:
        host = np.concatenate([merged, merged[rng.random(merged.size) < 0.5]])
        small = rad[host] * rng.uniform(0.4, 0.9, host.size)
        turn = rng.uniform(0.0, 2 * np.pi, host.size)
        reach = 0.75 * (rad[host] + small)
        rad = np.concatenate([rad, small])
        cxs = np.concatenate([cxs, cxs[host] + reach * np.cos(turn)])
        cys = np.concatenate([cys, cys[host] + reach * np.sin(turn)])
        n = rad.size
    harms = rng.random((n, 4)) * [0.07, 6.3, 0.05, 6.3]
    slid = rng.random(n) < p_slide
    qs = np.where(slid, rng.uniform(1.15, 1.7, n), np.exp(rng.uniform(-0.3, 0.3, n)))
    ths = np.where(slid, np.deg2rad(rng.normal(0.0, 5.0, n)), rng.uniform(0.0, np.pi, n))
    trail = rng.random((n, 6)) * [3.5, 0.35, 0.4, 0.3, 3.0, 6.3] + [1.5, 0.35, 0.5, 0.0, 1.0, 0.0]
    lens = rng.random((n, 6)) * [1.5, 0.6, 0.8, 0.8, 0.3, 0.15] + [1.5, 0.3, -0.4, -0.4, 0.2, 0.85]
    his = np.where(rng.random(n) < p_high, rng.uniform(0.3, 0.7, n), 0.0)
    # Drops of 8 pixels or more are drawn on a grid of half the resolution, in its units (the
    # drop layer is defocused afterwards anyway): cell j is the centre of pixels f*j .. f*j+f-1.
    f = 2 if r0 >= _COARSE_DROPS else 1
    gh, gw = -(-h // f), -(-w // f)
    rad, cxs, cys = rad / f, (cxs - 0.5 * (f - 1)) / f, (cys - 0.5 * (f - 1)) / f
    mapx = np.tile(np.arange(gw, dtype=np.float32), (gh, 1))
    mapy = np.repeat(np.arange(gh, dtype=np.float32)[:, None], gw, axis=1)
    alpha = np.zeros((gh, gw), np.float32)
    shade = np.ones((gh, gw), np.float32)
    spec = np.zeros((gh, gw), np.float32)
    for i in range(n):
        r, cx, cy, q, theta, hi = (arr[i].item() for arr in (rad, cxs, cys, qs, ths, his))
        sliding = bool(slid[i])
        L, tw, top, wob_a, wob_f, wob_p = (trail[i] * [r, 1, 1, 1, 1, 1]).tolist() if sliding else (0.0,) * 6
        zoom, lns, dx, dy, rim, op = lens[i].tolist()
        a, b = (r / q**0.5, r * q**0.5) if sliding else (r * q**0.5, r / q**0.5)
        box = _blob(gh, gw, cx, cy, a, b, theta, harms[i].tolist(), 1.2, L)
        if box is None:
            continue
        sl, X, Y, u, v, rho = box
        body = ((1.0 - rho) * min(a, b) + 0.5).clip(0.0, 1.0)
        rc = np.minimum(rho, 1.0)
        g = (rc * rc) * (zoom * lns) + zoom
        srcx, srcy = (cx + dx * r) - g * X, (cy + dy * r) - g * Y
        sh = 1.0 - rim * _smoothstep(0.45, 1.05, rho)
        al = body * op
        if sliding:  # trail left above the drop: a thin, horizontally flipped water film
            t = (v * (-1.0 / L)).clip(0.0, 1.0)
            uc = wob_a * a * np.sin(wob_f * 6.3 * t + wob_p) * t
            hw = tw * a * (1.0 - t) ** 0.7
            du = np.abs(u - uc)
            tail = (hw - du + 0.5).clip(0.0, 1.0) * ((v < 0) & (v > -L)) * (top * (1.0 - 0.5 * t))
            in_tail = tail > body
            al = np.maximum(al, tail * op)
            np.copyto(srcx, cx + uc - 2.0 * (u - uc), where=in_tail)
            np.copyto(srcy, cy + Y - 0.5 * b, where=in_tail)
            np.copyto(sh, 1.0 - 0.8 * rim * (du / np.maximum(hw, 0.5)).clip(0, 1) ** 2, where=in_tail)
        take = al > alpha[sl]
        np.copyto(mapx[sl], srcx, where=take)
        np.copyto(mapy[sl], srcy, where=take)
        np.copyto(shade[sl], sh, where=take)
        if hi > 0:
            k = -0.5 / max(0.15 * r, 0.5) ** 2
            spot = np.exp((X + 0.3 * r) ** 2 * k) * np.exp((Y + 0.35 * r) ** 2 * k)
            np.maximum(spec[sl], hi * spot * body, out=spec[sl])
        np.maximum(alpha[sl], al, out=alpha[sl])
    if f > 1:
        def up(field: np.ndarray) -> np.ndarray:
            return cv2.resize(field, (gw * f, gh * f), interpolation=cv2.INTER_LINEAR)[:h, :w]

        mapx, mapy = up(mapx * f + 0.5 * (f - 1)), up(mapy * f + 0.5 * (f - 1))
        alpha, shade, spec = up(alpha), up(shade), up(spec)
    view = _gblur(img, (0.6 + 1.4 * sev) * s)  # the refracted scene is out of focus too
    drops = cv2.remap(view, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101).reshape(h, w, c)
    drops = _gblur(drops * _chan(shade, c) + _chan(spec, c), sig)
    a = _gblur(alpha, 0.7 * sig + 0.3 * s)
    a3 = _chan(a, c)
    out = img + (drops.clip(0.0, 1.0) - img) * a3
    return finish(out, (a > _THR).astype(np.float32))


def rain(
    clean: np.ndarray, rng: np.random.Generator, *, severity: float | str | None = None, angle: float | None = None,
    density: float | None = None, length: float | None = None, width: float | None = None,
    brightness: float | None = None, layers: int | None = None, veil: float | None = None,
    airlight: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rain: streak layers at angles spread around one direction, and a rain-accumulation veil.

    The recipe of the Rain100H and Outdoor-Rain sets (Yang et al. 2017, Li et al. 2019): each
    layer is sparse random seeds motion-blurred into lines (``cv2.filter2D``) and screen-blended;
    far layers are denser, shorter, thinner and fainter. Half the images have crisp streaks
    (parallel, untapered, flat across, as in Rain100H), the others soft natural ones (tapered,
    blurred across, their directions spread by a few degrees; in heavier rain up to three times
    as many, finer and fainter). Above severity 0.3, 60 % of the
    images also get a veil ``I = J*t + A*(1 - t)`` whose transmission ``t`` falls with the depth
    of a synthetic scene (far above the horizon, near at the bottom).

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        severity: 0 (light rain, as Rain12: ~30 dB) to 1 (a downpour behind a veil, as
            Rain100H and Outdoor-Rain: ~14 dB); default drawn from [0, 1].
        angle: fall direction in degrees from vertical (positive leans right at the bottom);
            default drawn from [-30, 30].
        density: streaks of the nearest layer per 512x512 area, 250 to 400 by severity.
        length: nearest streak length (the motion blur) in pixels at 512, 20 to 150 by severity (the
            streaks of Rain100H-style downpours reach across a third of the picture).
        width: nearest streak width in pixels at 512, 1.2 to 3 by severity.
        brightness: peak opacity of the nearest streaks, 0.45 to 0.8 by severity.
        layers: number of depth layers, 2 to 3 by severity.
        veil: 1 - t at the far end of the scene; 0 up to severity 0.3, then up to 0.35 (or 0).
        airlight: grey level of A; default drawn from [0.25, 0.95], mostly bright.

    Returns:
        ``(degraded, mask)``; the mask is 1 on the streaks (opacity > 0.03), max'd with 1 - t.
    """
    img = check_image(clean, "clean")
    h, w, c = img.shape
    s = size_scale(img)
    sev = _severity(rng, severity)
    ang, dens = _pick(rng, angle, -30, 30), _geometric(rng, density, 250, 400, sev)
    ln, wd = _geometric(rng, length, 20, 150, sev, 0.25) * s, _around(rng, width, 1.2, 3.0, sev) * s
    br = _around(rng, brightness, 0.45, 0.8, sev)
    nl = max(1, int(round(_around(rng, None, 2, 3, sev))) if layers is None else int(layers))
    veiled = veil is not None or (sev > 0.3 and rng.random() < 0.6)
    vl = _around(rng, veil, 0.0, 0.35, (sev - 0.3) / 0.7) if veiled else 0.0
    # half the images get crisp streaks (parallel, untapered, flat across: the Rain100H look),
    # the others soft natural ones (tapered, blurred across, directions spread by a few degrees),
    # which in a downpour are finer, fainter and far more numerous (as in real heavy-rain photos)
    crisp = rng.random() < 0.5
    spread = rng.uniform(0.0, 1.0) if crisp else rng.uniform(2.0, 8.0)  # degrees between layers
    if not crisp:
        dens, wd, br = dens * (1 + 2 * sev), wd * (1 - 0.3 * sev), br * (1 - 0.25 * sev)
    keep = np.ones((h, w), np.float32)  # product of (1 - layer)
    for i in range(nl):
        f = i / max(nl - 1, 1)  # 0 nearest, 1 farthest
        half = 0.5 * ln * (1 - 0.6 * f) * rng.uniform(0.85, 1.15)
        ai, n = ang + rng.normal(0.0, spread), _count(rng, dens * (1 + 1.5 * f), h, w, s)
        radius = 0.5 * wd * (1 - 0.5 * f)
        layer = _stamp(rng, h, w, n, 0.4, 1.0, radius, half, ai, soft=0.3 if crisp else None,
                       taper=0.0 if crisp else 0.7, fade=0.5)
        layer *= np.float32(br * (1 - 0.45 * f) * rng.uniform(0.9, 1.1))
        keep *= 1.0 - np.clip(layer, 0.0, 1.0)
    out = 1.0 - (1.0 - img) * _chan(keep, c)
    mask = (1.0 - keep > _THR).astype(np.float32)
    if vl > 0:
        a = np.float32(airlight if airlight is not None else 0.95 - 0.7 * rng.random() ** 2)
        haze_amount = vl * _depth(rng, h, w) ** np.float32(rng.uniform(0.7, 1.5))
        v3 = _chan(haze_amount, c)
        out += v3 * (a - out)
        mask = np.maximum(mask, haze_amount)
    return finish(out, mask)


def snow(
    clean: np.ndarray, rng: np.random.Generator, *, severity: float | str | None = None, flakes: float | None = None,
    size: float | None = None, veil: float | None = None, angle: float | None = None, motion: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Falling snow in three size classes (fine, medium, large out-of-focus flakes), with a veil.

    The classes of the Snow100K masks (S, M, L), each in two depth layers: many small faint
    far flakes and fine streaks, fewer mid ones, and few large, soft, translucent near flakes;
    each layer is stamped with a capsule kernel (motion blur along the fall direction) and
    alpha-blended towards near-white, far layers first; heavier snow whitens the scene.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        severity: 0 (a few flakes, ~30 dB) to 1 (a blizzard behind a whitening veil);
            default drawn from [0, 1].
        flakes: flakes per 512x512 area, all layers, 150 to 5000 by severity.
        size: radius of the largest near flakes in pixels at 512, 2.5 to 9 by severity.
        veil: v of out*(1 - v) + v*white; 0 with probability 1 - severity, else up to 0.4.
        angle: fall direction in degrees from vertical; default drawn from [-25, 25].
        motion: motion-streak length of the near flakes in pixels at 512, 0 to 14 by severity.

    Returns:
        ``(degraded, mask)``; the mask is 1 on the flakes (opacity > 0.03), max'd with ``veil``.
    """
    img = check_image(clean, "clean")
    h, w, c = img.shape
    s = size_scale(img)
    sev = _severity(rng, severity)
    fl, sz = _geometric(rng, flakes, 400, 3000, sev), _around(rng, size, 3, 8, sev) * s
    vl = _around(rng, veil, 0.0, 0.25, sev) if veil is not None or rng.random() < sev else 0.0
    ang, mo = _pick(rng, angle, -25, 25), _around(rng, motion, 0, 14, sev, 0.3) * s
    white = np.float32(rng.uniform(0.9, 1.0))
    # (share of flakes, radius, soft edge or None for Gaussian, motion share, opacity range), far to near
    spec = ((0.45, 0.1, None, 0.3, (0.2, 0.6)), (0.25, 0.18, None, 0.4, (0.3, 0.8)),
            (0.15, 0.3, None, 0.5, (0.4, 0.9)), (0.09, 0.5, 0.4, 0.7, (0.4, 0.85)),
            (0.045, 0.8, 0.5, 0.9, (0.35, 0.75)), (0.015, 1.6, 0.9, 1.0, (0.15, 0.4)))
    keep = np.ones((h, w), np.float32)  # product of (1 - layer): layers all blend towards white
    for share, rad, soft, msh, (lo, hi) in spec:
        r = rad * sz * rng.uniform(0.85, 1.15)
        n, ai = _count(rng, fl * share, h, w, s), ang + rng.normal(0.0, 4.0)
        layer = _stamp(rng, h, w, n, lo, hi, r, 0.5 * mo * msh, ai, None if soft is None else soft * r)
        keep *= 1.0 - layer
    k3 = _chan(keep, c)
    out = img * k3 + white * (1.0 - k3)
    mask = (1.0 - keep > _THR).astype(np.float32)
    if vl > 0:
        out = out * (1 - vl) + vl * white
        mask = np.maximum(mask, vl)
    return finish(out, mask)


def dust(
    clean: np.ndarray, rng: np.random.Generator, *, severity: float | str | None = None, spots: float | None = None,
    size: float | None = None, particles: float | None = None, haze: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dust and dirt on the lens: defocused dark and light blotches, fine specks, optional dusty haze.

    Blobs are irregular soft ellipses of many sizes (some ring-shaped like out-of-focus sensor
    dust), blended towards black (dark) or a pale tone (light); the haze is I = J*t + A*(1 - t)
    with a brownish yellow airlight A near RGB (0.75, 0.65, 0.45) (its luminance for grey) and t
    uniform or slowly varying.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        severity: 0 (a few faint specks) to 1 (a dirty lens under a dusty haze); default drawn
            from [0, 1].
        spots: blobs per 512x512 area, 2 to 40 by severity.
        size: typical blob radius in pixels at 512 (spread x0.3 to x2.5), 6 to 35 by severity.
        particles: fine specks per 512x512 area, 20 to 600 by severity.
        haze: mean 1 - t; 0 with probability 1 - 0.8 * severity, else 0.05 to 0.5 by severity.

    Returns:
        ``(degraded, mask)``; the mask is 1 on blobs and specks (opacity > 0.03), max'd with 1 - t.
    """
    img = np.ascontiguousarray(check_image(clean, "clean"))
    h, w, c = img.shape
    s = size_scale(img)
    sev = _severity(rng, severity)
    per, r0 = _geometric(rng, spots, 4, 40, sev), max(_around(rng, size, 8, 35, sev) * s, 0.7)
    npart = _geometric(rng, particles, 60, 600, sev)
    hz = _around(rng, haze, 0.05, 0.5, sev) if haze is not None or rng.random() < 0.8 * sev else 0.0
    strength = 0.8 + 0.6 * sev  # scales the blotches' opacity
    dark, light = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    for _ in range(_count(rng, per, h + 2 * r0, w + 2 * r0, s)):
        r = max(r0 * float(np.clip(np.exp(rng.normal(0.0, 0.5)), 0.3, 2.5)), 0.7)
        cx, cy = rng.uniform(-r0, w + r0), rng.uniform(-r0, h + r0)
        q, theta = np.exp(rng.uniform(-0.35, 0.35)), rng.uniform(0, np.pi)
        harm = (rng.uniform(0, 0.12), rng.uniform(0, 6.3), rng.uniform(0, 0.1), rng.uniform(0, 6.3))
        soft, is_dark = rng.uniform(0.5, 1.2), rng.random() < 0.65
        op = min((rng.uniform(0.08, 0.4) if is_dark else rng.uniform(0.06, 0.3)) * strength, 0.9)
        ring = rng.uniform(0.3, 0.8) if rng.random() < 0.3 else 0.0
        box = _blob(h, w, cx, cy, r * np.sqrt(q), r / np.sqrt(q), theta, harm, 1.0 + soft)
        if box is None:
            continue
        sl, _, _, _, _, rho = box
        al = 1.0 - _smoothstep(1.0 - 0.5 * soft, 1.0 + 0.5 * soft, rho)
        if ring:
            al = al * (1.0 - ring + ring * _smoothstep(0.3, 0.9, rho))
        layer = dark if is_dark else light
        layer[sl] += (op * al) * (1.0 - layer[sl])
    n = _count(rng, npart, h, w, s)
    fine, coarse = rng.uniform(0.6, 1.0), rng.uniform(1.5, 3.0)  # speck radii at 512
    for rad, share, (lo, hi) in ((fine, 0.7, (0.15, 0.5)), (coarse, 0.3, (0.1, 0.35))):
        m = int(round(share * n))
        dark = 1.0 - (1.0 - dark) * (1.0 - _stamp(rng, h, w, int(0.75 * m), lo, hi, rad * s))
        light = 1.0 - (1.0 - light) * (1.0 - _stamp(rng, h, w, m - int(0.75 * m), lo, 0.8 * hi, rad * s))
    tone = _fill(h, w, _airlight(np.array([0.95, 0.92, 0.85]) * rng.uniform(0.8, 1.0), c))
    out = img * _chan(1.0 - dark, c)
    out += _chan(light, c) * (tone - out)
    mask = (1.0 - (1.0 - dark) * (1.0 - light) > _THR).astype(np.float32)
    if hz > 0:
        A = _fill(h, w, _airlight(np.array([0.75, 0.65, 0.45]) + rng.uniform(-0.05, 0.05, 3), c))
        veil = np.full((h, w), hz, np.float32)
        if rng.random() < 0.5:
            veil *= 0.6 + 0.8 * _lowfreq(rng, h, w, rng.uniform(1.5, 4.0))
        veil = np.clip(veil, 0.0, 1.0)
        v3 = _chan(veil, c)
        out = out * (1.0 - v3) + A * v3
        mask = np.maximum(mask, veil)
    return finish(out, mask)


def _depth(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A synthetic scene depth, HW float32 in [0, 1]: far (1) above a random, slightly tilted
    horizon, falling towards the bottom of the image, plus low-frequency random variation."""
    horizon, near = rng.uniform(0.2, 0.6), rng.uniform(0.0, 0.35)
    gamma, tilt, amp = rng.uniform(0.6, 1.6), rng.uniform(-0.15, 0.15), rng.uniform(0.08, 0.25)
    # a smooth field: computed on a grid of at most 128 rows and resized
    k = max(1, min(h, w) // 128)
    gh, gw = -(-h // k), -(-w // k)
    yy = np.linspace(0.0, 1.0, gh, dtype=np.float32)[:, None]
    yy = yy + np.float32(tilt) * np.linspace(-0.5, 0.5, gw, dtype=np.float32)[None, :]
    ramp = np.clip((yy - horizon) / (1.0 - horizon), 0.0, 1.0) ** np.float32(gamma)
    d = 1.0 - (1.0 - near) * ramp + amp * (_lowfreq(rng, gh, gw, rng.uniform(2.0, 5.0)) - 0.5)
    d = np.clip(d, 0.0, 1.0).astype(np.float32)
    return d if k == 1 else cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)


def haze(
    clean: np.ndarray, rng: np.random.Generator, *, beta: float | None = None, airlight: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Atmospheric haze I = J*t + A*(1 - t), t = exp(-beta*d), on a synthetic depth map.

    The depth d in [0, 1] is far (1) above a random, slightly tilted horizon and falls towards
    the bottom of the image, plus low-frequency random variation.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        beta: scattering coefficient; default drawn from [0.3, 1.5] (far transmission 0.74 to 0.22).
        airlight: grey level of A (RGB gets a faint random tint); default drawn from [0.7, 1.0].

    Returns:
        ``(degraded, mask)``; the mask is 1 - t (soft).
    """
    img = check_image(clean, "clean")
    h, w, c = img.shape
    b, a = _pick(rng, beta, 0.3, 1.5), _pick(rng, airlight, 0.7, 1.0)
    t = np.exp(-b * _depth(rng, h, w)).astype(np.float32)
    A = np.full(c, a, np.float32) if c == 1 else np.float32(a) + rng.uniform(-0.03, 0.03, 3).astype(np.float32)
    t3 = _chan(t, c)
    out = img * t3 + _fill(h, w, np.clip(A, 0.0, 1.0)) * (1.0 - t3)
    return finish(out, 1.0 - t)


_KINDS = {"haze": haze, "rain": rain, "snow": snow, "raindrop": raindrop, "dust": dust}  # scene to lens order


def _kind_names(kinds: str | Sequence[str], what: str) -> set[str]:
    names = kinds.replace("|", ",").replace("/", ",").split(",") if isinstance(kinds, str) else list(kinds)
    picked = {str(n).strip() for n in names if str(n).strip()}
    unknown = picked - set(_KINDS)
    if unknown or not picked:
        raise ValueError(f"unknown weather kinds {sorted(unknown)} in {what}; known: {', '.join(_KINDS)}")
    return picked


def weather_mix(
    clean: np.ndarray, rng: np.random.Generator, *, kinds: int | str | Sequence[str] | None = None,
    among: str | Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One or two weather kinds with random parameters, applied in physical order.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        kinds: how many kinds to draw (an int), or the kinds themselves (a list, or a string
            joined by ``|``, ``,`` or ``/``); default 1 or 2.
            Kinds run scene first (haze, rain, snow) and lens last (raindrop, dust).
        among: the kinds a number of ``kinds`` is drawn from (same forms as a list of
            kinds); default all five: raindrop, rain, snow, dust, haze. E.g.
            ``weather-mix(kinds=1,among=raindrop|rain|snow|dust)`` gives each image one
            of the four sparse kinds.

    Returns:
        ``(degraded, mask)``; the mask is the element-wise maximum of the kinds' masks.
    """
    img = check_image(clean, "clean")
    if kinds is None or isinstance(kinds, (int, np.integer)):
        allowed = set(_KINDS) if among is None else _kind_names(among, "among")
        pool = [name for name in _KINDS if name in allowed]
        k = int(rng.integers(1, min(2, len(pool)) + 1)) if kinds is None else int(kinds)
        if not 1 <= k <= len(pool):
            raise ValueError(f"kinds must be between 1 and {len(pool)}, got {k}")
        picked = set(np.asarray(pool)[rng.choice(len(pool), size=k, replace=False)].tolist())
    else:
        if among is not None:
            raise ValueError("among= applies to a number of kinds, not to named kinds")
        picked = _kind_names(kinds, "kinds")
    out, mask = img, np.zeros(img.shape[:2], np.float32)
    for name, fn in _KINDS.items():
        if name in picked:
            out, m = fn(out, rng)
            mask = np.maximum(mask, m)
    return finish(out, mask)
