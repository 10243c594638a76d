import numpy as np
import pytest
from conftest import scene, shared

from agan.data.datasets import ImageDataset, PatchDataset, augment
from agan.data.io import read_image, write_image
from agan.data.pairing import PairingError, find_pairs
from agan.data.sources import VISIBLE_THRESHOLD, DatasetError, describe, open_source, visible_mask
from agan.data.spec import SpecError


def _write_pairs(root, degraded_dir, clean_dir, names, size=(40, 48)):
    for i, (d, c) in enumerate(names):
        write_image(root / degraded_dir / d, scene(*size, seed=i) * 0.5)
        write_image(root / clean_dir / c, scene(*size, seed=i))


@pytest.mark.parametrize("layout", [
    ("data", "gt", [("0_rain.png", "0_clean.png"), ("1_rain.png", "1_clean.png")]),
    ("rain", "norain", [("rain-001.png", "norain-001.png"), ("rain-002.png", "norain-002.png")]),
    ("rain", "norain", [("norain-1.png", "norain-1.png"), ("norain-2.png", "norain-2.png")]),
    ("input", "target", [("a.png", "a.png"), ("b.jpg", "b.jpg")]),
])
def test_folder_layouts_pair_by_name(tmp_path, layout):
    degraded_dir, clean_dir, names = layout
    _write_pairs(tmp_path, degraded_dir, clean_dir, names)
    pairs = find_pairs(tmp_path)
    assert [(p.degraded.name, p.clean.name) for p in pairs] == names


def test_real_mean_suffixes_in_one_folder(tmp_path):
    _write_pairs(tmp_path, ".", ".", [("cam_1_real.png", "cam_1_mean.png"), ("cam_2_real.png", "cam_2_mean.png")])
    pairs = find_pairs(tmp_path)
    assert [p.degraded.name for p in pairs] == ["cam_1_real.png", "cam_2_real.png"]


def test_unpaired_file_is_named(tmp_path):
    _write_pairs(tmp_path, "rain", "norain", [("rain-001.png", "norain-001.png"), ("rain-002.png", "norain-003.png")])
    with pytest.raises(PairingError, match=r"2 file\(s\) without a partner: rain/rain-002.png, norain/norain-003.png"):
        find_pairs(tmp_path)


def test_stray_file_in_suffix_folder_is_named(tmp_path):
    _write_pairs(tmp_path, ".", ".", [("x_real.png", "x_mean.png")])
    write_image(tmp_path / "notes.png", scene(8, 8))
    with pytest.raises(PairingError, match="notes.png"):
        find_pairs(tmp_path)


def test_size_mismatch_is_named(tmp_path):
    write_image(tmp_path / "input" / "a.png", scene(40, 48))
    write_image(tmp_path / "target" / "a.png", scene(40, 50))
    with pytest.raises(PairingError, match="a.png 48x40 vs a.png 50x40"):
        open_source(str(tmp_path))


def test_empty_and_unknown_folders(tmp_path):
    with pytest.raises(PairingError, match="empty folder"):
        find_pairs(tmp_path)
    (tmp_path / "train").mkdir()
    with pytest.raises(PairingError, match="point at one of those"):
        find_pairs(tmp_path)
    with pytest.raises(DatasetError, match="no images"):
        open_source(f"synthetic:gaussian:{tmp_path / 'train'}")
    with pytest.raises(SpecError, match="unknown degradation 'fog'"):
        open_source(f"synthetic:fog:{tmp_path}")


@pytest.mark.parametrize("folder,count", [
    ("rain12", 12), ("rain100l_subset", 10), ("jorder_small/train", 20), ("jorder_small/test", 5),
    ("polyu_real_noise", 100),
])
def test_shared_paired_folders_pair_completely(folder, count):
    source = open_source(str(shared(folder)))
    assert len(source) == count
    sample = ImageDataset(source)[0]
    assert sample["degraded"].shape == sample["clean"].shape
    assert sample["mask"].shape == sample["clean"].shape[:2]


def test_synthetic_validation_is_fixed_per_image(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", scene(40, 48, seed=i))
    spec = f"synthetic:gaussian(sigma=25)+salt-pepper(amount=0.05):{tmp_path}"
    first, second = ImageDataset(open_source(spec), seed=3), ImageDataset(open_source(spec), seed=3)
    for i in range(3):
        assert np.array_equal(first[i]["degraded"], second[i]["degraded"])
    assert not np.array_equal(first[0]["degraded"], ImageDataset(open_source(spec), seed=4)[0]["degraded"])
    assert first[0]["mask"].max() == 1.0 and first[0]["degraded"].dtype == np.float32


def test_patches_are_reproducible_and_augmented(tmp_path):
    write_image(tmp_path / "a.png", scene(40, 48))
    write_image(tmp_path / "b.png", scene(50, 33, seed=1))
    dataset = PatchDataset(open_source(f"synthetic:scribble:{tmp_path}"), 24, seed=1, length=10)
    assert isinstance(dataset, PatchDataset) and len(dataset) == 10
    a, b = dataset[3], dataset[3]
    assert a["degraded"].shape == (24, 24, 3) and a["mask"].shape == (24, 24)
    assert np.array_equal(a["degraded"], b["degraded"]) and np.array_equal(a["mask"], b["mask"])
    assert not np.array_equal(dataset[3]["clean"], dataset[4]["clean"])
    # positions past one epoch visit every image once per epoch, in a fresh order
    assert sorted(dataset.image_index(p) for p in range(10, 12)) == [0, 1]
    assert dataset[12]["clean"].shape == (24, 24, 3)


def test_augment_covers_the_eight_symmetries():
    image = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    results = {augment([image], code)[0].tobytes() for code in range(8)}
    assert len(results) == 8


def test_patch_larger_than_image_is_an_error(tmp_path):
    write_image(tmp_path / "small.png", scene(20, 30))
    with pytest.raises(DatasetError, match="small.png: image smaller than the 32-pixel patch"):
        PatchDataset(open_source(f"synthetic:gaussian:{tmp_path}"), 32)


def test_real_pairs_crop_together_and_use_a_difference_mask(tmp_path):
    _write_pairs(tmp_path, "input", "target", [("a.png", "a.png")])
    sample = PatchDataset(open_source(str(tmp_path)), 16, seed=0)[0]
    expected = (np.abs(sample["degraded"] - sample["clean"]).max(axis=2) > 30 / 255).astype(np.float32)
    assert np.array_equal(sample["mask"], expected)
    assert np.allclose(sample["degraded"], sample["clean"] * 0.5, atol=1 / 255)


def test_visible_mask_drops_unchanged_pixels():
    clean = np.full((4, 5, 3), 0.5, np.float32)
    degraded = clean.copy()
    degraded[0, 0, 1] += 2 * VISIBLE_THRESHOLD   # visibly changed, inside the footprint
    degraded[0, 1] += 0.5 * VISIBLE_THRESHOLD    # inside the footprint, too faint to see
    degraded[3, 4] += 0.3                        # changed, outside the footprint
    footprint = np.zeros((4, 5), np.float32)
    footprint[0, :3] = 1.0
    out = visible_mask(footprint, degraded, clean)
    assert out.dtype == np.float32 and out.shape == (4, 5)
    assert out[0, 0] == 1.0 and out[0, 1] == 0.0 and out[0, 2] == 0.0 and out[3, 4] == 0.0


def test_synthetic_masks_mark_only_visible_drops(tmp_path):
    write_image(tmp_path / "a.png", scene(96, 96))
    sample = ImageDataset(open_source(f"synthetic:raindrop:{tmp_path}"), seed=0)[0]
    changed = np.abs(sample["degraded"] - sample["clean"]).max(axis=2)
    assert sample["mask"].any()
    assert changed[sample["mask"] > 0].min() > VISIBLE_THRESHOLD


PUBLISHED_LAYOUTS = {  # name: (degraded folder, clean folder, mask folder, [(degraded, clean)])
    "Snow100K": ("synthetic", "gt", "mask", [("beach_1.jpg", "beach_1.jpg"), ("city_2.jpg", "city_2.jpg")]),
    "CSD": ("Snow", "Gt", "Mask", [("1.tif", "1.tif"), ("2.tif", "2.tif")]),
    "Outdoor-Rain": ("in", "gt", None, [("im_0001_s80_a04.png", "im_0001.png"), ("im_0001_s90_a06.png", "im_0001.png"),
                                        ("im_0002_s80_a05.png", "im_0002.png")]),
    "Rain1400": ("rainy_image", "ground_truth", None, [("901_1.jpg", "901.jpg"), ("901_14.jpg", "901.jpg"),
                                                       ("902_2.jpg", "902.jpg")]),
    "RESIDE": ("hazy", "clear", None, [("0001_0.8_0.2.jpg", "0001.png"), ("0001_0.9_0.16.jpg", "0001.png"),
                                       ("0002_0.85_0.1.jpg", "0002.png")]),
}


def _write_layout(root, degraded_dir, clean_dir, mask_dir, names):
    for i, (d, c) in enumerate(names):
        clean = scene(40, 48, seed=sum(map(ord, c)))  # one clean image per clean name
        write_image(root / clean_dir / c, clean)
        write_image(root / degraded_dir / d, np.clip(clean * 0.6 + 0.05 * i, 0, 1))
        if mask_dir:
            mask = np.zeros((40, 48, 1), np.float32)
            mask[5 + i : 15 + i, 10:30] = 1
            write_image(root / mask_dir / c, mask)


@pytest.mark.parametrize("layout", list(PUBLISHED_LAYOUTS))
def test_published_weather_layouts_pair_as_published(tmp_path, layout):
    degraded_dir, clean_dir, mask_dir, names = PUBLISHED_LAYOUTS[layout]
    _write_layout(tmp_path, degraded_dir, clean_dir, mask_dir, names)
    pairs = find_pairs(tmp_path)
    assert sorted((p.degraded.name, p.clean.name) for p in pairs) == sorted(names)
    assert len({p.name for p in pairs}) == len(names)  # many-to-one pairs keep one name each
    source = open_source(str(tmp_path))
    sample = ImageDataset(source)[0]
    if mask_dir:  # the published mask is the mask (where it visibly changed the image)
        assert all(p.mask is not None for p in pairs)
        expected = read_image(pairs[0].mask, grey=True)[..., 0]
        assert np.array_equal(sample["mask"] > 0, (expected > 0) & (sample["mask"] > 0))
        assert sample["mask"].sum() > 0 and sample["mask"].sum() <= expected.sum()


def test_many_to_one_layout_names_a_degraded_file_without_its_clean_image(tmp_path):
    _write_layout(tmp_path, "in", "gt", None, [("im_0001_s80_a04.png", "im_0001.png"), ("im_0007_s80_a04.png", "x.png")])
    with pytest.raises(PairingError, match=r"2 file\(s\) without a partner: in/im_0007_s80_a04.png, gt/x.png"):
        find_pairs(tmp_path)


def test_sidd_noisy_and_gt_in_one_folder(tmp_path):
    names = [("0001_NOISY_SRGB_010.PNG", "0001_GT_SRGB_010.PNG"), ("0001_NOISY_SRGB_011.PNG", "0001_GT_SRGB_011.PNG")]
    _write_pairs(tmp_path, ".", ".", names)
    assert [(p.degraded.name, p.clean.name) for p in find_pairs(tmp_path)] == names
    write_image(tmp_path / "0002_NOISY_SRGB_010.PNG", scene(40, 48))
    with pytest.raises(PairingError, match="0002_NOISY_SRGB_010.PNG"):
        find_pairs(tmp_path)


def test_a_pattern_pairs_any_other_layout(tmp_path):
    _write_layout(tmp_path, "rainy", "sharp", None, [("a-x1.png", "a.png"), ("a-x2.png", "a.png"), ("b-x1.png", "b.png")])
    write_image(tmp_path / "rainy" / "readme.png", scene(8, 8))  # matches no pattern: ignored
    spec = f"pairs:{tmp_path}/rainy/{{id}}-x*.png={tmp_path}/sharp/{{id}}.png"
    source = open_source(spec)
    assert [(p.degraded.name, p.clean.name) for p in source.pairs] == [("a-x1.png", "a.png"), ("a-x2.png", "a.png"),
                                                                       ("b-x1.png", "b.png")]
    assert [source.name(i) for i in range(3)] == ["a-x1", "a-x2", "b-x1"]
    write_image(tmp_path / "rainy" / "c-x1.png", scene(40, 48))
    with pytest.raises(PairingError, match=r"1 file\(s\) without a partner: c-x1.png"):
        open_source(spec)
    with pytest.raises(PairingError, match="expected DEGRADED=CLEAN"):
        open_source(f"pairs:{tmp_path}/rainy/*.png")
    with pytest.raises(PairingError, match="matches"):
        open_source(f"pairs:{tmp_path}/rainy/{{id}}.tif={tmp_path}/sharp/{{id}}.png")


def test_a_joined_spec_trains_on_every_part_and_validates_on_the_first_of_each(tmp_path):
    for i in range(3):
        write_image(tmp_path / "photos" / f"p{i}.png", scene(40, 48, seed=i))
    _write_pairs(tmp_path / "real", "rain", "norain", [("rain-1.png", "norain-1.png"), ("rain-2.png", "norain-2.png")])
    spec = f"synthetic:rain(severity=0.5):{tmp_path / 'photos'}; {tmp_path / 'real'}*4"
    source = open_source(spec)
    assert len(source) == 3 + 2 * 4 and source.synthetic
    patches = PatchDataset(source, 32, seed=0)
    names = {patches[p]["name"] for p in range(len(source) * 3)}
    assert names == {"p0", "p1", "p2", "norain-1", "norain-2"}
    val = ImageDataset(source, limit=2)
    assert [val[i]["name"] for i in range(len(val))] == ["p0", "p1", "norain-1", "norain-2"]
    assert "x4" in describe(source)
    source.grey = True
    assert val[3]["clean"].shape[2] == 1 and val[0]["clean"].shape[2] == 1
    with pytest.raises(SpecError, match="at least 1"):
        open_source(f"{tmp_path / 'real'}*0")


@pytest.mark.parametrize("kind", ["synthetic", "pairs"])
def test_a_preloaded_source_gives_the_same_samples_without_reading_files(tmp_path, kind):
    if kind == "synthetic":
        for i in range(2):
            write_image(tmp_path / "d" / f"p{i}.png", scene(40, 48, seed=i))
        spec = f"synthetic:raindrop+gaussian(sigma=10):{tmp_path / 'd'}"
    else:
        _write_pairs(tmp_path / "d", "rain", "norain", [("rain-1.png", "norain-1.png"), ("rain-2.png", "norain-2.png")])
        spec = str(tmp_path / "d")
    expected = [PatchDataset(open_source(spec), 24, seed=3)[p] for p in range(4)]
    source = open_source(spec)
    assert source.preload() == sum(40 * 48 * 3 for _ in source.files())
    for path in source.files():
        path.write_bytes(b"")
    got = [PatchDataset(source, 24, seed=3)[p] for p in range(4)]
    for a, b in zip(expected, got):
        assert all(np.array_equal(a[k], b[k]) for k in ("degraded", "clean", "mask"))


def test_position_draws_are_uniform_reproducible_and_depend_on_the_seed():
    from agan.data.datasets import position_draws

    draws = np.array([position_draws(0, p, (300, 7, 8)) for p in range(16000)])
    assert draws.min(axis=0).tolist() == [0, 0, 0] and draws.max(axis=0).tolist() == [299, 6, 7]
    codes = np.bincount(draws[:, 2], minlength=8)
    assert float(((codes - 2000) ** 2 / 2000).sum()) < 30  # chi-square, 7 degrees of freedom
    tops = np.bincount(draws[:, 0] * 10 // 300, minlength=10)  # tops spread over the whole range
    assert tops.min() > 1400 and tops.max() < 1800
    assert abs(np.corrcoef(draws[:, 0], draws[:, 1])[0, 1]) < 0.03  # the draws of a position are independent
    assert position_draws(0, 5, (300, 7, 8)) == draws[5].tolist()
    assert sum(position_draws(1, p, (300,)) != position_draws(0, p, (300,)) for p in range(100)) > 95


def test_position_draws_array_gives_position_draws_values():
    from agan.data.datasets import position_draws, position_draws_array

    rng = np.random.default_rng(0)
    positions = np.concatenate([np.arange(50), rng.integers(0, 2**40, 50)])
    tops, lefts = rng.integers(1, 2**32, 100), rng.integers(1, 600, 100)  # ranges up to 2**32 - 1
    for seed in (0, 7, 2**40 + 3):
        drawn = position_draws_array(seed, positions, (tops, lefts, 8))
        assert [d.dtype for d in drawn] == [np.int64] * 3
        for i, position in enumerate(positions.tolist()):
            assert [int(d[i]) for d in drawn] == position_draws(seed, position, (int(tops[i]), int(lefts[i]), 8))
    with pytest.raises(ValueError, match="ranges"):
        position_draws_array(0, positions[:2], (2**32,))
