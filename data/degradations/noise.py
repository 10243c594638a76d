"""Synthetic noise and artefacts, each ``(clean, rng, **params) -> (degraded, mask)``.

Convention: ``clean`` is HWC float32 in [0, 1], 1 (grey) or 3 (RGB) channels;
``degraded`` has the same shape and dtype and is clipped to [0, 1] (Gaussian
noise can skip the clip with ``clip=False``); ``mask`` is HW float32 in [0, 1],
1 where a pixel was corrupted: all ones for dense noise (Gaussian, speckle,
Poisson, JPEG, blur), the flipped pixels or drawn strokes for the sparse kinds.
Noise levels are on the 0-255 scale (``sigma=25`` means 25/255). A parameter
left as ``None`` is drawn from ``rng`` within the range its docstring gives.
"""

from __future__ import annotations

import cv2
import numpy as np

from agan.data.degradations._common import finish, size_scale
from agan.data.degradations._poisson import TOP as _EXACT_BELOW
from agan.data.degradations._poisson import small_poisson
from agan.data.image import check_image
from agan.data.io import bytes_to_unit, to_uint

#: Poisson counts of at least this mean are drawn from the normal approximation.
POISSON_NORMAL_FROM = float(_EXACT_BELOW)


def _dense_mask(image: np.ndarray) -> np.ndarray:
    return np.ones(image.shape[:2], np.float32)


def _draw(rng: np.random.Generator, low: float, high: float, value: float | None) -> float:
    return float(rng.uniform(low, high)) if value is None else float(value)


def check_sigma_range(low: float, high: float) -> None:
    """ValueError unless ``0 <= low <= high`` (a range of noise levels on the 0-255 scale)."""
    if not 0 <= low <= high:
        raise ValueError(f"the noise level range must have 0 <= low <= high, got low={low}, high={high}")


def gaussian(
    clean: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None, clip: bool = True,
    low: float = 5.0, high: float = 50.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Additive white Gaussian noise, independent per pixel and channel.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        sigma: standard deviation on the 0-255 scale; default drawn from [``low``, ``high``].
        clip: clip to [0, 1] like a real photo. The published denoising tables
            (DnCNN, BM3D on Set12/BSD68) do not clip: ``clip=False`` reproduces them.
        low, high: the range sigma is drawn from (5 to 50; a blind denoiser's 0 to 55, as CDnCNN-B's).

    Returns:
        ``(degraded, mask)``; the mask is all ones.
    """
    clean = check_image(clean)
    check_sigma_range(low, high)
    sigma = _draw(rng, low, high, sigma)
    noise = rng.standard_normal(clean.shape, dtype=np.float32)
    noise *= np.float32(sigma / 255.0)
    return finish(clean + noise, _dense_mask(clean), clip=clip)


def salt_pepper(
    clean: np.ndarray,
    rng: np.random.Generator,
    *,
    amount: float | None = None,
    salt_ratio: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Impulse noise: a fraction of pixels (all channels together) set to 1 or 0.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        amount: fraction of pixels flipped; default drawn from [0.02, 0.15].
        salt_ratio: fraction of flipped pixels set to white; default 0.5.

    Returns:
        ``(degraded, mask)``; the mask is 1 on flipped pixels.
    """
    clean = check_image(clean)
    amount = _draw(rng, 0.02, 0.15, amount)
    salt_ratio = 0.5 if salt_ratio is None else float(salt_ratio)
    draw = rng.random(clean.shape[:2], dtype=np.float32)
    flipped = draw < amount
    salt = draw < amount * salt_ratio
    degraded = clean.copy()
    degraded[flipped] = 0.0
    degraded[salt] = 1.0
    return finish(degraded, flipped.astype(np.float32))


def speckle(
    clean: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative Gaussian noise: ``clean * (1 + n)``, ``n ~ N(0, sigma/255)``.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        sigma: standard deviation of ``n`` on the 0-255 scale; default drawn from [10, 60].

    Returns:
        ``(degraded, mask)``; the mask is all ones.
    """
    clean = check_image(clean)
    sigma = _draw(rng, 10, 60, sigma)
    noise = rng.standard_normal(clean.shape, dtype=np.float32)
    noise *= np.float32(sigma / 255.0)
    return finish(clean + clean * noise, _dense_mask(clean))


def poisson(
    clean: np.ndarray, rng: np.random.Generator, *, peak: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shot noise: photon counts ``Poisson(clean * peak) / peak``.

    Counts of mean 12 or more are drawn from the normal approximation
    ``round(lam + sqrt(lam) * N(0, 1))`` (an exact sampler is several times
    slower than the rest of a training patch); smaller means exactly
    (:func:`agan.data.degradations._poisson.small_poisson`).

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        peak: photons at full white; lower is noisier. Default drawn
            log-uniformly from [10, 200] (a dim indoor shot to daylight).

    Returns:
        ``(degraded, mask)``; the mask is all ones.
    """
    clean = check_image(clean)
    peak = float(np.exp(rng.uniform(np.log(10), np.log(200)))) if peak is None else float(peak)
    if peak <= 0:
        raise ValueError(f"poisson peak must be positive, got {peak}")
    counts = photon_counts(np.clip(clean, 0, 1) * np.float32(peak), rng)
    return finish(counts / np.float32(peak), _dense_mask(clean))


def photon_counts(lam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts of means ``lam`` (float32 array of any shape), as float32: exact below
    :data:`POISSON_NORMAL_FROM` (:func:`~agan.data.degradations._poisson.small_poisson`),
    ``max(round(lam + sqrt(lam) * N(0, 1)), 0)`` from there up, one normal draw from ``rng`` per such count."""
    flat = np.ascontiguousarray(lam).ravel()
    below = flat < POISSON_NORMAL_FROM
    if below.all():  # a dim shot: every count exact, no normal draws
        return small_poisson(lam, rng).astype(np.float32)
    # the counts gathered and put back by index: numpy's boolean-mask indexing is 2-3x slower
    low, high = np.flatnonzero(below), np.flatnonzero(~below)
    bright = np.take(flat, high)
    normal = rng.standard_normal(bright.shape, dtype=np.float32)
    normal *= np.sqrt(bright)
    normal += bright
    counts = np.empty(flat.shape, np.float32)
    np.put(counts, high, np.maximum(np.rint(normal, out=normal), 0, out=normal))
    if low.size:
        np.put(counts, low, small_poisson(np.take(flat, low), rng))
    return counts.reshape(lam.shape)


#: Bernstein weights of a quadratic Bezier at 32 points: ``points = _BEZIER @ [start, control, end]``.
_T = np.linspace(0.0, 1.0, 32)[:, None]
_BEZIER = np.hstack([(1 - _T) ** 2, 2 * (1 - _T) * _T, _T**2])


def _stroke_points(draws: np.ndarray, h: int, w: int) -> np.ndarray:
    """Gently curved strokes from five uniform draws in [0, 1) each, ``(S, 5)``: quadratic Beziers
    as int polylines, ``(S, 32, 2)`` (x, y)."""
    length_u, angle_u, x_u, y_u, bend_u = draws.T
    length = (0.2 + 0.6 * length_u) * max(h, w)
    angle = np.pi * angle_u
    dx, dy = np.cos(angle), np.sin(angle)
    sx, sy = x_u * w, y_u * h
    ex, ey = sx + dx * length, sy + dy * length
    bend = (0.6 * bend_u - 0.3) * length
    control = ((sx + ex) / 2 - dy * bend, (sy + ey) / 2 + dx * bend)
    ends = np.stack([np.stack([sx, sy], -1), np.stack(control, -1), np.stack([ex, ey], -1)], 1)  # (S, 3, 2)
    return np.round(_BEZIER @ ends).astype(np.int32)


def scribble(
    clean: np.ndarray,
    rng: np.random.Generator,
    *,
    lines: int | None = None,
    thickness: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dark strokes across the image, like scratches or pen marks.

    Each stroke is a gently curved line of random length (20-80 % of the long
    side), angle, thickness and darkness (ink 0-0.25, opacity 0.7-1),
    antialiased.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        lines: number of strokes; default drawn from 3-6.
        thickness: stroke width in pixels at a 512-pixel short side; default
            drawn per stroke from [1.5, 6].

    Returns:
        ``(degraded, mask)``; the mask is 1 on the strokes.
    """
    clean = check_image(clean)
    h, w = clean.shape[:2]
    count = int(rng.integers(3, 7)) if lines is None else int(lines)
    degraded, mask = clean.copy(), np.zeros((h, w), np.float32)
    draw_strokes(degraded, mask, rng.random((count, 8)), size_scale(clean), thickness)
    return finish(degraded, (mask > 0).astype(np.float32))


def stroke_shapes(draws: np.ndarray, h: int, w: int, scale: float | np.ndarray, thickness: float | None = None
                  ) -> tuple[np.ndarray, list[int], np.ndarray, np.ndarray]:
    """The strokes of :func:`scribble` on an ``h`` x ``w`` image from their uniform draws.

    Args:
        draws: ``(S, 8)`` uniform draws in [0, 1), a row per stroke: 5 for its shape, then its
            width, ink and opacity.
        scale: :func:`size_scale` of the image, or one per stroke.
        thickness: stroke width in pixels at a 512-pixel short side; default from the draws.

    Returns:
        ``(points, widths, inks, opacities)``: int32 polylines ``(S, 32, 2)`` (x, y), widths in
        pixels (at least 1), and float32 inks (0-0.25) and opacities (0.7-1).
    """
    widths = (1.5 + 4.5 * draws[:, 5] if thickness is None else np.full(len(draws), float(thickness))) * scale
    return (_stroke_points(draws[:, :5], h, w), np.maximum(np.round(widths), 1).astype(int).tolist(),
            (0.25 * draws[:, 6]).astype(np.float32), (0.7 + 0.3 * draws[:, 7]).astype(np.float32))


def draw_strokes(image: np.ndarray, mask: np.ndarray, draws: np.ndarray, scale: float,
                 thickness: float | None = None) -> None:
    """Draw :func:`scribble`'s strokes (:func:`stroke_shapes` of ``draws``) into ``image`` (HWC float32
    in [0, 1]) and their coverage into ``mask`` (HW float32), in place, one after another."""
    h, w = mask.shape
    for points, width, ink, opacity in zip(*stroke_shapes(draws, h, w, scale, thickness)):
        # Drawn and blended only inside the stroke's bounding box (with room for its width and
        # antialiasing), on a canvas of that size: most strokes cover a small part of the image.
        reach = width // 2 + 2
        x, y, bw, bh = cv2.boundingRect(points)
        x0, y0, x1, y1 = max(x - reach, 0), max(y - reach, 0), min(x + bw + reach, w), min(y + bh + reach, h)
        if x1 <= x0 or y1 <= y0:
            continue
        stroke = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.polylines(stroke, [points - np.int32((x0, y0))], False, 1.0, width, cv2.LINE_AA)
        box = (slice(y0, y1), slice(x0, x1))
        area = image[box]
        area += (stroke * opacity)[..., None] * (ink - area)
        np.maximum(mask[box], stroke, out=mask[box])


def jpeg(
    clean: np.ndarray, rng: np.random.Generator, *, quality: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """JPEG compression artefacts (OpenCV's encoder, 4:2:0 chroma for colour).

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        quality: JPEG quality 1-100; default drawn from 10-60.

    Returns:
        ``(degraded, mask)``; the mask is all ones.
    """
    clean = check_image(clean)
    quality = int(rng.integers(10, 61)) if quality is None else int(quality)
    check_jpeg_quality(quality)
    as_uint8 = to_uint(clean)
    if as_uint8.shape[2] == 3:
        as_uint8 = cv2.cvtColor(as_uint8, cv2.COLOR_RGB2BGR)
    decoded = jpeg_round_trip(as_uint8, quality)
    if decoded.shape[2] == 3:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return finish(bytes_to_unit(decoded), _dense_mask(clean))


def check_jpeg_quality(quality: int) -> None:
    """ValueError unless ``quality`` is a JPEG quality, 1-100."""
    if not 1 <= quality <= 100:
        raise ValueError(f"jpeg quality must be in 1..100, got {quality}")


def jpeg_round_trip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """``pixels`` (HWC uint8, grey or BGR) encoded as a JPEG of ``quality`` by OpenCV and decoded: HWC uint8."""
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).reshape(pixels.shape)


def blur(
    clean: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian defocus blur.

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        sigma: blur standard deviation in pixels (not scaled with size);
            default drawn from [0.5, 2.5].

    Returns:
        ``(degraded, mask)``; the mask is all ones.
    """
    clean = check_image(clean)
    sigma = _draw(rng, 0.5, 2.5, sigma)
    return finish(gaussian_blur(clean, sigma), _dense_mask(clean))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (HWC float32) blurred by a Gaussian of ``sigma`` pixels, borders reflected: HWC float32."""
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101).reshape(image.shape)


_MIXABLE = {
    "gaussian": gaussian,
    "salt-pepper": salt_pepper,
    "speckle": speckle,
    "poisson": poisson,
    "scribble": scribble,
    "jpeg": jpeg,
    "blur": blur,
}
# Blur acts first and JPEG last, as in a camera pipeline; the rest in between.
_PIPELINE_ORDER = ("blur", "poisson", "gaussian", "speckle", "salt-pepper", "scribble", "jpeg")


def mix_pool(among: str | None) -> tuple[str, ...]:
    """The kinds :func:`noise_mix` draws from, in pipeline order: all of them, or those named in
    ``among`` (joined by ``|``, ``,`` or ``/``); ValueError naming an unknown one."""
    if among is None:
        return _PIPELINE_ORDER
    named = {n.strip() for n in str(among).replace("|", ",").replace("/", ",").split(",") if n.strip()}
    unknown = named - set(_PIPELINE_ORDER)
    if unknown or not named:
        raise ValueError(f"unknown noise kinds {sorted(unknown)} in among; known: {', '.join(_PIPELINE_ORDER)}")
    return tuple(name for name in _PIPELINE_ORDER if name in named)


def noise_mix(
    clean: np.ndarray, rng: np.random.Generator, *, kinds: int | None = None, among: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """1-3 noise kinds drawn at random, each with random parameters.

    The kinds are drawn from gaussian, salt-pepper, speckle, poisson, scribble,
    jpeg and blur (or those named in ``among``), and applied in camera-pipeline
    order (blur first, JPEG last).

    Args:
        clean: HWC float32 in [0, 1], grey or RGB.
        rng: random generator.
        kinds: how many kinds to combine; default drawn from 1-3 (at most the kinds in the pool).
        among: the kinds to draw from, e.g. ``poisson|gaussian|speckle|salt-pepper|scribble|jpeg``
            (the camera-like kinds, without blur, which a denoiser cannot undo); default all.

    Returns:
        ``(degraded, mask)``; the mask is the element-wise maximum of the
        chosen kinds' masks.
    """
    clean = check_image(clean)
    pool = mix_pool(among)
    count = int(rng.integers(1, 4)) if kinds is None else int(kinds)
    chosen = set(rng.choice(len(pool), size=min(count, len(pool)), replace=False))
    image, mask = clean, np.zeros(clean.shape[:2], np.float32)
    for index, name in enumerate(pool):
        if index in chosen:
            image, step_mask = _MIXABLE[name](image, rng)
            mask = np.maximum(mask, step_mask)
    return image, mask
