"""Sources of whole images from a data spec: real paired folders or clean images degraded on the fly.

A data spec is a string (see ``DESIGN.md``):

* ``PATH``: a paired folder, its layout detected by :func:`agan.data.pairing.find_pairs`;
* ``pairs:DEGRADED=CLEAN[=MASK]``: pairs named by a pattern (:func:`agan.data.pairing.pairs_from_pattern`);
* ``synthetic:KIND[(params)][+KIND...]:PATH[,PATH...]``: clean images under each
  PATH (a folder or one file), degraded on the fly by :func:`agan.data.degradations.degrade`;
* ``SPEC;SPEC...``: several of the above as one set (a :class:`MultiSource`), e.g.
  synthetic weather and real rain pairs; a part ending in ``*N`` counts each of its
  images N times in a training epoch (as BasicSR's ``dataset_enlarge_ratio``), and
  validation takes its first images from every part.

:func:`open_source` turns a spec into a :class:`Source` of whole images, which
:mod:`agan.data.datasets` cuts into training patches or yields as validation images.

Every sample is a dict: ``degraded`` and ``clean`` HWC float32 RGB or grey in
[0, 1], ``mask`` HW float32 in [0, 1] (the degradation's own mask, where it visibly
changed the image, for synthetic data; where ``|degraded - clean|`` exceeds ``mask_threshold`` in any channel
for real pairs, as the Attentive GAN's reference code does), and ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agan.data.degradations import degrade, parse_degradation
from agan.data.degradations._common import photo_scale
from agan.data.io import image_size, list_images, pixels_to_image, read_image, read_pixels
from agan.data.pairing import ImagePair, check_sizes, find_pairs, pairs_from_pattern
from agan.data.data_spec import DataSpec
from agan.data.spec import Call, format_call
from agan.errors import InputError

#: Default threshold of ``|degraded - clean|`` that marks a pixel of a real pair as corrupted.
MASK_THRESHOLD = 30 / 255


#: Inside a degradation's own mask, pixels that changed by less than this (in every channel)
#: are dropped from the training mask: they cannot be seen, so no network can find them.
VISIBLE_THRESHOLD = 10 / 255


class DatasetError(InputError):
    """A data spec that names no usable images; the message names the path and the problem."""


def mask_from_difference(degraded: np.ndarray, clean: np.ndarray, threshold: float = MASK_THRESHOLD) -> np.ndarray:
    """HW float32 mask, 1 where any channel of HWC ``degraded`` and ``clean`` differs by more than ``threshold``."""
    difference = cv2.absdiff(np.ascontiguousarray(degraded, np.float32), np.ascontiguousarray(clean, np.float32))
    difference = difference.reshape(degraded.shape)
    largest = difference[..., 0]
    for channel in range(1, difference.shape[2]):  # numpy's max over a last axis of 3 is 15x slower
        largest = np.maximum(largest, difference[..., channel])
    return (largest > threshold).astype(np.float32)


def visible_mask(mask: np.ndarray, degraded: np.ndarray, clean: np.ndarray,
                 threshold: float = VISIBLE_THRESHOLD) -> np.ndarray:
    """A degradation's HW mask restricted to the pixels it visibly changed.

    A drop's footprint also covers pixels where the refracted view happens to
    match the background (about 40 % of a synthetic drop on textured scenes
    changes by less than 10 grey levels). The attention maps are trained on
    this mask, so they learn what can be seen, as with the reference's
    difference mask for real pairs.

    Args:
        mask: HW float32 [0, 1], the degradation's own mask.
        degraded, clean: HWC float32 [0, 1] (RGB or grey), the same size.
        threshold: smallest change, in [0, 1] units, that counts.

    Returns:
        HW float32 [0, 1]: ``mask`` where any channel changed by more than
        ``threshold``, 0 elsewhere.
    """
    return mask * mask_from_difference(degraded, clean, threshold)


@dataclass
class Source:
    """Whole images of a data spec, loaded on demand.

    ``pairs`` holds real pairs, or ``clean_files`` clean images with the
    ``degradation`` chain applied at load time. ``grey`` forces one channel
    (True), three (False) or keeps each file's own (None).
    """

    spec: str
    pairs: list[ImagePair] = field(default_factory=list)
    clean_files: list[Path] = field(default_factory=list)
    degradation: list[Call] = field(default_factory=list)
    grey: bool | None = None
    mask_threshold: float = MASK_THRESHOLD
    decoded: dict[Path, np.ndarray] = field(default_factory=dict, repr=False)  # see preload()

    @property
    def synthetic(self) -> bool:
        return bool(self.degradation)

    def __len__(self) -> int:
        return len(self.clean_files) if self.synthetic else len(self.pairs)

    def name(self, index: int) -> str:
        return self.clean_files[index].stem if self.synthetic else self.pairs[index].name

    def files(self) -> list[Path]:
        """Every file the source reads; the clean side first."""
        if self.synthetic:
            return list(self.clean_files)
        masks = [p.mask for p in self.pairs if p.mask is not None]
        return [p.clean for p in self.pairs] + [p.degraded for p in self.pairs] + masks

    def path(self, index: int) -> Path:
        """The clean file of image ``index``."""
        return self.clean_files[index] if self.synthetic else self.pairs[index].clean

    def size(self, index: int) -> tuple[int, int]:
        """``(height, width)`` of image ``index``, from the file header (or the decoded pixels)."""
        pixels = self.decoded.get(self.path(index))
        return pixels.shape[:2] if pixels is not None else image_size(self.path(index))

    def preload(self) -> int:
        """Decode every file once and keep its pixels (uint8 for 8-bit files) for :meth:`load`.

        Training crops many patches from each photo; decoding the whole photo
        for each patch would cost more than the patch itself. Done before a
        DataLoader starts its workers, the pixels are shared with them.

        Returns:
            The bytes held.
        """
        for path in self.files():
            if path not in self.decoded:
                self.decoded[path] = read_pixels(path)[0]
        return sum(p.nbytes for p in self.decoded.values())

    def decoded_bytes(self) -> int:
        """About what :meth:`preload` would hold (3 bytes a pixel), from the file headers."""
        return sum(3 * h * w for h, w in map(image_size, self.files()))

    def _image(self, path: Path, crop: tuple[int, int, int, int] | None, grey: bool | None) -> np.ndarray:
        """HWC float32 [0, 1] image of ``path`` cut to ``crop``, from the decoded pixels when preloaded."""
        pixels = self.decoded.get(path)
        if pixels is None:
            return np.ascontiguousarray(_cut(read_image(path, grey=grey), crop))
        return np.ascontiguousarray(pixels_to_image(_cut(pixels, crop), grey))

    def load_clean(self, index: int, crop: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The clean image ``index``, optionally cut to ``(top, left, height, width)``: HWC float32 [0, 1]."""
        return self._image(self.path(index), crop, self.grey)

    def clean_pixels(self, index: int, crop: tuple[int, int, int, int] | None = None
                     ) -> tuple[np.ndarray, bool | None] | None:
        """The clean image ``index`` as stored (HWC RGB or grey, uint8 for 8-bit files) cut to ``crop``, with
        the ``grey`` that :func:`pixels_to_image` converts it with to :meth:`load_clean`'s image, when it
        is decoded in memory (:meth:`preload`); else None."""
        pixels = self.decoded.get(self.path(index))
        return None if pixels is None else (_cut(pixels, crop), self.grey)

    @property
    def shared_degradation(self) -> list[Call] | None:
        """The synthetic degradation chain every image gets, or None for real pairs."""
        return self.degradation or None

    def degradation_of(self, index: int) -> list[Call] | None:
        """The synthetic degradation chain image ``index`` gets, or None for a real pair."""
        return self.shared_degradation

    def load(self, index: int, rng: np.random.Generator, crop: tuple[int, int, int, int] | None = None,
             masks: bool = True) -> dict[str, Any]:
        """Sample ``index``, optionally cropped to ``(top, left, height, width)``.

        Synthetic samples are cropped before degrading (cheap) while weather is
        still sized for the whole photo (see :func:`photo_scale`). ``masks=False``
        skips narrowing a synthetic mask to its visible part (networks without
        attention do not use masks).
        """
        if self.synthetic:
            clean = self._image(self.clean_files[index], crop, self.grey)
            with photo_scale(min(self.size(index))):
                degraded, mask = degrade(clean, self.degradation, rng)
            if masks:
                mask = visible_mask(mask, degraded, clean)
        else:
            pair = self.pairs[index]
            clean = self._image(pair.clean, crop, self.grey)
            degraded = self._image(pair.degraded, crop, self.grey)
            if degraded.shape != clean.shape:
                raise DatasetError(
                    f"{pair.degraded}: size or channels {degraded.shape} differ from {pair.clean.name} {clean.shape}"
                )
            if pair.mask is not None:
                mask = visible_mask(self._image(pair.mask, crop, True)[..., 0], degraded, clean)
            else:
                mask = mask_from_difference(degraded, clean, self.mask_threshold)
        return {"degraded": degraded, "clean": clean, "mask": mask, "name": self.name(index)}


def _cut(image: np.ndarray, crop: tuple[int, int, int, int] | None) -> np.ndarray:
    if crop is None:
        return image
    top, left, h, w = crop
    return image[top : top + h, left : left + w]


def _clean_images(path_text: str) -> list[Path]:
    path = Path(path_text.strip()).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or folder")
    files = list_images(path)
    if not files:
        raise DatasetError(f"{path}: no images (PNG, JPEG, BMP, TIFF) in this folder")
    return files


class MultiSource:
    """Several sources as one: image ``i`` of the joined list, each part's images repeated
    ``repeat`` times (training weight); the interface of :class:`Source`."""

    def __init__(self, spec: str, parts: list[Source], repeats: list[int]):
        self.spec, self.parts, self.repeats = spec, parts, repeats
        self._index = [(p, i) for p, (part, n) in enumerate(zip(parts, repeats)) for _ in range(n)
                       for i in range(len(part))]

    @property
    def grey(self) -> bool | None:
        return self.parts[0].grey

    @grey.setter
    def grey(self, value: bool | None) -> None:
        for part in self.parts:
            part.grey = value

    @property
    def synthetic(self) -> bool:
        return any(part.synthetic for part in self.parts)

    def __len__(self) -> int:
        return len(self._index)

    def _at(self, index: int) -> tuple[Source, int]:
        part, inner = self._index[index]
        return self.parts[part], inner

    def name(self, index: int) -> str:
        source, inner = self._at(index)
        return source.name(inner)

    def files(self) -> list[Path]:
        return [f for part in self.parts for f in part.files()]

    def path(self, index: int) -> Path:
        source, inner = self._at(index)
        return source.path(inner)

    def size(self, index: int) -> tuple[int, int]:
        source, inner = self._at(index)
        return source.size(inner)

    def load_clean(self, index: int, crop: tuple[int, int, int, int] | None = None) -> np.ndarray:
        source, inner = self._at(index)
        return source.load_clean(inner, crop)

    def clean_pixels(self, index: int, crop: tuple[int, int, int, int] | None = None
                     ) -> tuple[np.ndarray, bool | None] | None:
        source, inner = self._at(index)
        return source.clean_pixels(inner, crop)

    @property
    def shared_degradation(self) -> list[Call] | None:
        """The synthetic degradation chain of every part when they all share one, else None."""
        chains = [part.shared_degradation for part in self.parts]
        return chains[0] if chains[0] is not None and all(c == chains[0] for c in chains) else None

    def degradation_of(self, index: int) -> list[Call] | None:
        source, inner = self._at(index)
        return source.degradation_of(inner)

    def preload(self) -> int:
        return sum(part.preload() for part in self.parts)

    def decoded_bytes(self) -> int:
        return sum(part.decoded_bytes() for part in self.parts)

    def load(self, index: int, rng: np.random.Generator, crop: tuple[int, int, int, int] | None = None,
             masks: bool = True) -> dict[str, Any]:
        source, inner = self._at(index)
        return source.load(inner, rng, crop, masks)

    def part(self, index: int) -> int:
        """Which part image ``index`` belongs to."""
        return self._index[index][0]

    def first(self, limit: int | None) -> list[int]:
        """Indices of the first ``limit`` distinct images of every part (all when None)."""
        starts = np.cumsum([0] + [len(part) * n for part, n in zip(self.parts, self.repeats)])[:-1]
        return [int(start) + i for start, part in zip(starts, self.parts)
                for i in range(len(part) if limit is None else min(limit, len(part)))]


def part_label(spec: str) -> str:
    """A short name of a one-part spec for logs: ``set5``, ``jorder_small/test``, ``rain(severity=0.5):set5``."""
    part = DataSpec.parse(spec).parts[0]
    path = Path(part.folders[0]).expanduser()
    folder = path.parent if "{id}" in path.name else path
    name = f"{folder.parent.name}/{folder.name}" if folder.name in ("train", "test", "val") else folder.name
    if part.form == "synthetic":
        kinds = "+".join(format_call(n, p) for n, p in parse_degradation(part.kinds))
        return f"{kinds}:{name}"
    return name


def open_source(spec: str, *, grey: bool | None = None, check: bool = True) -> Source | MultiSource:
    """Resolve a data spec into a :class:`Source`.

    Args:
        spec: ``PATH``, ``pairs:DEGRADED=CLEAN[=MASK]`` or ``synthetic:KINDS:PATH[,PATH...]``
            (module docstring), or several joined by ``;``, each maybe ``*N``.
        grey: force one channel (True) or three (False); None keeps the files'.
        check: for real pairs, compare the sizes of every pair up front.

    Raises:
        DatasetError, PairingError, SpecError: a one-line message naming the
            path or the spec and the problem.
    """
    parsed = DataSpec.parse(spec)
    if not parsed.single:
        opened = [open_source(part.body(), grey=grey, check=check) for part in parsed.parts]
        return MultiSource(spec, opened, [part.repeat for part in parsed.parts])
    part, spec = parsed.parts[0], spec.strip()
    if part.form == "synthetic":
        degradation = parse_degradation(part.kinds)
        files = [f for path in part.paths for f in _clean_images(path)]
        return Source(spec, clean_files=files, degradation=degradation, grey=grey)
    if part.form == "pairs":
        pairs = pairs_from_pattern("=".join(part.paths))
    else:
        pairs = find_pairs(Path(part.paths[0]).expanduser())
    if check:
        check_sizes(pairs, spec)
    return Source(spec, pairs=pairs, grey=grey)


def describe(source: Source | MultiSource) -> str:
    """One line saying what a source holds, for logs and dry runs."""
    if isinstance(source, MultiSource):
        return "; ".join(describe(part) + (f" (x{n})" if n > 1 else "") for part, n in zip(source.parts, source.repeats))
    if source.synthetic:
        kinds = "+".join(format_call(n, p) for n, p in source.degradation)
        return f"{len(source)} clean images degraded on the fly by {kinds}"
    return f"{len(source)} real pairs"


__all__ = [
    "DatasetError", "MASK_THRESHOLD", "MultiSource", "Source", "VISIBLE_THRESHOLD", "describe",
    "mask_from_difference", "open_source", "part_label", "visible_mask",
]
