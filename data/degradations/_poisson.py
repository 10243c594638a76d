"""Exact Poisson draws for many small means at once, about three times faster than numpy's.

numpy's ``Generator.poisson`` samples means below 10 one value at a time by multiplying
uniforms (about 80-100 ns a value here). Here the draws are vectorised: a Poisson of mean
``lam`` is the sum of independent Poissons of means ``g / GRID`` (``g = floor(lam * GRID)``)
and of the remainder ``lam - g / GRID`` (under ``1 / GRID``). The first is drawn by
inversion of its tabulated distribution function, started from a guide table (Chen and Asau's
indexed search: cell ``j`` of mean ``g`` holds the smallest count whose distribution function
exceeds ``j / CELLS``), so most values cost two table look-ups; the second is 0 unless a
uniform falls above ``1 - remainder`` (a bound of ``exp(-remainder)``), and is then drawn by
inversion. Exact up to the resolution of a float64 uniform.
"""

from __future__ import annotations

from functools import cache
from math import lgamma

import numpy as np

#: Means below this are drawn here.
TOP = 12
#: Tabulated means are multiples of 1 / GRID.
GRID = 16
#: Counts tabulated per mean (the last cell takes the rest: P(count >= 63 | mean < 12) < 1e-22).
COUNTS = 64
#: Guide cells per mean.
CELLS = 256


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """The distribution functions (``TOP * GRID`` means x ``COUNTS`` counts, float64, flat) and the
    guide (``TOP * GRID`` x ``CELLS`` int32, flat): cell ``j`` of mean ``g`` holds the place in the
    distribution functions of the smallest count whose distribution function exceeds ``j / CELLS``."""
    means = np.arange(TOP * GRID) / GRID
    counts = np.arange(COUNTS)
    log_factorial = np.array([lgamma(k + 1.0) for k in counts])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = counts[None, :] * np.log(means)[:, None] - means[:, None] - log_factorial[None, :]
    pmf = np.exp(np.nan_to_num(log_pmf, nan=-np.inf))
    pmf[0] = 0.0
    pmf[0, 0] = 1.0  # mean 0: always 0
    cdf = np.cumsum(pmf, axis=1)
    cdf[:, -1] = np.inf
    guide = np.stack([np.searchsorted(row, np.arange(CELLS) / CELLS, side="right") for row in cdf])
    guide += np.arange(TOP * GRID)[:, None] * COUNTS
    return cdf.ravel(), guide.astype(np.int32).ravel()


def small_poisson(lam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts of means ``lam`` (float32 or float64 array of any shape, each in [0, :data:`TOP`)),
    drawn from ``rng``; int32, the shape of ``lam``."""
    lam = np.asarray(lam)
    if lam.size and not (lam.min() >= 0 and lam.max() < TOP):
        raise ValueError(f"small_poisson takes means in [0, {TOP}), got {lam.min()} to {lam.max()}")
    cdf, guide = _tables()
    shape, lam = lam.shape, lam.ravel()
    g = (lam * GRID).astype(np.int32)
    # lam - g / GRID exactly, in [0, 1 / GRID), in lam's precision (float32 subtracts exactly: Sterbenz)
    rest = lam - g.astype(lam.dtype) * (1.0 / GRID)
    u = rng.random(lam.size)
    cell = (u * CELLS).astype(np.int32)
    cell += g * CELLS
    at = np.take(guide, cell)
    walk = np.flatnonzero(u >= np.take(cdf, at))
    while walk.size:  # the guide cell holds a step of the distribution function: walk up to it
        at[walk] += 1
        walk = walk[u[walk] >= np.take(cdf, at[walk])]
    g *= COUNTS
    counts = at
    counts -= g
    u = rng.random(lam.size)
    more = np.flatnonzero(u >= 1.0 - rest.astype(np.float64, copy=False))  # 1 - rest <= exp(-rest) = P(0 more)
    if more.size:
        r, v = rest[more].astype(np.float64), u[more]
        p = np.exp(-r)
        below, extra, k = p.copy(), np.zeros(more.size, np.int32), 0
        live = np.flatnonzero(v >= below)
        while live.size:
            k += 1
            extra[live] += 1
            p[live] *= r[live] / k
            below[live] += p[live]
            live = live[v[live] >= below[live]]
        counts[more] += extra
    return counts.reshape(shape)
