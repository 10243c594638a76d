import numpy as np
import pytest

from data.datasets import (DatasetError, ImageDataset, PatchDataset, VISIBLE_THRESHOLD, augment, open_dataset,
                           open_source, visible_mask)
from data.io import write_image
from data.pairing import PairingError, find_pairs
from data.spec import SpecError

from conftest import scene, shared


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
    dataset = open_dataset(f"synthetic:scribble:{tmp_path}", patch=24, seed=1, length=10)
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
        open_dataset(f"synthetic:gaussian:{tmp_path}", patch=32)


def test_real_pairs_crop_together_and_use_a_difference_mask(tmp_path):
    _write_pairs(tmp_path, "input", "target", [("a.png", "a.png")])
    sample = open_dataset(str(tmp_path), patch=16, seed=0)[0]
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
