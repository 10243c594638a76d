"""The vectorised exact Poisson sampler: the exact distribution for means across its range, reproducible."""

from math import exp, lgamma, log

import numpy as np
import pytest

from agan.data.degradations._poisson import GRID, TOP, small_poisson


def _pmf(mean: float, counts: np.ndarray) -> np.ndarray:
    if mean == 0:
        return (counts == 0).astype(float)
    return np.array([exp(k * log(mean) - mean - lgamma(k + 1.0)) for k in counts])


# on the grid, just under a grid step, between steps, tiny, and just under the top
@pytest.mark.parametrize("mean", [0.0, 1e-4, 1.0 / GRID - 1e-6, 0.3, 1.0, 2.53, 5.0, 7.77, TOP - 1e-4])
def test_counts_follow_the_poisson_distribution(mean):
    draws = small_poisson(np.full(400_000, mean, np.float64), np.random.default_rng(0))
    assert draws.dtype == np.int32 and draws.min() >= 0
    counts = np.arange(60)
    expected = _pmf(mean, counts) * draws.size
    observed = np.bincount(draws, minlength=60)[:60]
    kept = expected > 20  # Pearson's chi-square over the cells with enough expected draws
    chi2 = float(((observed[kept] - expected[kept]) ** 2 / expected[kept]).sum())
    dof = max(int(kept.sum()) - 1, 1)
    assert chi2 < dof + 5 * np.sqrt(2 * dof) + 5  # a wrong table or walk fails by orders of magnitude
    assert draws.mean() == pytest.approx(mean, abs=4 * np.sqrt(max(mean, 1e-4) / draws.size) + 1e-5)


def test_mixed_means_keep_their_own_distribution_and_shape():
    rng = np.random.default_rng(1)
    means = rng.uniform(0, TOP, (50, 40, 3)).astype(np.float32)
    draws = np.stack([small_poisson(means, rng) for _ in range(400)])
    assert draws.shape == (400, 50, 40, 3)
    residual = (draws - means) / np.sqrt(np.maximum(means, 1e-3))  # standardised: mean 0, variance 1
    assert abs(float(residual.mean())) < 0.01 and float(residual.var()) == pytest.approx(1.0, rel=0.02)


def test_same_generator_state_same_counts_and_means_out_of_range_are_refused():
    means = np.linspace(0, TOP - 0.01, 1000)
    assert np.array_equal(small_poisson(means, np.random.default_rng(3)), small_poisson(means, np.random.default_rng(3)))
    with pytest.raises(ValueError, match="means in"):
        small_poisson(np.array([TOP]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="means in"):
        small_poisson(np.array([-0.5]), np.random.default_rng(0))


def test_photon_counts_put_each_count_at_its_own_pixel():
    """Dim means go to the exact sampler and bright ones to the normal approximation; each count
    must land back at its own pixel, also for a non-contiguous array."""
    from agan.data.degradations.noise import POISSON_NORMAL_FROM, photon_counts

    base = np.zeros((2, 6, 7, 3), np.float32)
    base[:, ::2] = 5000.0  # bright rows (normal approximation), dark rows exactly 0
    base[:, 1::4] = 3.0  # dim rows (exact, small counts)
    lam = base.transpose(0, 2, 1, 3)  # a view: not C-contiguous
    counts = photon_counts(lam, np.random.default_rng(3))
    assert counts.shape == lam.shape and counts.dtype == np.float32
    assert np.all(counts[lam == 0] == 0)
    bright = lam >= POISSON_NORMAL_FROM
    assert np.all(np.abs(counts[bright] - 5000) < 6 * np.sqrt(5000))
    dim = (lam > 0) & ~bright
    assert np.all(counts[dim] < 20) and np.array_equal(counts[dim], np.round(counts[dim]))
