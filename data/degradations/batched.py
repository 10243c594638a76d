"""Noise of a whole batch of same-size training patches at once.

A training batch of noise-mix patches spends most of its time in numpy's
per-call overhead when each 64x64 patch is degraded alone (about thirty small
array operations a patch). Here the dense kinds (gaussian, speckle, poisson,
salt-pepper) draw their noise for every patch that gets them in one call, with
per-patch parameters broadcast; scribble blends its strokes rank by rank for the
whole batch, and JPEG converts the batch to and from 8 bits at once; blur, the
drawing of strokes and the JPEG coding still run patch by patch (OpenCV calls),
drawing from the same generator. Normal draws come from OpenCV's generator, seeded
from that one (:func:`_standard_normal`). Each patch's noise follows the same distribution
as :mod:`agan.data.degradations.noise` gives it alone (the same kinds, parameter
ranges and order), though not the same values: a batch draws from one generator.

Convention: ``cleans`` is an NHWC float32 array in [0, 1] (N patches of the same
size, 1 or 3 channels); the result is ``(degraded, masks)``: NHWC float32 in
[0, 1] (unless ``clip=False``) and NHW float32 masks in [0, 1], as each kind's
own. ``sides`` gives each patch's photo short side (see
:func:`agan.data.degradations._common.photo_scale`), for the kinds whose sizes
scale with the photo (scribble).
"""

from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

from agan.data.degradations import SPARSE_KINDS, noise
from agan.data.degradations._poisson import small_poisson
from agan.data.io import bytes_to_unit, to_uint
from agan.data.spec import Call

Batch = tuple[np.ndarray, np.ndarray]


def _levels(rng: np.random.Generator, count: int, low: float, high: float, value: float | None) -> np.ndarray:
    """Per-patch parameter, shape (N, 1, 1, 1): drawn from [low, high) or ``value`` for all."""
    drawn = rng.uniform(low, high, count) if value is None else np.full(count, float(value))
    return drawn.astype(np.float32)[:, None, None, None]


def _standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 draws of ``shape`` from OpenCV's generator (a multiply-with-carry
    generator, normals by the ziggurat method), seeded by ``rng``: two and a half times as fast as
    torch's and four times numpy's on the CPU, and as reproducible (the same seed, the same values).
    OpenCV's generator of the calling thread is reseeded."""
    out = np.empty(shape, np.float32)
    cv2.setRNGSeed(int(rng.integers(1, 2**31)))  # OpenCV takes a 32-bit seed
    cv2.randn(out.reshape(1, -1), 0.0, 1.0)
    return out


def _dense(cleans: np.ndarray) -> np.ndarray:
    return np.ones(cleans.shape[:3], np.float32)


def gaussian(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *, sigma: float | None = None,
             clip: bool = True, low: float = 5.0, high: float = 50.0) -> Batch:
    """:func:`noise.gaussian` for a batch: sigma drawn per patch from [low, high] (5 to 50) unless given."""
    noise.check_sigma_range(low, high)
    scale = _levels(rng, len(cleans), low, high, sigma) / np.float32(255.0)
    out = _standard_normal(rng, cleans.shape)
    out *= scale
    out += cleans
    return (np.clip(out, 0.0, 1.0, out=out) if clip else out), _dense(cleans)


def speckle(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
            sigma: float | None = None) -> Batch:
    """:func:`noise.speckle` for a batch: sigma drawn per patch from [10, 60] unless given."""
    scale = _levels(rng, len(cleans), 10, 60, sigma) / np.float32(255.0)
    out = _standard_normal(rng, cleans.shape)
    out *= scale
    out *= cleans
    out += cleans
    return np.clip(out, 0.0, 1.0, out=out), _dense(cleans)


def poisson(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
            peak: float | None = None) -> Batch:
    """:func:`noise.poisson` for a batch: peak drawn per patch log-uniformly from [10, 200] unless given;
    counts of mean :data:`noise.POISSON_NORMAL_FROM` or more from the normal approximation, the rest exactly.

    The normal approximation is computed for every pixel and the exact counts put in where the
    mean is small (:func:`noise.photon_counts` gathers the bright pixels first instead: with
    OpenCV's normal draws, drawing for all is cheaper than gathering and scattering)."""
    if peak is not None and float(peak) <= 0:
        raise ValueError(f"poisson peak must be positive, got {peak}")
    peaks = (np.exp(rng.uniform(np.log(10), np.log(200), len(cleans))) if peak is None
             else np.full(len(cleans), float(peak))).astype(np.float32)[:, None, None, None]
    lam = np.clip(cleans, 0.0, 1.0)
    lam *= peaks
    counts = _standard_normal(rng, lam.shape)
    counts *= np.sqrt(lam)
    counts += lam
    np.rint(counts, out=counts)  # negative counts end at 0 in the clip below
    low = np.flatnonzero(lam < noise.POISSON_NORMAL_FROM)
    if low.size:
        np.put(counts, low, small_poisson(np.take(lam, low), rng))
    counts /= peaks
    return np.clip(counts, 0.0, 1.0, out=counts), _dense(cleans)


def salt_pepper(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
                amount: float | None = None, salt_ratio: float | None = None) -> Batch:
    """:func:`noise.salt_pepper` for a batch: the fraction flipped drawn per patch from [0.02, 0.15] unless given."""
    amounts = _levels(rng, len(cleans), 0.02, 0.15, amount)[..., 0]
    draw = rng.random(cleans.shape[:3], dtype=np.float32)
    flipped = draw < amounts
    at = np.flatnonzero(flipped)  # the flipped pixels, few: white where the draw is also below the salt share
    patch = at // (cleans.shape[1] * cleans.shape[2])
    salt = draw.ravel()[at] < amounts.ravel()[patch] * np.float32(0.5 if salt_ratio is None else salt_ratio)
    out = cleans.copy()
    out.reshape(-1, cleans.shape[3])[at] = salt.astype(np.float32)[:, None]
    return out, flipped.astype(np.float32)


def scribble(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
             lines: int | None = None, thickness: float | None = None) -> Batch:
    """:func:`noise.scribble` for a batch: 3-6 strokes per patch (or ``lines``), sized for each patch's photo.

    Every stroke is drawn on a canvas of its own the size of a patch, the canvases laid out by rank
    (every patch's first stroke, then every second one, ...) with the patches ordered by their
    number of strokes, so that each rank is blended into a leading slice of the batch:
    ``x <- x * (1 - a) + ink * a`` as one by one, a few operations on the batch instead of several
    per stroke."""
    n, h, w, c = cleans.shape
    counts = rng.integers(3, 7, n) if lines is None else np.full(n, int(lines))
    draws = rng.random((int(counts.sum()), 8))
    owners = np.repeat(np.arange(n), counts)
    ranks = np.arange(len(owners)) - np.repeat(np.cumsum(counts) - counts, counts)
    points, widths, inks, opacities = noise.stroke_shapes(draws, h, w, np.asarray(sides, np.float64)[owners] / 512.0,
                                                          thickness)
    order = np.argsort(-counts, kind="stable")  # patches by their number of strokes, most first
    slot = np.empty(n, np.int64)
    slot[order] = np.arange(n)
    rows = int(counts.max(initial=0))
    alphas = np.zeros((rows, n, h, w), np.float32)  # each stroke drawn at its opacity: its alpha
    ink = np.zeros((rows, n, 1, 1), np.float32)
    places = (ranks, slot[owners])
    ink[places] = inks[:, None, None]
    for rank, at, line, width, opacity in zip(*places, points, widths, opacities.tolist()):
        cv2.polylines(alphas[rank, at], [line], False, opacity, width, cv2.LINE_AA)
    # x <- x * (1 - a) + ink * a, stroke after stroke, is x0 * keep + inked (both single-channel)
    keep, inked = np.ones((n, h, w), np.float32), np.zeros((n, h, w), np.float32)
    for rank in range(rows):
        m = int((counts > rank).sum())  # the patches with a stroke of this rank lead the order
        alpha = alphas[rank, :m]
        inked[:m] += alpha * (ink[rank, :m] - inked[:m])
        keep[:m] -= alpha * keep[:m]
    # a stroke's alpha is at least its opacity (0.7 or more) / 255 where it is drawn at all, so
    # keep falls below 1 exactly where a stroke covers the pixel
    masks, keep, inked = (keep[slot] < 1).astype(np.float32), keep[slot], inked[slot]
    if c == 3:  # three planes merged: numpy broadcasts a last axis of 1 to 3 ten times slower
        keep, inked = (cv2.merge([x.reshape(n * h, w)] * 3).reshape(n, h, w, 3) for x in (keep, inked))
    else:
        keep, inked = keep[..., None], inked[..., None]
    out = cleans * keep
    out += inked
    return np.clip(out, 0.0, 1.0, out=out), masks


def jpeg(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *, quality: int | None = None) -> Batch:
    """:func:`noise.jpeg` for a batch: quality drawn per patch from 10-60 unless given; the conversions to
    and from 8-bit BGR done for the whole batch, each patch encoded and decoded alone."""
    qualities = rng.integers(10, 61, len(cleans)) if quality is None else np.full(len(cleans), int(quality))
    for q in set(qualities.tolist()):
        noise.check_jpeg_quality(q)
    as_uint8 = to_uint(cleans)
    if as_uint8.shape[3] == 3:
        as_uint8 = _swap_red_blue(as_uint8)  # RGB to OpenCV's BGR
    decoded = np.stack([noise.jpeg_round_trip(p, q) for p, q in zip(as_uint8, qualities.tolist())])
    if decoded.shape[3] == 3:
        decoded = _swap_red_blue(decoded)
    return bytes_to_unit(decoded), _dense(cleans)


def _swap_red_blue(pixels: np.ndarray) -> np.ndarray:
    """NHWC uint8 RGB as BGR or the reverse, by one OpenCV call on the batch seen as one tall image
    (numpy's reversed-axis copy is twenty times slower)."""
    n, h, w, c = pixels.shape
    return cv2.cvtColor(np.ascontiguousarray(pixels).reshape(n * h, w, c), cv2.COLOR_RGB2BGR).reshape(n, h, w, c)


def blur(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *, sigma: float | None = None) -> Batch:
    """:func:`noise.blur` for a batch: sigma drawn per patch from [0.5, 2.5] unless given, each patch blurred alone."""
    sigmas = _levels(rng, len(cleans), 0.5, 2.5, sigma).ravel().tolist()
    out = np.empty_like(cleans)
    for clean, blurred, s in zip(cleans, out, sigmas):
        blurred[...] = noise.gaussian_blur(clean, s)
    return np.clip(out, 0.0, 1.0, out=out), _dense(cleans)


BATCHED: dict[str, Callable[..., Batch]] = {
    "gaussian": gaussian,
    "speckle": speckle,
    "poisson": poisson,
    "salt-pepper": salt_pepper,
    "scribble": scribble,
    "jpeg": jpeg,
    "blur": blur,
}


def noise_mix(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
              kinds: int | None = None, among: str | None = None) -> Batch:
    """:func:`noise.noise_mix` for a batch: each patch gets 1-3 kinds (or ``kinds``) of the pool (all, or
    ``among``), drawn uniformly without repeats, applied in camera-pipeline order; each kind runs once for
    all the patches that drew it."""
    n, order = len(cleans), noise.mix_pool(among)
    counts = rng.integers(1, 4, n) if kinds is None else np.full(n, min(int(kinds), len(order)))
    ranks = rng.random((n, len(order))).argsort(axis=1).argsort(axis=1)
    chosen = ranks < counts[:, None]  # a uniformly random subset of counts[i] kinds per patch
    # Each kind gathers its patches from the clean batch or, once a kind has run on them, from the
    # output, so the batch is not copied first (memory traffic, not arithmetic, is the cost here).
    out, done = np.empty_like(cleans), np.zeros(n, bool)
    masks = np.zeros(cleans.shape[:3], np.float32)
    for k, name in enumerate(order):
        picked = np.flatnonzero(chosen[:, k])
        if picked.size:
            sources = done[picked].tolist()
            degraded, m = BATCHED[name](np.stack([out[i] if again else cleans[i] for i, again in zip(picked, sources)]),
                                        rng, [sides[i] for i in picked])
            out[picked], done[picked] = degraded, True
            if name in SPARSE_KINDS:
                masks[picked] = np.maximum(masks[picked], m)
    out[~done] = cleans[~done]  # patches that drew no kind (kinds=0)
    masks[chosen[:, [name not in SPARSE_KINDS for name in order]].any(axis=1)] = 1.0  # dense kinds: all ones
    return out, masks


BATCHED["noise-mix"] = noise_mix


def batchable(chain: Sequence[Call]) -> bool:
    """Whether every kind of a parsed chain has a batch form here (the noise kinds; not the weather)."""
    return bool(chain) and all(name in BATCHED for name, _ in chain)


def degrade_batch(cleans: np.ndarray, chain: Sequence[Call], rng: np.random.Generator,
                  sides: Sequence[int]) -> Batch:
    """Apply a parsed, :func:`batchable` chain to a batch (the batch form of :func:`degrade`).

    Args:
        cleans: NHWC float32 in [0, 1], N >= 1 patches of one size.
        chain: ``[(name, params), ...]`` from :func:`agan.data.degradations.parse_degradation`.
        rng: the one generator every kind draws from.
        sides: each patch's photo short side, N ints.

    Returns:
        ``(degraded, masks)``: NHWC float32 like ``cleans``; NHW float32 masks, the
        element-wise maximum of the chain's masks.
    """
    out, masks = cleans, None
    for name, params in chain:
        out, m = BATCHED[name](out, rng, sides, **params)
        masks = m if masks is None else np.maximum(masks, m)
    return out, masks


__all__ = ["BATCHED", "batchable", "degrade_batch", "noise_mix"]
