"""Noise of a whole batch of same-size training patches at once.

A training batch of noise-mix patches spends most of its time in numpy's
per-call overhead when each 64x64 patch is degraded alone (about thirty small
array operations a patch). Here the dense kinds (gaussian, speckle, poisson,
salt-pepper) draw their noise for every patch that gets them in one call, with
per-patch parameters broadcast; blur, JPEG and scribble still run patch by patch
(OpenCV calls), drawing from the same generator. Each patch's noise follows the
same distribution as :mod:`agan.data.degradations.noise` gives it alone (the
same kinds, parameter ranges and order), though not the same values: a batch
draws from one generator.

Convention: ``cleans`` is an NHWC float32 array in [0, 1] (N patches of the same
size, 1 or 3 channels); the result is ``(degraded, masks)``: NHWC float32 in
[0, 1] (unless ``clip=False``) and NHW float32 masks in [0, 1], as each kind's
own. ``sides`` gives each patch's photo short side (see
:func:`agan.data.degradations._common.photo_scale`), for the kinds whose sizes
scale with the photo (scribble).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from agan.data.degradations import noise
from agan.data.degradations._common import photo_scale
from agan.data.spec import Call

Batch = tuple[np.ndarray, np.ndarray]


def _per_patch(function: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Callable[..., Batch]:
    """A single-image kind applied to each patch of a batch in turn (under its photo's scale)."""

    def batched(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], **params: Any) -> Batch:
        degraded, masks = np.empty_like(cleans), np.empty(cleans.shape[:3], np.float32)
        for i, side in enumerate(sides):
            with photo_scale(int(side)):
                degraded[i], masks[i] = function(cleans[i], rng, **params)
        return degraded, masks

    return batched


def _levels(rng: np.random.Generator, count: int, low: float, high: float, value: float | None) -> np.ndarray:
    """Per-patch parameter, shape (N, 1, 1, 1): drawn from [low, high) or ``value`` for all."""
    drawn = rng.uniform(low, high, count) if value is None else np.full(count, float(value))
    return drawn.astype(np.float32)[:, None, None, None]


def _standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 draws of ``shape``, from a torch generator seeded by ``rng``: twice as
    fast as numpy's on the CPU, and as reproducible (the same seed, the same values on the CPU)."""
    generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
    return torch.randn(shape, generator=generator).numpy()


def _dense(cleans: np.ndarray) -> np.ndarray:
    return np.ones(cleans.shape[:3], np.float32)


def gaussian(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *, sigma: float | None = None,
             clip: bool = True) -> Batch:
    """:func:`noise.gaussian` for a batch: sigma drawn per patch from [5, 50] unless given."""
    scale = _levels(rng, len(cleans), 5, 50, sigma) / np.float32(255.0)
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
    counts of mean :data:`noise.POISSON_NORMAL_FROM` or more from the normal approximation, the rest exactly."""
    if peak is not None and float(peak) <= 0:
        raise ValueError(f"poisson peak must be positive, got {peak}")
    peaks = (np.exp(rng.uniform(np.log(10), np.log(200), len(cleans))) if peak is None
             else np.full(len(cleans), float(peak))).astype(np.float32)[:, None, None, None]
    counts = noise.photon_counts(np.clip(cleans, 0.0, 1.0) * peaks, rng, lambda shape: _standard_normal(rng, shape))
    counts /= peaks
    return np.clip(counts, 0.0, 1.0, out=counts), _dense(cleans)


def salt_pepper(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
                amount: float | None = None, salt_ratio: float | None = None) -> Batch:
    """:func:`noise.salt_pepper` for a batch: the fraction flipped drawn per patch from [0.02, 0.15] unless given."""
    amounts = _levels(rng, len(cleans), 0.02, 0.15, amount)[..., 0]
    draw = rng.random(cleans.shape[:3], dtype=np.float32)
    flipped = draw < amounts
    salt = draw < amounts * np.float32(0.5 if salt_ratio is None else salt_ratio)
    out = cleans.copy()
    out[flipped] = 0.0
    out[salt] = 1.0
    return out, flipped.astype(np.float32)


BATCHED: dict[str, Callable[..., Batch]] = {
    "gaussian": gaussian,
    "speckle": speckle,
    "poisson": poisson,
    "salt-pepper": salt_pepper,
    "scribble": _per_patch(noise.scribble),
    "jpeg": _per_patch(noise.jpeg),
    "blur": _per_patch(noise.blur),
}


def noise_mix(cleans: np.ndarray, rng: np.random.Generator, sides: Sequence[int], *,
              kinds: int | None = None) -> Batch:
    """:func:`noise.noise_mix` for a batch: each patch gets 1-3 kinds (or ``kinds``), drawn uniformly
    without repeats, applied in camera-pipeline order; each kind runs once for all the patches that drew it."""
    n, order = len(cleans), noise._PIPELINE_ORDER
    counts = rng.integers(1, 4, n) if kinds is None else np.full(n, min(int(kinds), len(order)))
    ranks = rng.random((n, len(order))).argsort(axis=1).argsort(axis=1)
    chosen = ranks < counts[:, None]  # a uniformly random subset of counts[i] kinds per patch
    out, masks = cleans.copy(), np.zeros(cleans.shape[:3], np.float32)
    for k, name in enumerate(order):
        picked = np.flatnonzero(chosen[:, k])
        if picked.size:
            out[picked], m = BATCHED[name](out[picked], rng, [sides[i] for i in picked])
            masks[picked] = np.maximum(masks[picked], m)
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
