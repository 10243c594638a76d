"""Raindrops on glass near the lens (the Attentive GAN's degradation); the conventions of
:mod:`agan.data.degradations.weather` (HWC float32 in [0, 1] in, ``(degraded, mask)`` out)."""

from __future__ import annotations

import cv2
import numpy as np

from agan.data.degradations._common import finish, size_scale
from agan.data.degradations.shapes import (
    COARSE_DROP_RADIUS,
    Apply,
    VISIBLE_OPACITY,
    draw_around,
    Blobs,
    drop_blobs,
    drop_boxes,
    chunks,
    per_element,
    channel_of,
    draw_count,
    fit_to_shape,
    gaussian_blur,
    draw_uniform,
    draw_severity,
    smoothstep,
)
from agan.data.image import check_image


def raindrop(
    clean: np.ndarray, rng: np.random.Generator, *, severity: float | str | None = None, count: float | None = None,
    radius: float | None = None, blur: float | None = None, slide: float | None = None,
    highlight: float | None = None, merge: float | None = None, focus: float = 0.0,
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
        focus: where the camera is focused, 0 (on the glass: sharp refracting drops, the default)
            to 1 (on the scene, as in the Raindrop set's photos: each drop a soft, washed-out blob
            showing a heavily blurred view, its rim and highlights smoothed away).

    Returns:
        ``(degraded, mask)``; the mask is 1 on the drops (defocused alpha > 0.03).
    """
    img = np.ascontiguousarray(check_image(clean, "clean"))
    return raindrop_layer(rng, img.shape, size_scale(img), severity=severity, count=count, radius=radius,
                          blur=blur, slide=slide, highlight=highlight, merge=merge, focus=focus)(img)


def raindrop_layer(
    rng: np.random.Generator, shape: tuple[int, ...], s: float, *, severity: float | str | None = None,
    count: float | None = None, radius: float | None = None, blur: float | None = None,
    slide: float | None = None, highlight: float | None = None, merge: float | None = None, focus: float = 0.0,
) -> Apply:
    """The drops of :func:`raindrop` for an HWC image of ``shape`` at size scale ``s``, drawn from
    ``rng`` (as :func:`raindrop` draws them), as a function that applies them to such an image
    (each drop refracts the image it is applied to)."""
    if not 0.0 <= focus <= 1.0:
        raise ValueError(f"focus must be from 0 (on the glass) to 1 (on the scene), got {focus}")
    h, w, c = shape
    sev = draw_severity(rng, severity)
    r0 = max(draw_around(rng, radius, 8, 30, sev) * s, 0.8)
    sig = draw_around(rng, blur, 0.8, 4.0, sev) * s
    p_slide, p_high = draw_uniform(rng, slide, 0.1, 0.4), draw_uniform(rng, highlight, 0.2, 0.7)
    p_merge = draw_uniform(rng, merge, 0.1, 0.35)
    if count is None:  # drops per 512^2 for the coverage: 1 - exp(-n * mean area / area) = cover
        cover = draw_around(rng, None, 0.02, 0.7, sev, 0.1)
        mean_area = np.pi * (r0 / s) ** 2 * 1.9 * (1.0 + 0.35 * p_merge)
        count = -np.log1p(-cover) * 512.0**2 / mean_area
    n = draw_count(rng, float(count), h + 2 * r0, w + 2 * r0, s)
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
    f = 2 if r0 >= COARSE_DROP_RADIUS else 1
    gh, gw = -(-h // f), -(-w // f)
    rad, cxs, cys = rad / f, (cxs - 0.5 * (f - 1)) / f, (cys - 0.5 * (f - 1)) / f
    sq = np.sqrt(qs)
    a_s, b_s = np.where(slid, rad / sq, rad * sq), np.where(slid, rad * sq, rad / sq)
    trail_len = np.where(slid, trail[:, 0] * rad, 0.0)
    mapx, mapy, shade, alpha, spec = _drops(gh, gw, rad, cxs, cys, a_s, b_s, ths, harms, trail_len, slid, trail,
                                           lens, his)
    if f > 1:
        def up(field: np.ndarray) -> np.ndarray:
            return cv2.resize(field, (gw * f, gh * f), interpolation=cv2.INTER_LINEAR)[:h, :w]

        mapx, mapy = up(mapx * f + 0.5 * (f - 1)), up(mapy * f + 0.5 * (f - 1))
        alpha, shade, spec = up(alpha), up(shade), up(spec)
    view_sigma = (0.6 + 1.4 * sev) * s
    lift = 0.0
    if focus > 0:  # the camera focused on the scene: drops near the lens are blurred far more
        shade, spec = 1.0 - (1.0 - shade) * (1.0 - focus), spec * (1.0 - 0.7 * focus)
        sig, view_sigma = sig + focus * 0.35 * r0, view_sigma + focus * 0.6 * r0
        lift = focus * float(rng.uniform(0.05, 0.25))  # washed out by light scattered in the water
    shade3, spec3 = channel_of(shade, c), channel_of(spec, c)
    a = gaussian_blur(alpha, 0.7 * sig + 0.3 * s)
    a3, mask = channel_of(a, c), (a > VISIBLE_OPACITY).astype(np.float32)

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img = np.ascontiguousarray(fit_to_shape(clean, shape))
        view = gaussian_blur(img, view_sigma)  # the refracted scene is out of focus too
        drops = cv2.remap(view, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101).reshape(h, w, c)
        drops = gaussian_blur(drops * shade3 + spec3, sig)
        if lift:
            drops += lift * (1.0 - drops)
        out = img + (drops.clip(0.0, 1.0) - img) * a3
        return finish(out, mask)

    return apply


def _drops(gh: int, gw: int, rad: np.ndarray, cxs: np.ndarray, cys: np.ndarray, a_s: np.ndarray, b_s: np.ndarray,
           ths: np.ndarray, harms: np.ndarray, trail_len: np.ndarray, slid: np.ndarray, trail: np.ndarray,
           lens: np.ndarray, his: np.ndarray) -> tuple[np.ndarray, ...]:
    """The drops drawn on a gh x gw grid (per-drop parameters as :func:`raindrop_layer` draws them, in
    grid units), many at a time: one pass of numpy operations over the boxes of a run of drops.

    Returns ``(mapx, mapy, shade, alpha, spec)``, gh x gw float32: the remap source of every cell (the
    cell itself off the drops), the rim's shading (1 off the drops), the drops' opacity, and the
    specular highlights. Where drops overlap, the most opaque one (the first of equals) gives a
    cell its source and shading, as drawing them one over another in order would."""
    cells = gh * gw
    mapx = np.tile(np.arange(gw, dtype=np.float32), gh)
    mapy = np.repeat(np.arange(gh, dtype=np.float32), gw)
    shade, alpha, spec = np.ones(cells, np.float32), np.zeros(cells, np.float32), np.zeros(cells, np.float32)
    boxes = drop_boxes(gh, gw, cxs, cys, a_s, b_s, ths, 1.2, trail_len)
    count = boxes[2] * boxes[3]
    for run in chunks(count):
        bl = drop_blobs(gw, tuple(x[run] for x in boxes), cxs[run], cys[run], a_s[run], b_s[run], ths[run], harms[run])
        al, srcx, srcy, sh, spot = _drop_fields(bl, count[run], rad[run], cxs[run], cys[run], a_s[run], b_s[run],
                                                trail_len[run], slid[run], trail[run], lens[run], his[run])
        e = bl.blob
        run_alpha = np.zeros(cells, np.float32)
        np.maximum.at(run_alpha, bl.pix, al)
        # a cell's source: the run's first drop of the highest opacity there, if more opaque than earlier runs'
        top = np.flatnonzero((al == run_alpha[bl.pix]) & (al > alpha[bl.pix]))
        first = np.full(cells, count.size, np.intp)
        np.minimum.at(first, bl.pix[top], e[top])
        win = top[e[top] == first[bl.pix[top]]]
        at = bl.pix[win]
        mapx[at], mapy[at], shade[at] = srcx[win], srcy[win], sh[win]
        np.maximum(alpha, run_alpha, out=alpha)
        if spot is not None:
            np.maximum.at(spec, *spot)
    return tuple(x.reshape(gh, gw) for x in (mapx, mapy, shade, alpha, spec))


def _drop_fields(bl: Blobs, count: np.ndarray, rad: np.ndarray, cxs: np.ndarray, cys: np.ndarray, a_s: np.ndarray,
                 b_s: np.ndarray, trail_len: np.ndarray, slid: np.ndarray, trail: np.ndarray, lens: np.ndarray,
                 his: np.ndarray) -> tuple:
    """Per element of ``bl`` (the drops' boxes, ``count`` pixels each): ``(alpha, srcx, srcy, shade, spot)``,
    float32, the drop's opacity, remap source and shading there, and ``spot`` the highlights as
    ``(pixels, values)`` (None without any)."""
    zoom, lns, dx, dy, rim, op = lens.T
    # per-element parameters (float32, as python floats against float32 arrays in a drop-by-drop loop)
    mn, ope, zl, zm, ox, oy, rime = per_element(count, np.minimum(a_s, b_s), op, zoom * lns, zoom, cxs + dx * rad,
                                                  cys + dy * rad, rim)
    rho, X, Y = bl.rho, bl.X, bl.Y
    body = ((1.0 - rho) * mn + 0.5).clip(0.0, 1.0)
    rc = np.minimum(rho, 1.0)
    g = (rc * rc) * zl + zm
    srcx, srcy = ox - g * X, oy - g * Y
    sh = 1.0 - rime * smoothstep(0.45, 1.05, rho)
    al = body * ope
    tails = np.flatnonzero(slid[bl.blob])
    if tails.size:  # trail left above a sliding drop: a thin, horizontally flipped water film
        tw, top, wob_a, wob_f, wob_p = trail[:, 1:].T
        neg_inv_len, neg_len, amp, freq, phase, width, tope, cxe, cye, half_b, dim = per_element(
            count * slid, -1.0 / np.where(slid, trail_len, 1.0), -trail_len, wob_a * a_s, wob_f * 6.3, wob_p, tw * a_s,
            top, cxs, cys, 0.5 * b_s, 0.8 * rim)
        u, v, bt = bl.u[tails], bl.v[tails], body[tails]
        t = (v * neg_inv_len).clip(0.0, 1.0)
        uc = amp * np.sin(freq * t + phase) * t
        hw = width * (1.0 - t) ** 0.7
        du = np.abs(u - uc)
        tail = (hw - du + 0.5).clip(0.0, 1.0) * ((v < 0) & (v > neg_len)) * (tope * (1.0 - 0.5 * t))
        in_tail = tail > bt
        al[tails] = np.maximum(al[tails], tail * ope[tails])
        at = tails[in_tail]
        srcx[at] = (cxe + uc - 2.0 * (u - uc))[in_tail]
        srcy[at] = (cye + Y[tails] - half_b)[in_tail]
        sh[at] = (1.0 - dim * (du / np.maximum(hw, 0.5)).clip(0, 1) ** 2)[in_tail]
    spot = None
    lit = np.flatnonzero(his[bl.blob] > 0)
    if lit.size:
        k, sx, sy, hi = per_element(count * (his > 0), -0.5 / np.maximum(0.15 * rad, 0.5) ** 2, 0.3 * rad,
                                     0.35 * rad, his)
        spot = bl.pix[lit], hi * (np.exp((X[lit] + sx) ** 2 * k) * np.exp((Y[lit] + sy) ** 2 * k)) * body[lit]
    return al, srcx, srcy, sh, spot
