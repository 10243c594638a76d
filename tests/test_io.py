import os

import cv2
import numpy as np
import pytest
from conftest import scene

from agan.data.io import ImageReadError, ImageWriteError, read_image, write_image


@pytest.mark.parametrize("suffix,bits,tolerance", [(".png", 8, 0.5 / 255), (".png", 16, 0.5 / 65535),
                                                   (".tif", 8, 0.5 / 255), (".tif", 16, 0.5 / 65535)])
@pytest.mark.parametrize("channels", [1, 3])
def test_lossless_round_trip(tmp_path, suffix, bits, tolerance, channels):
    image = scene(31, 37, channels)
    path = write_image(tmp_path / f"x{suffix}", image, bits=bits)
    back = read_image(path)
    assert back.dtype == np.float32 and back.shape == image.shape
    assert np.abs(back - image).max() <= tolerance + 1e-7


def test_rgb_order_at_the_boundary(tmp_path):
    red = np.zeros((4, 5, 3), np.float32)
    red[..., 0] = 1.0
    write_image(tmp_path / "red.png", red)
    bgr = cv2.imread(str(tmp_path / "red.png"))
    assert bgr[0, 0].tolist() == [0, 0, 255]
    assert read_image(tmp_path / "red.png")[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_sixteen_bit_tiff_keeps_precision(tmp_path):
    pixels = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    cv2.imwrite(str(tmp_path / "deep.tif"), pixels)
    image = read_image(tmp_path / "deep.tif")
    assert image.shape == (64, 64, 1) and image.dtype == np.float32
    np.testing.assert_allclose(image[..., 0], pixels / 65535.0, atol=1e-7)


def test_rgba_png_drops_alpha_with_warning(tmp_path):
    bgra = np.zeros((8, 9, 4), np.uint8)
    bgra[..., 2] = 200  # red in BGR order
    bgra[..., 3] = 100
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    with pytest.warns(UserWarning, match="alpha"):
        image = read_image(tmp_path / "a.png")
    assert image.shape == (8, 9, 3)
    np.testing.assert_allclose(image[0, 0], [200 / 255, 0, 0], atol=1e-6)


def test_grey_jpeg_reads_as_one_channel(tmp_path):
    cv2.imwrite(str(tmp_path / "g.jpg"), np.full((16, 12), 128, np.uint8))
    image = read_image(tmp_path / "g.jpg")
    assert image.shape == (16, 12, 1)
    assert abs(float(image.mean()) - 128 / 255) < 2 / 255
    assert read_image(tmp_path / "g.jpg", grey=False).shape == (16, 12, 3)


def test_bmp_reads_as_rgb_in_zero_to_one(tmp_path):
    cv2.imwrite(str(tmp_path / "b.bmp"), np.broadcast_to(np.uint8([10, 20, 30]), (5, 6, 3)))  # OpenCV writes BGR
    image = read_image(tmp_path / "b.bmp")
    assert image.shape == (5, 6, 3) and image.dtype == np.float32
    assert np.allclose(image, np.float32([30, 20, 10]) / 255)


def test_truncated_png_is_rejected_by_name(tmp_path):
    path = write_image(tmp_path / "cut.png", scene(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.png: truncated PNG"):
        read_image(path)


@pytest.mark.parametrize("content,message", [(b"", "empty file"), (b"this is not an image", "not a readable image")])
def test_empty_and_non_image_files(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content if content else b"")
    with pytest.raises(ImageReadError, match=message):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png")


def test_write_is_atomic_and_leaves_no_temporary(tmp_path):
    write_image(tmp_path / "out.png", scene(8, 8))
    with pytest.raises(ImageWriteError, match="out.gif"):
        write_image(tmp_path / "out.gif", scene(8, 8))
    with pytest.raises(ImageWriteError, match="16 bits"):
        write_image(tmp_path / "deep.jpg", scene(8, 8), bits=16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_bytes_to_unit_is_division_by_255_for_any_shape():
    from agan.data.io import bytes_to_unit

    rng = np.random.default_rng(0)
    everything = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    for pixels in (everything, rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
                   rng.integers(0, 256, (3, 6, 4, 3), dtype=np.uint8),  # a batch
                   rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)[2:9, 5:17],  # a crop, not contiguous
                   np.zeros((0, 4, 3), np.uint8), np.arange(7, dtype=np.uint8)):
        got = bytes_to_unit(pixels)
        assert got.dtype == np.float32 and got.shape == pixels.shape
        assert np.array_equal(got, pixels.astype(np.float32) / np.float32(255.0))


def test_to_uint_rounds_half_to_even_like_numpy_for_any_shape():
    from agan.data.io import to_uint

    ties = [np.float32((k + 0.5) / 255).view(np.int32) + np.arange(-50, 51, dtype=np.int32) for k in range(255)]
    near_ties = np.concatenate(ties).view(np.float32).reshape(-1, 101, 1)  # every rounding tie and its neighbours
    rng = np.random.default_rng(0)
    for image in (near_ties, rng.random((4, 6, 5, 3), dtype=np.float32) * 1.4 - 0.2,  # a batch, out of range
                  (rng.random((20, 30, 3), dtype=np.float32))[2:9, 5:17], rng.random((6, 5, 3))):  # a crop; float64
        got = to_uint(image)
        assert got.dtype == np.uint8 and np.array_equal(got, np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    assert np.array_equal(to_uint(near_ties, 16), np.round(near_ties * 65535).astype(np.uint16))
