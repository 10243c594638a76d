"""Weather degradations, each ``(clean, rng, **params) -> (degraded, mask)``.

Convention: ``clean`` is HWC float32 in [0, 1], 1 (grey) or 3 (RGB) channels;
``rng`` (a ``numpy.random.Generator``) is the only source of randomness, so the
same seed gives a bit-identical pair; ``degraded`` has the shape and dtype of
``clean`` and is clipped to [0, 1]; ``mask`` is HW float32 in [0, 1], 1 where
the image was corrupted. A parameter left as ``None`` is drawn from ``rng``
within the range its docstring gives. Each kind ``K`` also has a form
``K_layer(rng, shape, s, **params)`` that draws everything for an image of ``shape``
at size scale ``s`` first (none of the draws depends on the pixels) and returns a
function that applies it: ``K(clean, rng)`` is ``K_layer(rng, clean.shape, s)(clean)``,
and one draw can degrade several images of that shape (see :data:`LAYERS`).

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
rain        12.6 / 17.8 / 29.8     75 %
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

from typing import Callable, Sequence

import cv2
import numpy as np

from agan.data.degradations._common import finish, size_scale
from agan.data.degradations.shapes import (
    VISIBLE_OPACITY,
    Apply,
    airlight_colour,
    draw_around,
    drop_blob,
    channel_of,
    draw_count,
    draw_fraction,
    expected_count,
    filled,
    fit_to_shape,
    draw_geometric,
    low_frequency_field,
    draw_uniform,
    draw_severity,
    smoothstep,
    stamp_spots,
    draw_streaks,
)
from agan.data.degradations.raindrop import raindrop as raindrop  # re-exported: a weather kind
from agan.data.degradations.raindrop import raindrop_layer
from agan.data.image import check_image

_LONG_STREAK = 6.0  # streaks of this half-length (pixels) and more are drawn by draw_streaks, shorter ones by stamp_spots


def rain(
    clean: np.ndarray, rng: np.random.Generator, *, severity: float | str | None = None, angle: float | None = None,
    density: float | None = None, length: float | None = None, width: float | None = None,
    brightness: float | None = None, layers: int | None = None, veil: float | str | None = None,
    airlight: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rain: streak layers at angles spread around one direction, and a rain-accumulation veil.

    The recipe of the Rain100H and Outdoor-Rain sets (Yang et al. 2017, Li et al. 2019): each
    layer is sparse random seeds motion-blurred into lines (long ones drawn down the columns of a
    frame turned to their direction, then turned back) and screen-blended;
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
            A range ``"lo-hi"`` draws it uniformly (``rain(veil=0.3-0.9)``: rain under a thick
            veil, as Outdoor-Rain's, whose global transmission is 0.25 to 0.5).
        airlight: grey level of A; default drawn from [0.25, 0.95], mostly bright.

    Returns:
        ``(degraded, mask)``; the mask is 1 on the streaks (opacity > 0.03), max'd with 1 - t.
    """
    img = check_image(clean, "clean")
    return rain_layer(rng, img.shape, size_scale(img), severity=severity, angle=angle, density=density,
                      length=length, width=width, brightness=brightness, layers=layers, veil=veil,
                      airlight=airlight)(img)


def rain_layer(
    rng: np.random.Generator, shape: tuple[int, ...], s: float, *, severity: float | str | None = None,
    angle: float | None = None, density: float | None = None, length: float | None = None,
    width: float | None = None, brightness: float | None = None, layers: int | None = None,
    veil: float | str | None = None, airlight: float | None = None,
) -> Apply:
    """The rain of :func:`rain` for an HWC image of ``shape`` at size scale ``s``, drawn from ``rng``
    (as :func:`rain` draws it), as a function that applies it to such an image."""
    h, w, c = shape
    sev = draw_severity(rng, severity)
    ang, dens = draw_uniform(rng, angle, -30, 30), draw_geometric(rng, density, 250, 400, sev)
    ln, wd = draw_geometric(rng, length, 20, 150, sev, 0.25) * s, draw_around(rng, width, 1.2, 3.0, sev) * s
    br = draw_around(rng, brightness, 0.45, 0.8, sev)
    nl = max(1, int(round(draw_around(rng, None, 2, 3, sev))) if layers is None else int(layers))
    if veil is not None:
        vl = draw_fraction(rng, veil, "veil")
    else:
        vl = draw_around(rng, None, 0.0, 0.35, (sev - 0.3) / 0.7) if sev > 0.3 and rng.random() < 0.6 else 0.0
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
        ai, mean = ang + rng.normal(0.0, spread), expected_count(dens * (1 + 1.5 * f), h, w, s)
        radius, soft, taper = 0.5 * wd * (1 - 0.5 * f), 0.3 if crisp else None, 0.0 if crisp else 0.7
        if half >= _LONG_STREAK:
            layer = draw_streaks(rng, h, w, mean, 0.4, 1.0, radius, half, ai, soft, taper, fade=0.5)
        else:
            layer = stamp_spots(rng, h, w, int(rng.poisson(mean)), 0.4, 1.0, radius, half, ai, soft, taper, fade=0.5)
        layer *= np.float32(br * (1 - 0.45 * f) * rng.uniform(0.9, 1.1))
        keep *= 1.0 - np.clip(layer, 0.0, 1.0)
    keep3 = channel_of(keep, c)
    mask = (1.0 - keep > VISIBLE_OPACITY).astype(np.float32)
    v3 = a = None
    if vl > 0:
        a = np.float32(airlight if airlight is not None else 0.95 - 0.7 * rng.random() ** 2)
        haze_amount = vl * _depth(rng, h, w) ** np.float32(rng.uniform(0.7, 1.5))
        v3 = channel_of(haze_amount, c)
        mask = np.maximum(mask, haze_amount)

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = 1.0 - (1.0 - fit_to_shape(clean, shape)) * keep3
        if v3 is not None:
            out += v3 * (a - out)
        return finish(out, mask)

    return apply


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
    return snow_layer(rng, img.shape, size_scale(img), severity=severity, flakes=flakes, size=size, veil=veil,
                      angle=angle, motion=motion)(img)


def snow_layer(
    rng: np.random.Generator, shape: tuple[int, ...], s: float, *, severity: float | str | None = None,
    flakes: float | None = None, size: float | None = None, veil: float | None = None,
    angle: float | None = None, motion: float | None = None,
) -> Apply:
    """The snow of :func:`snow` for an HWC image of ``shape`` at size scale ``s``, drawn from ``rng``
    (as :func:`snow` draws it), as a function that applies it to such an image."""
    h, w, c = shape
    sev = draw_severity(rng, severity)
    fl, sz = draw_geometric(rng, flakes, 400, 3000, sev), draw_around(rng, size, 3, 8, sev) * s
    vl = draw_around(rng, veil, 0.0, 0.25, sev) if veil is not None or rng.random() < sev else 0.0
    ang, mo = draw_uniform(rng, angle, -25, 25), draw_around(rng, motion, 0, 14, sev, 0.3) * s
    white = np.float32(rng.uniform(0.9, 1.0))
    # (share of flakes, radius, soft edge or None for Gaussian, motion share, opacity range), far to near
    spec = ((0.45, 0.1, None, 0.3, (0.2, 0.6)), (0.25, 0.18, None, 0.4, (0.3, 0.8)),
            (0.15, 0.3, None, 0.5, (0.4, 0.9)), (0.09, 0.5, 0.4, 0.7, (0.4, 0.85)),
            (0.045, 0.8, 0.5, 0.9, (0.35, 0.75)), (0.015, 1.6, 0.9, 1.0, (0.15, 0.4)))
    keep = np.ones((h, w), np.float32)  # product of (1 - layer): layers all blend towards white
    for share, rad, soft, msh, (lo, hi) in spec:
        r = rad * sz * rng.uniform(0.85, 1.15)
        n, ai = draw_count(rng, fl * share, h, w, s), ang + rng.normal(0.0, 4.0)
        layer = stamp_spots(rng, h, w, n, lo, hi, r, 0.5 * mo * msh, ai, None if soft is None else soft * r)
        keep *= 1.0 - layer
    k3 = channel_of(keep, c)
    snow_white = white * (1.0 - k3)
    mask = (1.0 - keep > VISIBLE_OPACITY).astype(np.float32)
    if vl > 0:
        mask = np.maximum(mask, vl)

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = fit_to_shape(clean, shape) * k3 + snow_white
        if vl > 0:
            out = out * (1 - vl) + vl * white
        return finish(out, mask)

    return apply


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
    return dust_layer(rng, img.shape, size_scale(img), severity=severity, spots=spots, size=size,
                      particles=particles, haze=haze)(img)


def dust_layer(
    rng: np.random.Generator, shape: tuple[int, ...], s: float, *, severity: float | str | None = None,
    spots: float | None = None, size: float | None = None, particles: float | None = None,
    haze: float | None = None,
) -> Apply:
    """The dust of :func:`dust` for an HWC image of ``shape`` at size scale ``s``, drawn from ``rng``
    (as :func:`dust` draws it), as a function that applies it to such an image."""
    h, w, c = shape
    sev = draw_severity(rng, severity)
    per, r0 = draw_geometric(rng, spots, 4, 40, sev), max(draw_around(rng, size, 8, 35, sev) * s, 0.7)
    npart = draw_geometric(rng, particles, 60, 600, sev)
    hz = draw_around(rng, haze, 0.05, 0.5, sev) if haze is not None or rng.random() < 0.8 * sev else 0.0
    strength = 0.8 + 0.6 * sev  # scales the blotches' opacity
    dark, light = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    for _ in range(draw_count(rng, per, h + 2 * r0, w + 2 * r0, s)):
        r = max(r0 * float(np.clip(np.exp(rng.normal(0.0, 0.5)), 0.3, 2.5)), 0.7)
        cx, cy = rng.uniform(-r0, w + r0), rng.uniform(-r0, h + r0)
        q, theta = np.exp(rng.uniform(-0.35, 0.35)), rng.uniform(0, np.pi)
        harm = (rng.uniform(0, 0.12), rng.uniform(0, 6.3), rng.uniform(0, 0.1), rng.uniform(0, 6.3))
        soft, is_dark = rng.uniform(0.5, 1.2), rng.random() < 0.65
        op = min((rng.uniform(0.08, 0.4) if is_dark else rng.uniform(0.06, 0.3)) * strength, 0.9)
        ring = rng.uniform(0.3, 0.8) if rng.random() < 0.3 else 0.0
        box = drop_blob(h, w, cx, cy, r * np.sqrt(q), r / np.sqrt(q), theta, harm, 1.0 + soft)
        if box is None:
            continue
        sl, _, _, _, _, rho = box
        al = 1.0 - smoothstep(1.0 - 0.5 * soft, 1.0 + 0.5 * soft, rho)
        if ring:
            al = al * (1.0 - ring + ring * smoothstep(0.3, 0.9, rho))
        layer = dark if is_dark else light
        layer[sl] += (op * al) * (1.0 - layer[sl])
    n = draw_count(rng, npart, h, w, s)
    fine, coarse = rng.uniform(0.6, 1.0), rng.uniform(1.5, 3.0)  # speck radii at 512
    for rad, share, (lo, hi) in ((fine, 0.7, (0.15, 0.5)), (coarse, 0.3, (0.1, 0.35))):
        m = int(round(share * n))
        dark = 1.0 - (1.0 - dark) * (1.0 - stamp_spots(rng, h, w, int(0.75 * m), lo, hi, rad * s))
        light = 1.0 - (1.0 - light) * (1.0 - stamp_spots(rng, h, w, m - int(0.75 * m), lo, 0.8 * hi, rad * s))
    tone = filled(h, w, airlight_colour(np.array([0.95, 0.92, 0.85]) * rng.uniform(0.8, 1.0), c))
    keep3, light3 = channel_of(1.0 - dark, c), channel_of(light, c)
    mask = (1.0 - (1.0 - dark) * (1.0 - light) > VISIBLE_OPACITY).astype(np.float32)
    A = v3 = None
    if hz > 0:
        A = filled(h, w, airlight_colour(np.array([0.75, 0.65, 0.45]) + rng.uniform(-0.05, 0.05, 3), c))
        veil = np.full((h, w), hz, np.float32)
        if rng.random() < 0.5:
            veil *= 0.6 + 0.8 * low_frequency_field(rng, h, w, rng.uniform(1.5, 4.0))
        veil = np.clip(veil, 0.0, 1.0)
        v3 = channel_of(veil, c)
        mask = np.maximum(mask, veil)

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = fit_to_shape(clean, shape) * keep3
        out += light3 * (tone - out)
        if v3 is not None:
            out = out * (1.0 - v3) + A * v3
        return finish(out, mask)

    return apply


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
    d = 1.0 - (1.0 - near) * ramp + amp * (low_frequency_field(rng, gh, gw, rng.uniform(2.0, 5.0)) - 0.5)
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
    return haze_layer(rng, img.shape, size_scale(img), beta=beta, airlight=airlight)(img)


def haze_layer(rng: np.random.Generator, shape: tuple[int, ...], s: float, *, beta: float | None = None,
               airlight: float | None = None) -> Apply:
    """The haze of :func:`haze` for an HWC image of ``shape`` (``s`` unused: haze has no sizes),
    drawn from ``rng`` (as :func:`haze` draws it), as a function that applies it to such an image."""
    h, w, c = shape
    b, a = draw_uniform(rng, beta, 0.3, 1.5), draw_uniform(rng, airlight, 0.7, 1.0)
    t = np.exp(-b * _depth(rng, h, w)).astype(np.float32)
    A = np.full(c, a, np.float32) if c == 1 else np.float32(a) + rng.uniform(-0.03, 0.03, 3).astype(np.float32)
    t3 = channel_of(t, c)
    airlight_part = filled(h, w, np.clip(A, 0.0, 1.0)) * (1.0 - t3)

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return finish(fit_to_shape(clean, shape) * t3 + airlight_part, 1.0 - t)

    return apply


_KINDS = {"haze": haze_layer, "rain": rain_layer, "snow": snow_layer, "raindrop": raindrop_layer,
          "dust": dust_layer}  # scene to lens order


def _kind_names(kinds: str | Sequence[str], what: str) -> set[str]:
    names = kinds.replace("|", ",").replace("/", ",").split(",") if isinstance(kinds, str) else list(kinds)
    picked = {str(n).strip() for n in names if str(n).strip()}
    unknown = picked - set(_KINDS)
    if unknown or not picked:
        raise ValueError(f"unknown weather kinds {sorted(unknown)} in {what}; known: {', '.join(_KINDS)}")
    return picked


def weather_mix(
    clean: np.ndarray, rng: np.random.Generator, *, kinds: int | str | Sequence[str] | None = None,
    among: str | Sequence[str] | None = None, focus: float | str = 0.0,
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
        focus: the raindrops' focus (see :func:`agan.data.degradations.raindrop.raindrop`): 0
            sharp drops on the glass (the default), 1 soft out-of-focus blobs as in real photos of
            drops, or ``random``: uniform in [0, 1] for each image.

    Returns:
        ``(degraded, mask)``; the mask is the element-wise maximum of the kinds' masks.
    """
    img = check_image(clean, "clean")
    return weather_mix_layer(rng, img.shape, size_scale(img), kinds=kinds, among=among, focus=focus)(img)


def weather_mix_layer(
    rng: np.random.Generator, shape: tuple[int, ...], s: float, *, kinds: int | str | Sequence[str] | None = None,
    among: str | Sequence[str] | None = None, focus: float | str = 0.0,
) -> Apply:
    """The weather of :func:`weather_mix` for an HWC image of ``shape`` at size scale ``s``, drawn from
    ``rng`` (as :func:`weather_mix` draws it), as a function that applies it to such an image."""
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
    if focus != "random" and not (isinstance(focus, (int, float)) and 0.0 <= focus <= 1.0):
        raise ValueError(f"focus must be from 0 (drops on the glass) to 1 (on the scene), or random; got {focus!r}")
    layers = []
    for name, draw in _KINDS.items():
        if name == "raindrop" and name in picked and focus != 0:  # focus 0 draws exactly as before
            layers.append(draw(rng, shape, s, focus=float(rng.uniform()) if focus == "random" else float(focus)))
        elif name in picked:
            layers.append(draw(rng, shape, s))

    def apply(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out, mask = fit_to_shape(clean, shape), np.zeros(shape[:2], np.float32)
        for layer in layers:
            out, m = layer(out)
            mask = np.maximum(mask, m)
        return finish(out, mask)

    return apply


#: The layer function of each weather kind (see :data:`agan.data.degradations.WEATHER_KINDS`).
LAYERS: dict[str, Callable[..., Apply]] = {**_KINDS, "weather-mix": weather_mix_layer}
