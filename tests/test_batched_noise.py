"""Noise degraded a batch at a time: the same distribution as patch by patch, the same crops, reproducible."""

import numpy as np
import pytest
from conftest import scene
from torch.utils.data import DataLoader

from agan.data.datasets import PatchDataset, augment
from agan.data.degradations import get_degradation, parse_degradation
from agan.data.degradations.batched import batchable, degrade_batch
from agan.data.io import write_image
from agan.data.sources import open_source


def _residual_stats(spec: str, clean: np.ndarray, batched: bool) -> tuple[float, float]:
    """Mean and standard deviation of ``degraded - clean`` over 64 patches, degraded as one batch or one by one."""
    batch = np.stack([clean] * 64)
    if batched:
        degraded, _ = degrade_batch(batch, parse_degradation(spec), np.random.default_rng(1), [512] * 64)
    else:
        kind, params = parse_degradation(spec)[0]
        degraded = np.stack([get_degradation(kind)(c, np.random.default_rng([1, i]), **params)[0]
                             for i, c in enumerate(batch)])
    residual = degraded - batch
    return float(residual.mean()), float(residual.std())


@pytest.mark.parametrize("spec, level", [
    ("gaussian(sigma=25,clip=false)", 0.5),
    ("speckle(sigma=40)", 0.5),
    ("poisson(peak=60)", 0.4),  # counts of mean 24: the normal approximation
    ("poisson(peak=60)", 0.05),  # mean 3: exact
    ("salt-pepper(amount=0.1)", 0.5),
    ("noise-mix", 0.5),
])
def test_a_batch_gets_noise_of_the_same_distribution_as_one_patch(spec, level):
    clean = np.full((32, 32, 3), level, np.float32)
    one_by_one, together = _residual_stats(spec, clean, False), _residual_stats(spec, clean, True)
    tolerance = 0.15 if spec == "noise-mix" else 0.03  # noise-mix: which kinds a patch draws varies a lot
    assert together[1] == pytest.approx(one_by_one[1], rel=tolerance)
    assert abs(together[0] - one_by_one[0]) < 0.002 + tolerance * one_by_one[1]


def test_poisson_counts_of_a_batch_are_poisson():
    clean = np.full((8, 64, 64, 1), 0.1, np.float32)
    degraded, _ = degrade_batch(clean, parse_degradation("poisson(peak=50)"), np.random.default_rng(0), [64] * 8)
    counts = degraded * 50  # mean 5: exact sampling
    assert np.allclose(counts, np.round(counts), atol=1e-4)
    assert counts.mean() == pytest.approx(5.0, rel=0.02) and counts.var() == pytest.approx(5.0, rel=0.05)


def test_a_batch_draws_each_parameter_per_patch():
    clean = np.full((16, 32, 32, 1), 0.5, np.float32)
    degraded, _ = degrade_batch(clean, parse_degradation("gaussian(clip=false)"), np.random.default_rng(0), [32] * 16)
    sigmas = (degraded - clean).std(axis=(1, 2, 3)) * 255
    assert sigmas.min() >= 4 and sigmas.max() <= 53 and sigmas.max() - sigmas.min() > 10  # drawn from [5, 50]


def test_only_noise_chains_are_batched():
    assert batchable(parse_degradation("noise-mix")) and batchable(parse_degradation("gaussian+jpeg(quality=20)"))
    assert not batchable(parse_degradation("raindrop+gaussian")) and not batchable([])


@pytest.fixture
def photos(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"p{i}.png", scene(40, 56, seed=i))
    return tmp_path


def test_a_batch_of_positions_has_the_crops_of_one_by_one_and_is_reproducible(photos):
    dataset = PatchDataset(open_source(f"synthetic:noise-mix:{photos}"), 24, seed=5, masks=False)
    positions = list(range(8, 16))
    batch, again = dataset.__getitems__(positions), dataset.__getitems__(positions)
    for position, sample, same in zip(positions, batch, again):
        alone = dataset[position]
        assert np.array_equal(sample["clean"], alone["clean"]) and sample["name"] == alone["name"]
        assert all(np.array_equal(sample[k], same[k]) for k in ("degraded", "clean", "mask"))
        assert sample["degraded"].shape == (24, 24, 3) and sample["degraded"].dtype == np.float32
        assert sample["mask"].shape == (24, 24)
    assert any(not np.array_equal(s["degraded"], s["clean"]) for s in batch)
    other = PatchDataset(open_source(f"synthetic:noise-mix:{photos}"), 24, seed=6, masks=False)
    assert not np.array_equal(other.__getitems__(positions)[0]["degraded"], batch[0]["degraded"])


def test_weather_and_real_pairs_are_fetched_one_by_one(photos):
    dataset = PatchDataset(open_source(f"synthetic:rain:{photos}"), 24, seed=5)
    for sample, position in zip(dataset.__getitems__([3, 4]), [3, 4]):
        assert np.array_equal(sample["degraded"], dataset[position]["degraded"])


def test_a_loader_gets_the_same_batches_with_any_number_of_workers(photos):
    dataset = PatchDataset(open_source(f"synthetic:gaussian+jpeg:{photos}"), 16, seed=2, length=12, masks=False)

    def batches(workers):
        return [b["degraded"] for b in DataLoader(dataset, batch_size=4, num_workers=workers)]

    for a, b in zip(batches(0), batches(2)):
        assert np.array_equal(a.numpy(), b.numpy())


def test_augment_matches_numpy_flips_and_rotations():
    image = np.random.default_rng(0).random((5, 7, 3), dtype=np.float32)
    for code in range(8):
        expected = np.rot90(image[:, ::-1] if code & 4 else image, code & 3)
        for array in (image, image[..., :1], image[..., 0]):
            got = augment([array], code)[0]
            want = expected if array.ndim == 3 and array.shape[2] == 3 else (
                expected[..., :1] if array.ndim == 3 else expected[..., 0])
            assert np.array_equal(got, want) and got.flags["C_CONTIGUOUS"]
