"""Weather drawn once as a layer: the kinds' own values, and training patches that share a draw."""

import pickle

import numpy as np
import pytest
from conftest import scene
from torch.utils.data import DataLoader

from agan.data import datasets
from agan.data.datasets import WEATHER_POOL, PatchDataset
from agan.data.degradations import degrade, draw_layers, has_layers, parse_degradation
from agan.data.degradations._common import photo_scale
from agan.data.io import write_image
from agan.data.sources import open_source

WEATHER = ("raindrop", "rain", "snow", "dust", "haze", "weather-mix", "rain(severity=1)+raindrop")


@pytest.mark.parametrize("spec", WEATHER)
@pytest.mark.parametrize("channels", [1, 3])
def test_a_drawn_layer_gives_the_kinds_own_values_and_applies_to_any_image_of_its_shape(spec, channels):
    chain = parse_degradation(spec)
    clean = scene(48, 64, seed=1)
    clean = clean if channels == 3 else np.ascontiguousarray(clean.mean(axis=2, keepdims=True))
    with photo_scale(200):
        expected = degrade(clean, chain, np.random.default_rng(7))
    layer = draw_layers(chain, np.random.default_rng(7), clean.shape, 200 / 512)
    for got, want in zip(layer(clean), expected):
        assert np.array_equal(got, want)
    other = np.ascontiguousarray(np.flip(clean, axis=0))
    degraded, mask = layer(other)
    assert degraded.shape == clean.shape and degraded.dtype == np.float32 and mask.shape == (48, 64)
    assert 0.0 <= degraded.min() and degraded.max() <= 1.0 and not np.array_equal(degraded, other)
    assert np.array_equal(layer(clean)[0], expected[0])  # applying leaves the layer as drawn
    with pytest.raises(ValueError, match="cannot apply to an image of"):
        layer(clean[:40])


def test_only_weather_chains_have_layers():
    assert has_layers(parse_degradation("weather-mix(kinds=1,among=raindrop|rain)"))
    assert not has_layers(parse_degradation("rain+gaussian")) and not has_layers([])


@pytest.fixture
def photos(tmp_path):
    for i in range(3):
        write_image(tmp_path / "small" / f"p{i}.png", scene(40, 56, seed=i))
    write_image(tmp_path / "small" / "large.png", scene(160, 120, seed=9))
    return tmp_path / "small"


def _same(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in ("degraded", "clean", "mask"))


def test_a_weather_draw_degrades_share_patches_of_later_batches_and_opens_with_the_one_by_one_patch(photos):
    dataset = PatchDataset(open_source(f"synthetic:rain(severity=0.5):{photos}"), 24, seed=3, share=3,
                           augment=False, masks=False)
    batches = [list(range(start, start + 16)) for start in range(0, 192, 16)]
    fetched = [sample for batch in batches for sample in dataset.__getitems__(batch)]
    positions = [p for batch in batches for p in batch]
    by_class: dict[str, list[int]] = {}  # patches in the order the pool of their photo size class served them
    for i, p in enumerate(positions):
        by_class.setdefault("large" if dataset.sizes[dataset.image_index(p)][0] == 160 else "small", []).append(i)
    small = by_class["small"]
    assert len(small) >= 4 * WEATHER_POOL
    for turn in range(WEATHER_POOL):
        draw = small[turn::WEATHER_POOL][:3]  # a slot's draw serves its patches a pool's turn apart
        opener = draw[0]
        assert _same(fetched[opener], dataset[positions[opener]])  # the opener is the one-by-one patch
        for i in draw[1:]:  # the others: their own crops under the opener's rain (its mask, unflipped)
            alone = dataset[positions[i]]
            assert np.array_equal(fetched[i]["clean"], alone["clean"]) and fetched[i]["name"] == alone["name"]
            assert np.array_equal(fetched[i]["mask"], fetched[opener]["mask"])
            assert not np.array_equal(fetched[i]["degraded"], alone["degraded"])
        fourth = small[turn + 3 * WEATHER_POOL]  # the slot's fourth patch opens a new draw
        assert _same(fetched[fourth], dataset[positions[fourth]])
    again = PatchDataset(open_source(f"synthetic:rain(severity=0.5):{photos}"), 24, seed=3, share=3,
                         augment=False, masks=False)
    assert all(_same(a, b) for a, b in zip(fetched, [s for batch in batches for s in again.__getitems__(batch)]))


def test_each_draw_degrades_share_patches_and_no_two_patches_of_a_batch_share_one(photos, monkeypatch):
    used: list[int] = []  # the draw each synthetic patch got, in the order they were degraded

    def counted(*args, **kwargs):
        layer, number = draw_layers(*args, **kwargs), len(set(used)) + 1
        return lambda clean: (used.append(number), layer(clean))[1]

    monkeypatch.setattr(datasets, "draw_layers", counted)
    dataset = PatchDataset(open_source(f"synthetic:snow:{photos}"), 24, seed=5, share=4)
    for start in range(0, 40 * 16, 16):
        dataset.__getitems__(list(range(start, start + 16)))
    patches = np.asarray(used)
    _, counts = np.unique(patches, return_counts=True)
    assert len(patches) == 640 and counts.max() == 4
    assert np.sum(counts < 4) <= 2 * WEATHER_POOL  # only a slot's last draw of each of the two size classes is unfinished
    for batch in patches.reshape(40, 16):
        assert len(set(batch.tolist())) == 16


def test_real_pairs_and_noise_in_a_weather_batch_load_one_by_one(photos, tmp_path):
    for i in range(2):
        write_image(tmp_path / "pairs" / "rain" / f"r{i}.png", np.clip(scene(40, 56, seed=i) + 0.2, 0, 1))
        write_image(tmp_path / "pairs" / "norain" / f"r{i}.png", scene(40, 56, seed=i))
    dataset = PatchDataset(open_source(f"synthetic:snow:{photos}; {tmp_path / 'pairs'}"), 24, seed=1, share=4)
    positions = list(range(6))
    real = [i for i, p in enumerate(positions) if dataset.source.degradation_of(dataset.image_index(p)) is None]
    assert real
    batch = dataset.__getitems__(positions)
    assert all(_same(batch[i], dataset[positions[i]]) for i in real)
    noisy = PatchDataset(open_source(f"synthetic:gaussian+rain:{photos}"), 24, seed=1, share=4)
    assert all(_same(a, noisy[p]) for a, p in zip(noisy.__getitems__(positions), positions))


def test_shared_weather_batches_are_the_same_for_the_same_workers_each_with_its_own_pool(photos):
    def weather() -> PatchDataset:
        return PatchDataset(open_source(f"synthetic:weather-mix:{photos}"), 16, seed=2, length=48, share=2)

    dataset = weather()
    dataset.__getitems__(list(range(100, 100 + WEATHER_POOL)))  # draws kept here stay here (forked or pickled)
    assert dataset._pools and not pickle.loads(pickle.dumps(dataset))._pools
    loaded = [b["degraded"].numpy() for b in DataLoader(dataset, batch_size=4, num_workers=2)]
    assert len(loaded) == 12
    for worker in range(2):  # worker w serves batches w, w + 2, ... in turn, from a pool of its own
        alone = weather()
        for batch in range(worker, 12, 2):
            samples = alone.__getitems__(list(range(4 * batch, 4 * batch + 4)))
            assert np.array_equal(loaded[batch], np.stack([s["degraded"] for s in samples]))


def test_share_must_be_positive(photos):
    with pytest.raises(ValueError, match="share must be at least 1"):
        PatchDataset(open_source(f"synthetic:rain:{photos}"), 24, share=0)
