"""Image reading and writing: the only place where OpenCV's BGR and integer pixels exist.

Inside the toolkit an image is an HWC float32 numpy array in [0, 1], RGB
(3 channels) or grey (1 channel, shape ``(H, W, 1)``). :func:`read_image`
turns PNG, JPEG, BMP and TIFF files of 8 or 16 bits, grey, RGB or RGBA into
that (:func:`read_image_with_depth` also tells the file's bit depth);
:func:`write_image` writes it back as PNG, JPEG or TIFF (8 or 16 bit)
through a temporary file and a rename, so a crash never leaves a half-written
image under the final name.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from agan.data.image import to_grey
from agan.errors import InputError

_UMASK = os.umask(0)
os.umask(_UMASK)

READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


class ImageReadError(InputError):
    """An image file that is missing, empty, truncated or not an image; the message names the file."""


class ImageWriteError(InputError):
    """An image that cannot be written; the message names the file."""


#: Images larger than this many megapixels are refused from their header (before any decoding), by
#: default: 100 MP as float32 RGB is 1.2 GB, and a header can claim far more than the file holds.
DEFAULT_MAX_MEGAPIXELS = 100.0
#: What OpenCV decodes at most (its CV_IO_MAX_IMAGE_PIXELS, 2**30 pixels).
OPENCV_MAX_PIXELS = 2**30
_max_megapixels: contextvars.ContextVar[float] = contextvars.ContextVar("max_megapixels", default=DEFAULT_MAX_MEGAPIXELS)


@contextlib.contextmanager
def max_megapixels(limit: float) -> Iterator[None]:
    """Within the block, images up to ``limit`` megapixels are read (``agan restore --max-megapixels``)."""
    token = _max_megapixels.set(float(limit))
    try:
        yield
    finally:
        _max_megapixels.reset(token)


def _header_size(source: Path | bytes) -> tuple[int, int] | None:
    """``(width, height)`` that a file's header claims (Pillow reads the header only), or None;
    ``source`` is the file or its bytes."""
    try:
        from PIL import Image
    except ImportError:
        return None
    bomb_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # a huge header is ours to refuse, with its size in the message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as handle:
                return handle.size
    except Exception:  # a format Pillow does not know, or a header it cannot parse: OpenCV will say
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = bomb_limit


def _check_size(path: Path, data: bytes) -> None:
    """Refuse a file whose header claims more pixels than the limit (or than OpenCV decodes)."""
    size = _header_size(data)
    if size is None:
        return
    width, height = size
    pixels, limit = width * height, _max_megapixels.get()
    if pixels > OPENCV_MAX_PIXELS:
        raise ImageReadError(f"{path}: {width}x{height} ({pixels / 1e6:.0f} megapixels) is more than OpenCV "
                             f"decodes ({OPENCV_MAX_PIXELS / 1e6:.0f} megapixels)")
    if pixels > limit * 1e6:
        raise ImageReadError(f"{path}: {width}x{height} ({pixels / 1e6:.0f} megapixels) is above the limit of "
                             f"{limit:g} megapixels (agan restore --max-megapixels raises it)")


def is_image_file(path: str | Path) -> bool:
    """True for a file whose extension is one :func:`read_image` accepts (case-insensitive)."""
    return Path(path).suffix.lower() in READ_EXTENSIONS


def _looks_truncated(path: Path, data: bytes) -> bool:
    """Detect truncated PNG and JPEG files, which OpenCV may decode partially without an error."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return not data.rstrip(b"\0").endswith(b"IEND\xaeB`\x82")
    if data.startswith(b"\xff\xd8"):
        return b"\xff\xd9" not in data[-64:]
    return False


def read_image(path: str | Path, *, grey: bool | None = None) -> np.ndarray:
    """Read an image file into the toolkit's convention.

    Args:
        path: a PNG, JPEG, BMP or TIFF file; 8 or 16 bit; grey, RGB or RGBA.
        grey: None keeps the file's channels; True converts to one channel
            (BT.601 luma); False converts grey to 3 channels.

    Returns:
        HWC float32 array in [0, 1], RGB with C = 3 or grey with C = 1. An alpha
        channel is dropped with a warning.

    Raises:
        ImageReadError: the file is missing, empty, truncated, or not a
            readable image; the one-line message names the file.
    """
    image, _, alpha = _read(path, grey)
    if alpha:
        warnings.warn(f"{path}: alpha channel dropped", stacklevel=2)
    return image


def read_image_with_depth(path: str | Path, *, grey: bool | None = None) -> tuple[np.ndarray, int]:
    """Read an image like :func:`read_image` and report the file's bit depth per channel.

    Returns:
        ``(image, bits)``: the HWC float32 [0, 1] RGB or grey image, and 8 for
        8-bit files, 16 for 16-bit PNG/TIFF, 32 for floating-point TIFF. An
        alpha channel is dropped with a warning.

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    image, bits, alpha = _read(path, grey)
    if alpha:
        warnings.warn(f"{path}: alpha channel dropped", stacklevel=2)
    return image, bits


def _decode(path: Path) -> np.ndarray:
    """The file's pixels as OpenCV decodes them (BGR/BGRA order, integer or float), after the checks."""
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    data = path.read_bytes()
    if not data:
        raise ImageReadError(f"{path}: empty file")
    if _looks_truncated(path, data):
        kind = "PNG" if data.startswith(b"\x89PNG") else "JPEG"
        raise ImageReadError(f"{path}: truncated {kind} file")
    _check_size(path, data)
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise ImageReadError(f"{path}: not a readable image (PNG, JPEG, BMP or TIFF)")
    return pixels


_EXIF_ORIENTATION = 0x0112


def _orientation(path: Path) -> int:
    """The EXIF orientation (1-8) of a JPEG or TIFF file; 1 when it has none."""
    if path.suffix.lower() not in (".jpg", ".jpeg", ".tif", ".tiff"):
        return 1
    try:
        from PIL import Image

        with Image.open(path) as handle:
            value = int(handle.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # no Pillow, or a file Pillow cannot parse: OpenCV's pixels as they are
        return 1
    return value if 1 <= value <= 8 else 1


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels as stored turned the way a phone's EXIF orientation says they are seen (1 = as stored)."""
    if orientation in (5, 6, 7, 8):  # the stored rows are the picture's columns
        pixels = np.swapaxes(pixels, 0, 1)
    steps = {2: (False, True), 3: (True, True), 4: (True, False), 5: (False, False), 6: (False, True),
             7: (True, True), 8: (True, False)}.get(orientation)
    if steps is None:
        return pixels
    flip_rows, flip_columns = steps
    if flip_rows:
        pixels = pixels[::-1]
    if flip_columns:
        pixels = pixels[:, ::-1]
    return np.ascontiguousarray(pixels)


_SCALES = {np.dtype(np.uint8): (255.0, 8), np.dtype(np.uint16): (65535.0, 16), np.dtype(np.float32): (1.0, 32),
           np.dtype(np.float64): (1.0, 32)}


def read_pixels(path: str | Path) -> tuple[np.ndarray, bool]:
    """A file's pixels as stored: HWC RGB or grey, uint8, uint16 or float, alpha dropped.

    For decoding once and converting crops later with :func:`pixels_to_image`
    (a uint8 photo takes a quarter of the memory of its float32 image).

    Returns:
        ``(pixels, whether an alpha channel was dropped)``.

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    path = Path(path)
    pixels = _orient(_decode(path), _orientation(path))
    if pixels.dtype not in _SCALES:
        raise ImageReadError(f"{path}: unsupported pixel type {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    channels = pixels.shape[2]
    alpha = channels in (2, 4)
    if channels == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB)
    elif channels == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    elif channels == 2:  # grey + alpha
        pixels = pixels[..., :1]
    elif channels != 1:
        raise ImageReadError(f"{path}: unsupported channel count {channels}")
    return pixels, alpha


#: ``k / 255`` in float32 for each byte value ``k``: OpenCV's table lookup converts 8-bit pixels in
#: one pass (a third faster than numpy's conversion then division), the same values.
_BYTE_TO_UNIT = (np.arange(256, dtype=np.float32) / np.float32(255.0)).reshape(1, 256)


def bytes_to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels of any shape (HWC or NHWC, any channel order) as float32 ``pixels / 255`` in [0, 1],
    the same layout (a new array)."""
    if pixels.ndim < 2 or pixels.size == 0:
        return pixels.astype(np.float32) / np.float32(255.0)
    rows = np.ascontiguousarray(pixels).reshape(len(pixels), -1)  # one channel to OpenCV: any number of channels
    return cv2.LUT(rows, _BYTE_TO_UNIT).reshape(pixels.shape)


def pixels_to_image(pixels: np.ndarray, grey: bool | None = None) -> np.ndarray:
    """Pixels of :func:`read_pixels` (or a crop of them) in the toolkit's convention: HWC float32 [0, 1],
    converted to one channel (``grey=True``) or three (``grey=False``) as :func:`read_image` does."""
    scale, _ = _SCALES[pixels.dtype]
    image = bytes_to_unit(pixels) if pixels.dtype == np.uint8 else pixels.astype(np.float32) / np.float32(scale)
    if scale == 1.0:  # integer pixels are in range already
        image = np.clip(image, 0.0, 1.0)
    if grey is True and image.shape[2] == 3:
        image = to_grey(image)
    elif grey is False and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def _read(path: str | Path, grey: bool | None) -> tuple[np.ndarray, int, bool]:
    """``(HWC float32 [0, 1] RGB or grey image, bits per channel, whether an alpha channel was dropped)``."""
    pixels, alpha = read_pixels(path)
    return pixels_to_image(pixels, grey), _SCALES[pixels.dtype][1], alpha


def to_uint(image: np.ndarray, bits: int = 8) -> np.ndarray:
    """HWC (or NHWC) float32 [0, 1] to rounded uint8 (bits=8) or uint16 (bits=16), same layout and channel order."""
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    inside = image.size == 0 or (image.min() >= 0.0 and image.max() <= 1.0)  # NaN fails both: clipped
    clipped = image if inside else np.clip(image, 0.0, 1.0)  # no whole-image copy for a restored image
    if bits == 8 and clipped.dtype == np.float32 and clipped.ndim >= 2 and clipped.size:
        # one OpenCV pass, the same bytes: float32 x * 255 rounded half to even and saturated
        return cv2.convertScaleAbs(clipped.reshape(len(clipped), -1), alpha=255.0).reshape(clipped.shape)
    top = 255 if bits == 8 else 65535
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.round(clipped * top).astype(dtype)


def encode_image(image: np.ndarray, suffix: str, *, bits: int = 8, quality: int = 95) -> bytes:
    """Encode an HWC float32 [0, 1] RGB or grey image to the bytes of a ``suffix`` file."""
    suffix = suffix.lower()
    if suffix not in WRITE_EXTENSIONS:
        raise ValueError(f"cannot write {suffix or 'extension-less'} files; use one of {', '.join(WRITE_EXTENSIONS)}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"image must be HWC with 1 or 3 channels, got shape {image.shape}")
    if bits == 16 and suffix in (".jpg", ".jpeg"):
        raise ValueError("JPEG holds 8 bits only; write PNG or TIFF for 16 bits")
    pixels = to_uint(image, bits)
    if pixels.shape[2] == 3:
        cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR, dst=pixels)  # in place: a 24 MP photo has no second copy
    else:
        pixels = pixels[..., 0]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if suffix in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {suffix} image")
    return encoded.tobytes()


def read_metadata(path: str | Path) -> dict[str, bytes]:
    """What a restored photo should keep of ``path``: its EXIF block (orientation set to 1, as
    :func:`read_image` has already turned the pixels) and ICC colour profile, when it has them.

    Returns:
        ``{"exif": bytes, "icc": bytes}``, either key absent when the file has none (or no Pillow).
    """
    try:
        from PIL import Image

        with Image.open(path) as handle:
            icc = handle.info.get("icc_profile")
            exif = handle.getexif()
            if exif:
                exif[_EXIF_ORIENTATION] = 1
            exif_bytes = exif.tobytes() if exif else None
    except Exception:
        return {}
    return {k: v for k, v in (("exif", exif_bytes), ("icc", icc)) if v}


def _with_metadata(jpeg: bytes, metadata: dict[str, bytes]) -> bytes:
    """A JPEG with EXIF (APP1) and ICC profile (APP2) segments inserted after its start marker."""
    segments = b""
    exif = metadata.get("exif")
    if exif:
        payload = exif if exif.startswith(b"Exif\0\0") else b"Exif\0\0" + exif
        if len(payload) <= 65533:
            segments += b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    icc = metadata.get("icc")
    if icc:
        chunks = [icc[i : i + 65519] for i in range(0, len(icc), 65519)]
        for number, chunk in enumerate(chunks, 1):
            payload = b"ICC_PROFILE\0" + bytes([number, len(chunks)]) + chunk
            segments += b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segments + jpeg[2:]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the mode open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_image(path: str | Path, image: np.ndarray, *, bits: int = 8, quality: int = 95,
                metadata: dict[str, bytes] | None = None) -> Path:
    """Write an image atomically (temporary name, then rename).

    Args:
        path: destination; the extension picks the format: .png, .jpg/.jpeg, .tif/.tiff.
        image: HWC (or HW) float32 in [0, 1], RGB or grey; values outside are clipped.
        bits: 8, or 16 for PNG and TIFF.
        quality: JPEG quality.
        metadata: :func:`read_metadata` of the source; a JPEG keeps its EXIF and ICC profile
            (other formats are written without).

    Returns:
        The path written.

    Raises:
        ImageWriteError: unsupported extension or bit depth, or a bad image shape;
            the message names the file.
    """
    path = Path(path)
    try:
        data = encode_image(image, path.suffix, bits=bits, quality=quality)
    except ValueError as err:
        raise ImageWriteError(f"{path}: {err}") from None
    if metadata and path.suffix.lower() in (".jpg", ".jpeg"):
        data = _with_metadata(data, metadata)
    atomic_write_bytes(path, data)
    return path


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image file as :func:`read_image` returns it (EXIF orientation
    applied), read from its header when possible.

    Raises:
        ImageReadError: the file cannot be opened as an image.
    """
    path = Path(path)
    size = _header_size(path)
    if size is None:  # Pillow unable: a full decode
        image = read_image(path)
        return image.shape[0], image.shape[1]
    width, height = size
    return (width, height) if _orientation(path) in (5, 6, 7, 8) else (height, width)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name (hidden files skipped)."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p) and not p.name.startswith("."))
