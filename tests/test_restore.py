import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import scene

from agan.baselines.dncnn import DnCNN
from agan.cli import main
from agan.data.io import read_image, read_image_with_depth, to_uint, write_image
from agan.methods.registry import build_method
from agan.nets import AttentiveGenerator
from agan.nets.checkpoints import save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _dncnn_checkpoint(path, channels=3):
    torch.manual_seed(0)
    model = DnCNN(in_channels=channels, depth=3, width=8)
    return save_checkpoint(path, model="dncnn", model_args=model.config, weights=model.state_dict())


def _gan_checkpoint(path, channels=3):
    torch.manual_seed(0)
    model = AttentiveGenerator(in_channels=channels, steps=2, att_width=4, res_blocks=1, ae_width=4)
    return save_checkpoint(path, model="attentive-gan", model_args=model.config, weights=model.state_dict())


@pytest.fixture
def mixed(tmp_path):
    """A folder of odd-sized inputs: 8-bit RGB PNG, grey PNG, RGBA PNG, 16-bit PNG and TIFF, a JPEG."""
    folder = tmp_path / "in"
    write_image(folder / "odd.png", scene(31, 37, 3))
    write_image(folder / "grey.png", scene(33, 45, 1, seed=1))
    write_image(folder / "deep.png", scene(29, 41, 3, seed=2), bits=16)
    write_image(folder / "deep.tif", scene(35, 27, 1, seed=3), bits=16)
    write_image(folder / "photo.jpg", scene(30, 38, 3, seed=4))
    rgba = np.concatenate([to_uint(scene(25, 39, 3, seed=5)), np.full((25, 39, 1), 128, np.uint8)], axis=2)
    cv2.imwrite(str(folder / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    return folder


EXPECTED = {  # name: (height, width, channels, dtype)
    "odd.png": (31, 37, 3, np.uint8), "grey.png": (33, 45, 1, np.uint8), "deep.png": (29, 41, 3, np.uint16),
    "deep.tif": (35, 27, 1, np.uint16), "photo.jpg": (30, 38, 3, np.uint8), "rgba.png": (25, 39, 3, np.uint8),
}
MAGIC = {".png": b"\x89PNG", ".jpg": b"\xff\xd8", ".tif": (b"II*\x00", b"MM\x00*")}


def _check_outputs(out):
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    for name, (height, width, channels, dtype) in EXPECTED.items():
        pixels = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert pixels.dtype == dtype, name
        assert pixels.shape[:2] == (height, width) and (pixels.shape[2] if pixels.ndim == 3 else 1) == channels, name
        assert (out / name).read_bytes().startswith(MAGIC[(out / name).suffix]), name


@pytest.mark.parametrize("model", ["median(ksize=3)", "checkpoint"])
def test_restore_keeps_size_channels_depth_and_format(tmp_path, mixed, model):
    spec = _dncnn_checkpoint(tmp_path / "d.pt") if model == "checkpoint" else model
    out = tmp_path / "out"
    result = run("restore", mixed, "-o", out, "--model", spec, "--tile", 24, "--overlap", 9)
    assert result.exit_code == 0, result.output
    assert "rgba.png: alpha channel dropped" in result.output
    assert "restored 6 of 6" in result.output
    _check_outputs(out)
    # the 16-bit output holds the method's result to 16-bit precision
    expected = build_method(str(spec))(read_image(mixed / "deep.png"))
    assert np.abs(read_image(out / "deep.png") - expected).max() <= 0.5 / 65535 + 1e-6


def test_files_and_globs_as_inputs(tmp_path, mixed):
    out = tmp_path / "out"
    result = run("restore", mixed / "odd.png", f"{mixed}/deep.*", mixed / "odd.png", "-o", out, "--model", "gaussian(sigma=1)")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["deep.png", "deep.tif", "odd.png"]
    result = run("restore", tmp_path / "nothing", "-o", out, "--model", "median")
    assert result.exit_code == 1 and "nothing: no such file or folder" in result.output


def test_a_corrupt_file_is_named_and_the_others_are_restored(tmp_path):
    folder = tmp_path / "in"
    for name in ("a.png", "c.png"):
        write_image(folder / name, scene(20, 24, 3))
    good = write_image(tmp_path / "b.png", scene(20, 24, 3)).read_bytes()
    (folder / "b.png").write_bytes(good[: len(good) // 2])
    out = tmp_path / "out"
    result = run("restore", folder, "-o", out, "--model", "median")
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    bad_lines = [line for line in result.output.splitlines() if "b.png" in line]
    assert len(bad_lines) == 1 and "truncated PNG file" in bad_lines[0]
    assert "restored 2 of 3" in result.output


def test_output_onto_an_input_is_refused(tmp_path):
    folder = tmp_path / "in"
    write_image(folder / "a.png", scene(20, 24, 3))
    write_image(folder / "b.png", scene(20, 24, 3, seed=1))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run("restore", folder, "-o", folder, "--model", "median")
    assert result.exit_code == 1 and "refusing to overwrite an input file" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_two_inputs_with_one_name_are_refused(tmp_path):
    write_image(tmp_path / "x" / "a.png", scene(20, 24, 3))
    write_image(tmp_path / "y" / "a.png", scene(20, 24, 3))
    result = run("restore", tmp_path / "x", tmp_path / "y", "-o", tmp_path / "out", "--model", "median")
    assert result.exit_code == 1 and "would be written there" in result.output
    assert not (tmp_path / "out").exists()


def test_gan_with_post_filter_and_attention(tmp_path, mixed):
    checkpoint = _gan_checkpoint(tmp_path / "gan.pt")
    out = tmp_path / "out"
    result = run("restore", mixed / "odd.png", mixed / "grey.png", "-o", out, "--model", checkpoint,
                 "--post-filter", "gaussian(sigma=0.8)", "--save-attention", "--tile", 24, "--overlap", 9, "--ensemble")
    assert result.exit_code == 0, result.output
    assert "gan.pt+gaussian(sigma=0.8)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["grey.png", "grey_attention.png", "odd.png", "odd_attention.png"]
    attention = cv2.imread(str(out / "odd_attention.png"), cv2.IMREAD_UNCHANGED)
    assert attention.shape == (31, 37) and attention.dtype == np.uint8
    assert read_image(out / "grey.png").shape == (33, 45, 1)
    assert cv2.imread(str(out / "grey_attention.png"), cv2.IMREAD_UNCHANGED).shape == (33, 45)


def test_attention_ignored_without_the_gan_and_post_filter_must_be_a_filter(tmp_path, mixed):
    out = tmp_path / "out"
    result = run("restore", mixed / "odd.png", "-o", out, "--model", "median", "--save-attention")
    assert result.exit_code == 0 and "--save-attention ignored" in result.output
    assert [p.name for p in out.iterdir()] == ["odd.png"]
    checkpoint = _dncnn_checkpoint(tmp_path / "d.pt")
    result = run("restore", mixed / "odd.png", "-o", out, "--model", "median", "--post-filter", checkpoint)
    assert result.exit_code == 1 and "is not a registered filter" in result.output


def test_read_image_with_depth(tmp_path, mixed):
    assert read_image_with_depth(mixed / "odd.png")[1] == 8
    image, bits = read_image_with_depth(mixed / "deep.tif")
    assert bits == 16 and image.shape == (35, 27, 1)
    assert np.array_equal(image, read_image(mixed / "deep.tif"))
    cv2.imwrite(str(tmp_path / "float.tif"), np.full((4, 5), 0.5, np.float32))
    assert read_image_with_depth(tmp_path / "float.tif")[1] == 32


def test_compare_draws_the_gan_attention_maps(tmp_path):
    gan = _gan_checkpoint(tmp_path / "gan.pt")
    for i in range(2):
        write_image(tmp_path / "photos" / f"p{i}.png", scene(40, 48, seed=i))
    result = CliRunner().invoke(main, ["compare", "--data", f"synthetic:raindrop:{tmp_path / 'photos'}", "--method", str(gan),
                                       "--method", "median", "--out", str(tmp_path / "cmp"), "--no-lpips", "--grids", "2"])
    assert result.exit_code == 0, result.output
    figure = read_image(tmp_path / "cmp" / "attention.png")
    assert figure.shape[2] == 3 and figure.shape[0] > 2 * 40  # one row per kept image
    assert "![attention](attention.png)" in (tmp_path / "cmp" / "results.md").read_text()


def test_a_method_failing_on_one_image_names_it_and_the_batch_goes_on(tmp_path, monkeypatch):
    from agan.baselines import filters

    real = filters.median  # a filter that fails on one image size

    def fragile(image, ksize=3):
        if image.shape[0] == 33:
            raise RuntimeError("out of memory")
        return real(image, ksize)

    import agan.methods.registry as registry

    monkeypatch.setitem(registry.REGISTRY._entries, "median",
                        registry.Entry("median", registry._filter_builder(fragile, "median"), "a median that fails"))
    folder = tmp_path / "in"
    write_image(folder / "a.png", scene(32, 40))
    write_image(folder / "b.png", scene(33, 40))
    write_image(folder / "c.png", scene(34, 40))
    result = CliRunner().invoke(main, ["restore", str(folder), "-o", str(tmp_path / "out"), "--model", "median"])
    assert result.exit_code == 1
    assert f"{folder / 'b.png'}: out of memory" in result.output and "1 image(s) could not be restored" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    with pytest.raises(RuntimeError, match="out of memory"):
        CliRunner().invoke(main, ["--debug", "restore", str(folder), "-o", str(tmp_path / "o2"), "--model", "median"],
                           catch_exceptions=False)


def test_agan_load_restores_uint8_float_grey_arrays_and_files(tmp_path):
    import agan

    restorer = agan.load("median(ksize=3)", device="cpu")
    colour = (scene(31, 37) * 255).astype(np.uint8)
    out = restorer(colour)
    assert out.dtype == np.uint8 and out.shape == colour.shape
    assert np.array_equal(out, (np.clip(restorer.method(colour.astype(np.float32) / 255), 0, 1) * 255).round())
    grey = scene(20, 24, channels=1)[..., 0]
    assert restorer(grey).shape == grey.shape and restorer(grey).dtype == np.float32
    deep = (scene(20, 24) * 65535).astype(np.uint16)
    assert restorer(deep).dtype == np.uint16
    write_image(tmp_path / "p.png", scene(20, 24))
    assert restorer(tmp_path / "p.png").shape == (20, 24, 3)
    with pytest.raises(ValueError, match="must be an HWC array with 1 or 3 channels"):
        restorer(np.zeros((4, 4, 2)))
    assert "median(ksize=3)" in repr(restorer)


def test_a_phone_jpeg_is_restored_upright_keeping_its_exif_and_colour_profile(tmp_path):
    from PIL import Image, ImageCms

    stored = (scene(24, 36) * 255).astype(np.uint8)
    photo = Image.fromarray(stored)
    exif = photo.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    exif[0x010F] = "PhoneMaker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo.save(tmp_path / "phone.jpg", exif=exif.tobytes(), icc_profile=icc, quality=95)
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "phone.jpg"), "-o", str(tmp_path / "out"),
                                       "--model", "gaussian(sigma=0.5)", "--quality", 90])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "phone.jpg") as restored:
        assert restored.size == (24, 36)  # upright: the stored 36x24 turned a quarter
        assert restored.getexif()[0x0112] == 1 and restored.getexif()[0x010F] == "PhoneMaker"
        assert restored.info.get("icc_profile") == icc
    got = read_image(tmp_path / "out" / "phone.jpg") * 255
    upright, sideways = np.rot90(stored, -1), np.rot90(stored, 1)  # what the camera saw, and its mirror turn
    assert np.abs(got - upright).mean() < 0.5 * np.abs(got - sideways).mean()
    again = CliRunner().invoke(main, ["restore", str(tmp_path / "phone.jpg"), "-o", str(tmp_path / "out"),
                                      "--model", "median", "--skip-existing"])
    assert again.exit_code == 0 and "restored 0 of 1 image(s)" in again.output and "1 already there" in again.output


def test_a_model_restorer_refuses_integer_or_2d_arrays_with_a_pointer(tmp_path):
    from agan.methods.restorer import ModelRestorer
    from agan.nets.architectures import model_from_checkpoint

    model, _ = model_from_checkpoint(_dncnn_checkpoint(tmp_path / "d.pt"))
    restorer = ModelRestorer(model)
    for bad in (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.float32)):
        with pytest.raises(ValueError, match="HWC float images in \\[0, 1\\].*agan.load"):
            restorer(bad)


def test_a_large_image_reports_its_tiles_as_plain_lines_without_a_terminal(tmp_path, monkeypatch):
    from agan import restore

    monkeypatch.setattr(restore, "PROGRESS_PIXELS", 1000)  # a "large" image for the test: above 1000 pixels
    write_image(tmp_path / "big.png", scene(64, 96, 3))
    write_image(tmp_path / "small.png", scene(20, 30, 3, seed=1))  # 600 pixels: no progress lines
    checkpoint = _gan_checkpoint(tmp_path / "g.pt")
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "big.png"), str(tmp_path / "small.png"),
                                       "-o", str(tmp_path / "out"), "--model", str(checkpoint), "--tile", "32",
                                       "--overlap", "8"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "tiles (" in line]
    # 64x96 in 32-pixel tiles stepping 24: 3 x 4 = 12 tiles in batches of 4; the last line always shows
    assert lines and lines[-1].startswith("big.png: 12/12 tiles (100 %), ") and lines[-1].endswith(", done")
    assert all(line.startswith("big.png:") for line in lines)
    whole = build_method(str(checkpoint), "cpu", tile=32, overlap=8)(read_image(tmp_path / "big.png"))
    assert np.array_equal(read_image(tmp_path / "out" / "big.png"), read_image_from(whole))


def read_image_from(image):
    """``image`` as written to an 8-bit file and read back (HWC float32 [0, 1])."""
    return to_uint(image).astype(np.float32) / 255


def test_tile_report_lines_at_most_every_few_seconds_with_an_estimate():
    from agan.restore import TileReport

    now = [0.0]
    lines = []
    report = TileReport("photo.png", terminal=False, write=lines.append, every=10.0, clock=lambda: now[0])
    for done, at in [(4, 5.0), (8, 12.0), (12, 14.0), (16, 24.0)]:
        now[0] = at
        report(done, 16)
    assert lines == ["photo.png: 8/16 tiles (50 %), 12 s, about 12 s left", "photo.png: 16/16 tiles (100 %), 24 s, done"]


def test_a_tiled_restore_leaves_the_callers_image_as_it_was_and_returns_a_contiguous_array(tmp_path):
    image = scene(70, 90, 3)
    before = image.copy()
    method = build_method(str(_dncnn_checkpoint(tmp_path / "d.pt")), "cpu", tile=32, overlap=8)
    restored = method(image)
    assert np.array_equal(image, before) and restored.flags.c_contiguous and restored.shape == image.shape


def _png_header_claiming(path, width, height):
    """A PNG file whose header claims ``width x height`` (one tiny compressed row follows: not a real image)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width,height,limit", [(60000, 60000, None), (12000, 12000, None), (3000, 2000, "5")])
def test_a_huge_image_is_refused_from_its_header_in_one_line(tmp_path, width, height, limit):
    source = _png_header_claiming(tmp_path / "huge.png", width, height)
    extra = ["--max-megapixels", limit] if limit else []
    result = CliRunner().invoke(main, ["restore", str(source), "-o", str(tmp_path / "out"), "--model", "median(ksize=3)",
                                       *extra])
    assert result.exit_code == 1
    error = next(line for line in result.output.splitlines() if line.startswith("Error: "))
    assert f"huge.png: {width}x{height}" in error and "megapixels" in error and "validateInputImageSize" not in result.output
    assert ("OpenCV" in error) == (width * height > 2**30)
    assert not (tmp_path / "out" / "huge.png").exists()


def test_max_megapixels_lets_a_larger_image_through(tmp_path):
    write_image(tmp_path / "p.png", scene(40, 50, 3))  # 0.002 MP
    refused = CliRunner().invoke(main, ["restore", str(tmp_path / "p.png"), "-o", str(tmp_path / "a"), "--model",
                                        "median(ksize=3)", "--max-megapixels", "0.001"])
    allowed = CliRunner().invoke(main, ["restore", str(tmp_path / "p.png"), "-o", str(tmp_path / "b"), "--model",
                                        "median(ksize=3)", "--max-megapixels", "0.01"])
    assert refused.exit_code == 1 and "above the limit of 0.001 megapixels" in refused.output
    assert allowed.exit_code == 0 and (tmp_path / "b" / "p.png").exists()
