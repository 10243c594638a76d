"""Weather drawn once as a layer: the kinds' own values, and training patches that share a draw."""

import numpy as np
import pytest
from conftest import scene
from torch.utils.data import DataLoader

from agan.data.datasets import PatchDataset
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


def test_a_weather_draw_degrades_up_to_share_patches_and_opens_with_the_one_by_one_patch(photos):
    dataset = PatchDataset(open_source(f"synthetic:rain(severity=0.5):{photos}"), 24, seed=3, share=3,
                           augment=False, masks=False)
    positions = list(range(0, 16))
    batch = dataset.__getitems__(positions)
    side_class = ["large" if dataset.sizes[dataset.image_index(p)][0] == 160 else "small" for p in positions]
    groups: dict[str, list[int]] = {}
    for i, size in enumerate(side_class):
        groups.setdefault(size, []).append(i)
    assert len(groups["small"]) >= 4
    for members in groups.values():
        for start in range(0, len(members), 3):
            draw = members[start:start + 3]
            opener = draw[0]
            assert _same(batch[opener], dataset[positions[opener]])  # the opener is the one-by-one patch
            for i in draw[1:]:  # the others: their own crops under the opener's rain (its mask, unflipped)
                alone = dataset[positions[i]]
                assert np.array_equal(batch[i]["clean"], alone["clean"]) and batch[i]["name"] == alone["name"]
                assert np.array_equal(batch[i]["mask"], batch[opener]["mask"])
                assert not np.array_equal(batch[i]["degraded"], alone["degraded"])
    assert all(_same(a, b) for a, b in zip(batch, dataset.__getitems__(positions)))  # reproducible
    firsts = [batch[members[0]]["mask"] for members in groups.values()] + [batch[groups["small"][3]]["mask"]]
    assert not np.array_equal(firsts[0], firsts[-1])  # a fourth small patch opens a new draw


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


def test_shared_weather_batches_are_the_same_with_any_number_of_workers(photos):
    dataset = PatchDataset(open_source(f"synthetic:weather-mix:{photos}"), 16, seed=2, length=16, share=2)

    def batches(workers):
        return [b["degraded"] for b in DataLoader(dataset, batch_size=4, num_workers=workers)]

    for a, b in zip(batches(0), batches(2)):
        assert np.array_equal(a.numpy(), b.numpy())


def test_share_must_be_positive(photos):
    with pytest.raises(ValueError, match="share must be at least 1"):
        PatchDataset(open_source(f"synthetic:rain:{photos}"), 24, share=0)
