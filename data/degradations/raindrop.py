"""Raindrops on glass near the lens (the Attentive GAN's degradation); the conventions of
:mod:`agan.data.degradations.weather` (HWC float32 in [0, 1] in, ``(degraded, mask)`` out)."""

from __future__ import annotations

import cv2
import numpy as np

from agan.data.degradations._common import finish, size_scale
from agan.data.degradations._shapes import (
    _COARSE_DROPS,
    Apply,
    _THR,
    _around,
    _blob,
    _chan,
    _count,
    _fits,
    _gblur,
    _pick,
    _severity,
    _smoothstep,
)
from agan.data.image import check_image


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
    return raindrop_layer(rng, img.shape, size_scale(img), severity=severity, count=count, radius=radius,
                          blur=blur, slide=slide, highlight=highlight, merge=merge)(img)


def raindrop_layer(
    rng: np.random.Generator, shape: tuple[int, ...], s: float, *, severity: float | str | None = None,
    count: float | None = None, radius: float | None = None, blur: float | None = None,
    slide: float | None = None, highlight: float | None = None, merge: float | None = None,
) -> Apply:
    """The drops of :func:`raindrop` for an HWC image of ``shape`` at size scale ``s``, drawn from
    ``rng`` (as :func:`raindrop` draws them), as a function that applies them to such an image
    (each drop refracts the image it is applied to)."""
    h, w, c = shape
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
    per_drop = zip(rad.tolist(), cxs.tolist(), cys.tolist(), qs.tolist(), ths.tolist(), his.tolist(), slid.tolist(),
                   trail.tolist(), lens.tolist(), harms.tolist())
    for r, cx, cy, q, theta, hi, sliding, drop_trail, drop_lens, harm in per_drop:
        L, tw, top, wob_a, wob_f, wob_p = [drop_trail[0] * r, *drop_trail[1:]] if sliding else (0.0,) * 6
        zoom, lns, dx, dy, rim, op = drop_lens
        a, b = (r / q**0.5, r * q**0.5) if sliding else (r * q**0.5, r / q**0.5)
        box = _blob(gh, gw, cx, cy, a, b, theta, harm, 1.2, L)
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
    shade3, spec3 = _chan(shade, c), _chan(spec, c)
    a = _gblur(alpha, 0.7 * sig + 0.3 * s)
    a3, mask = _chan(a, c), (a > _THR).astype(np.float32)
    view_sigma = (0.6 + 1.4 * sev) * s

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img = np.ascontiguousarray(_fits(clean, shape))
        view = _gblur(img, view_sigma)  # the refracted scene is out of focus too
        drops = cv2.remap(view, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101).reshape(h, w, c)
        drops = _gblur(drops * shade3 + spec3, sig)
        out = img + (drops.clip(0.0, 1.0) - img) * a3
        return finish(out, mask)

    return apply
