"""Noise degraded a batch at a time: the same distribution as patch by patch, the same crops, reproducible."""

import numpy as np
import pytest
from conftest import scene
from torch.utils.data import DataLoader

from agan.data.datasets import PatchDataset, augment, augment_into
from agan.data.degradations import get_degradation, parse_degradation
from agan.data.degradations._common import photo_scale
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
        with photo_scale(512):  # the batch's photo side: scribble's strokes are sized for it
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
    ("scribble", 0.5),
    ("noise-mix", 0.5),
    ("gaussian(low=0,high=55,clip=false)", 0.5),
    ("noise-mix(among=poisson|gaussian|speckle|jpeg)", 0.5),
])
def test_a_batch_gets_noise_of_the_same_distribution_as_one_patch(spec, level):
    clean = np.full((32, 32, 3), level, np.float32)
    one_by_one, together = _residual_stats(spec, clean, False), _residual_stats(spec, clean, True)
    # noise-mix and a gaussian level range: which kinds or levels the 64 patches draw varies a lot;
    # scribble: how many strokes, and where
    tolerance = 0.15 if spec.startswith("noise-mix") or "high=" in spec else 0.1 if spec == "scribble" else 0.03
    assert together[1] == pytest.approx(one_by_one[1], rel=tolerance)
    assert abs(together[0] - one_by_one[0]) < 0.002 + tolerance * one_by_one[1]


def test_normal_draws_of_a_batch_are_standard_normal_independent_and_reproducible():
    from scipy import stats

    from agan.data.degradations.batched import _standard_normal

    rng = np.random.default_rng(0)
    first, second = _standard_normal(rng, (16, 64, 64, 3)), _standard_normal(rng, (16, 64, 64, 3))
    assert first.dtype == np.float32 and first.shape == (16, 64, 64, 3)
    for draws in (first, second):
        values = draws.ravel().astype(np.float64)
        assert abs(values.mean()) < 0.01 and values.std() == pytest.approx(1.0, abs=0.01)
        assert stats.kstest(values, "norm").pvalue > 0.01  # fixed seed: a fixed outcome
        assert (np.abs(values) > 3).mean() == pytest.approx(2 * stats.norm.sf(3), rel=0.1)
        assert abs(np.corrcoef(values[:-1], values[1:])[0, 1]) < 0.01  # neighbours independent
    assert abs(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < 0.01  # successive calls independent
    assert np.array_equal(_standard_normal(np.random.default_rng(0), (16, 64, 64, 3)), first)


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


@pytest.mark.parametrize("grey", [False, True])
def test_a_batch_from_photos_decoded_in_memory_is_the_batch_read_from_disk(photos, grey):
    write_image(photos / "p3.png", scene(48, 40, seed=3)[..., :1])  # a grey photo among colour ones
    sixteen = photos / "sixteen.tif"
    write_image(sixteen, scene(40, 40, seed=4), bits=16)
    spec = f"synthetic:noise-mix:{photos}"
    kept = open_source(spec, grey=grey)  # as training opens it: grey or colour for every photo
    kept.preload()
    in_memory = PatchDataset(kept, 24, seed=1, masks=False)
    from_disk = PatchDataset(open_source(spec, grey=grey), 24, seed=1, masks=False)
    files = [in_memory.source.path(in_memory.image_index(p)).name for p in range(40)]
    alike = [p for p, name in enumerate(files) if name in ("p0.png", "p1.png", "p2.png")][:6]  # converted at once
    for positions in (list(range(10)), alike):  # every kind of file mixed (patch by patch); 8-bit colour alone
        for a, b in zip(in_memory.__getitems__(positions), from_disk.__getitems__(positions)):
            assert all(np.array_equal(a[k], b[k]) for k in ("degraded", "clean", "mask"))
            assert a["clean"].shape == (24, 24, 1 if grey else 3)


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


def test_augment_into_writes_augment_s_result_into_a_patch_of_a_batch():
    rng = np.random.default_rng(1)
    for dtype in (np.uint8, np.uint16, np.float32):
        photo = (rng.random((30, 40, 3)) * 250).astype(dtype)
        for source in (photo[3:12, 5:21], photo[3:12, 5:21, :1]):  # crops (not contiguous), colour and grey
            for code in range(8):
                want = augment([source], code)[0]
                batch = np.zeros((3,) + want.shape, dtype)
                augment_into(source, code, batch[1])
                assert np.array_equal(batch[1], want), (dtype, source.shape, code)
                assert not batch[0].any() and not batch[2].any()  # nothing written beside its patch


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_of_a_batch_codes_each_patch_as_one_patch_alone(channels):
    cleans = np.random.default_rng(0).random((3, 24, 40, channels), dtype=np.float32)
    degraded, masks = degrade_batch(cleans, parse_degradation("jpeg(quality=25)"), np.random.default_rng(1), [40] * 3)
    for clean, got in zip(cleans, degraded):
        assert np.array_equal(got, get_degradation("jpeg")(clean, np.random.default_rng(2), quality=25)[0])
    assert masks.shape == (3, 24, 40) and masks.min() == 1
    qualities = degrade_batch(np.stack([cleans[0]] * 32), parse_degradation("jpeg"), np.random.default_rng(3), [40] * 32)[0]
    errors = np.abs(qualities - cleans[0]).mean(axis=(1, 2, 3))
    assert len(set(errors.tolist())) > 8  # quality drawn per patch from 10-60
    with pytest.raises(ValueError, match="quality"):
        degrade_batch(cleans, parse_degradation("jpeg(quality=0)"), np.random.default_rng(1), [40] * 3)


def test_blur_of_a_batch_blurs_each_patch_as_one_patch_alone():
    cleans = np.random.default_rng(0).random((3, 20, 24, 3), dtype=np.float32)
    degraded, masks = degrade_batch(cleans, parse_degradation("blur(sigma=1.5)"), np.random.default_rng(1), [24] * 3)
    for clean, got in zip(cleans, degraded):
        assert np.array_equal(got, get_degradation("blur")(clean, np.random.default_rng(2), sigma=1.5)[0])
    assert masks.min() == 1
    drawn = degrade_batch(np.stack([cleans[0]] * 16), parse_degradation("blur"), np.random.default_rng(3), [24] * 16)[0]
    assert len({float(np.abs(d - cleans[0]).mean()) for d in drawn}) == 16  # sigma drawn per patch


@pytest.mark.parametrize("channels", [1, 3])
def test_scribble_of_a_batch_draws_each_patch_s_strokes_as_one_by_one(channels):
    from agan.data.degradations.noise import draw_strokes

    cleans = np.random.default_rng(0).random((7, 48, 40, channels), dtype=np.float32)
    sides = [300, 200, 512, 300, 400, 300, 600]
    degraded, masks = degrade_batch(cleans, parse_degradation("scribble"), np.random.default_rng(4), sides)
    rng = np.random.default_rng(4)  # the batch's draws: the counts, then every stroke's 8 uniforms
    counts = rng.integers(3, 7, 7)
    draws = np.split(rng.random((int(counts.sum()), 8)), np.cumsum(counts)[:-1])
    assert len(set(counts.tolist())) > 1  # patches with different numbers of strokes
    for clean, got, mask, own, side in zip(cleans, degraded, masks, draws, sides):
        alone, coverage = clean.copy(), np.zeros(clean.shape[:2], np.float32)
        draw_strokes(alone, coverage, own, side / 512)
        assert np.allclose(got, np.clip(alone, 0, 1), atol=1e-6) and np.array_equal(mask, coverage > 0)
        assert 0 < mask.mean() < 1


def test_noise_mix_masks_are_ones_where_a_dense_kind_ran_and_the_strokes_or_flips_elsewhere():
    from agan.data.degradations import SPARSE_KINDS, noise
    from agan.data.degradations.batched import BATCHED

    cleans = np.full((6, 16, 16, 3), 0.5, np.float32)
    dense = [name for name in noise._PIPELINE_ORDER if name not in SPARSE_KINDS]
    assert len(dense) == 5
    for name in dense:  # the kinds noise_mix counts as dense do give all-ones masks
        assert BATCHED[name](cleans, np.random.default_rng(0), [64] * 6)[1].min() == 1.0
    for name in ("salt-pepper", "scribble"):
        assert BATCHED[name](cleans, np.random.default_rng(0), [64] * 6)[1].min() == 0.0
    _, masks = degrade_batch(np.full((64, 16, 16, 3), 0.5, np.float32), parse_degradation("noise-mix(kinds=1)"),
                             np.random.default_rng(1), [64] * 64)
    covered = masks.mean(axis=(1, 2))
    assert (covered == 1).sum() > 20 and ((covered > 0) & (covered < 1)).sum() > 5
    none, masks = degrade_batch(cleans, parse_degradation("noise-mix(kinds=0)"), np.random.default_rng(1), [64] * 6)
    assert np.array_equal(none, cleans) and masks.max() == 0
