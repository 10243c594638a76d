"""Datasets built from a data spec: real paired folders or clean images degraded on the fly.

A data spec is a string (see ``DESIGN.md``):

* ``PATH``: a paired folder, its layout detected by :func:`data.pairing.find_pairs`;
* ``synthetic:KIND[(params)][+KIND...]:PATH[,PATH...]``: clean images under each
  PATH (a folder or one file), degraded on the fly by :func:`data.degradations.degrade`.

:func:`open_source` turns a spec into a :class:`Source` of whole images;
:class:`PatchDataset` samples random training patches with flips and 90-degree
rotations from it, and :class:`ImageDataset` yields whole validation images with
a fixed degradation seed per image, so every run sees the same set.

Every sample is a dict: ``degraded`` and ``clean`` HWC float32 RGB or grey in
[0, 1], ``mask`` HW float32 in [0, 1] (the degradation's own mask, where it visibly
changed the image, for synthetic data; where ``|degraded - clean|`` exceeds ``mask_threshold`` in any channel
for real pairs, as the Attentive GAN's reference code does), and ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .degradations import degrade, parse_degradation
from .degradations._common import photo_scale
from .io import image_size, list_images, read_image
from .pairing import ImagePair, PairingError, check_sizes, find_pairs
from .spec import Call, SpecError, format_call, split_top_level

#: Default threshold of ``|degraded - clean|`` that marks a pixel of a real pair as corrupted.
MASK_THRESHOLD = 30 / 255

#: Inside a degradation's own mask, pixels that changed by less than this (in every channel)
#: are dropped from the training mask: they cannot be seen, so no network can find them.
VISIBLE_THRESHOLD = 10 / 255


class DatasetError(ValueError):
    """A data spec that names no usable images; the message names the path and the problem."""


def mask_from_difference(degraded: np.ndarray, clean: np.ndarray, threshold: float = MASK_THRESHOLD) -> np.ndarray:
    """HW float32 mask, 1 where any channel of HWC ``degraded`` and ``clean`` differs by more than ``threshold``."""
    return (np.abs(degraded - clean).max(axis=2) > threshold).astype(np.float32)


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
        return [p.clean for p in self.pairs] + [p.degraded for p in self.pairs]

    def size(self, index: int) -> tuple[int, int]:
        """``(height, width)`` of image ``index``, from the file header."""
        return image_size(self.clean_files[index] if self.synthetic else self.pairs[index].clean)

    def load_clean(self, index: int) -> np.ndarray:
        """The clean image ``index``: HWC float32 [0, 1]."""
        path = self.clean_files[index] if self.synthetic else self.pairs[index].clean
        return read_image(path, grey=self.grey)

    def load(self, index: int, rng: np.random.Generator, crop: tuple[int, int, int, int] | None = None) -> dict[str, Any]:
        """Sample ``index``, optionally cropped to ``(top, left, height, width)``.

        Synthetic samples are cropped before degrading (cheap) while weather is
        still sized for the whole photo (see :func:`photo_scale`).
        """
        def cut(image: np.ndarray) -> np.ndarray:
            if crop is None:
                return image
            top, left, h, w = crop
            return image[top : top + h, left : left + w]

        if self.synthetic:
            clean_full = self.load_clean(index)
            clean = np.ascontiguousarray(cut(clean_full))
            with photo_scale(min(clean_full.shape[:2])):
                degraded, mask = degrade(clean, self.degradation, rng)
            mask = visible_mask(mask, degraded, clean)
        else:
            pair = self.pairs[index]
            clean = np.ascontiguousarray(cut(read_image(pair.clean, grey=self.grey)))
            degraded = np.ascontiguousarray(cut(read_image(pair.degraded, grey=self.grey)))
            if degraded.shape != clean.shape:
                raise DatasetError(
                    f"{pair.degraded}: size or channels {degraded.shape} differ from {pair.clean.name} {clean.shape}"
                )
            if pair.mask is not None:
                mask = visible_mask(np.ascontiguousarray(cut(read_image(pair.mask, grey=True)))[..., 0], degraded, clean)
            else:
                mask = mask_from_difference(degraded, clean, self.mask_threshold)
        return {"degraded": degraded, "clean": clean, "mask": mask, "name": self.name(index)}


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


def open_source(spec: str, *, grey: bool | None = None, check: bool = True) -> Source:
    """Resolve a data spec into a :class:`Source`.

    Args:
        spec: ``PATH`` or ``synthetic:KINDS:PATH[,PATH...]`` (module docstring).
        grey: force one channel (True) or three (False); None keeps the files'.
        check: for real pairs, compare the sizes of every pair up front.

    Raises:
        DatasetError, PairingError, SpecError: a one-line message naming the
            path or the spec and the problem.
    """
    if spec.startswith("synthetic:"):
        rest = spec[len("synthetic:") :]
        parts = split_top_level(rest, ":")
        if len(parts) < 2 or not parts[0].strip() or not ":".join(parts[1:]).strip():
            raise SpecError(f"{spec!r}: expected synthetic:KIND[(params)][+KIND...]:PATH")
        kinds, paths = parts[0], ":".join(parts[1:])
        degradation = parse_degradation(kinds)
        files = [f for path in paths.split(",") if path.strip() for f in _clean_images(path)]
        return Source(spec, clean_files=files, degradation=degradation, grey=grey)
    pairs = find_pairs(Path(spec).expanduser())
    if check:
        check_sizes(pairs, spec)
    return Source(spec, pairs=pairs, grey=grey)


def describe(source: Source) -> str:
    """One line saying what a source holds, for logs and dry runs."""
    if source.synthetic:
        kinds = "+".join(format_call(n, p) for n, p in source.degradation)
        return f"{len(source)} clean images degraded on the fly by {kinds}"
    return f"{len(source)} real pairs"


def augment(arrays: list[np.ndarray], code: int) -> list[np.ndarray]:
    """Apply one of the 8 flips/90-degree rotations (``code`` 0-7) to HW or HWC arrays alike."""
    out = []
    for a in arrays:
        if code & 4:
            a = a[:, ::-1]
        a = np.rot90(a, code & 3)
        out.append(np.ascontiguousarray(a))
    return out


class PatchDataset:
    """Random training patches of a :class:`Source`, map-style (usable with a torch DataLoader).

    Any non-negative index is a position in an endless stream of epochs:
    position ``p`` belongs to epoch ``p // len(source)``, whose image order is a
    permutation drawn from ``default_rng([seed, epoch])``; the crop, the
    augmentation and a synthetic degradation draw from ``default_rng([seed, p])``.
    So batch ``s`` of size ``b`` is positions ``s*b .. s*b+b-1`` whatever the
    number of loader workers, the process, or where a run was resumed.
    ``len()`` is one epoch (or ``length``).

    Args:
        source: the images.
        patch: patch side in pixels; every image must be at least this large.
        seed: base seed.
        length: reported length; default one per image.
        augment: random flips and 90-degree rotations.

    Raises:
        DatasetError: an empty source, or an image smaller than the patch (named).
    """

    def __init__(self, source: Source, patch: int, *, seed: int = 0, length: int | None = None, augment: bool = True):
        if len(source) == 0:
            raise DatasetError(f"{source.spec}: no images")
        self.source, self.patch, self.seed, self.augment = source, int(patch), int(seed), augment
        self.length = int(length) if length is not None else len(source)
        self.sizes = [source.size(i) for i in range(len(source))]
        files = source.files()
        small = [files[i] for i, (h, w) in enumerate(self.sizes) if min(h, w) < self.patch]
        if small:
            raise DatasetError(
                f"{small[0]}: image smaller than the {self.patch}-pixel patch"
                + (f" (and {len(small) - 1} more)" if len(small) > 1 else "")
            )
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.length

    def image_index(self, position: int) -> int:
        """The image that stream position ``position`` crops from."""
        epoch, offset = divmod(int(position), len(self.source))
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.source)))
        return int(self._order[1][offset])

    def __getitem__(self, position: int) -> dict[str, Any]:
        if position < 0:
            raise IndexError(position)
        image = self.image_index(position)
        rng = np.random.default_rng([self.seed, int(position)])
        h, w = self.sizes[image]
        top = int(rng.integers(0, h - self.patch + 1))
        left = int(rng.integers(0, w - self.patch + 1))
        sample = self.source.load(image, rng, crop=(top, left, self.patch, self.patch))
        if self.augment:
            code = int(rng.integers(0, 8))
            sample["degraded"], sample["clean"], sample["mask"] = augment(
                [sample["degraded"], sample["clean"], sample["mask"]], code
            )
        return sample


class ImageDataset:
    """Whole images of a :class:`Source`, for validation and evaluation.

    Synthetic degradations draw from ``numpy.random.default_rng([seed, i])``:
    the same seed gives the same validation set in every run.
    """

    def __init__(self, source: Source, *, seed: int = 0, limit: int | None = None):
        if len(source) == 0:
            raise DatasetError(f"{source.spec}: no images")
        self.source, self.seed = source, int(seed)
        self.length = len(source) if limit is None else min(int(limit), len(source))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return self.source.load(index, np.random.default_rng([self.seed, index]))


def open_dataset(spec: str, *, patch: int | None = None, seed: int = 0, grey: bool | None = None,
                 length: int | None = None, limit: int | None = None) -> PatchDataset | ImageDataset:
    """A :class:`PatchDataset` when ``patch`` is given (training), else an :class:`ImageDataset`."""
    source = open_source(spec, grey=grey)
    if patch:
        return PatchDataset(source, patch, seed=seed, length=length)
    return ImageDataset(source, seed=seed, limit=limit)


__all__ = [
    "DatasetError", "ImageDataset", "MASK_THRESHOLD", "PairingError", "PatchDataset", "Source",
    "VISIBLE_THRESHOLD", "augment", "describe", "mask_from_difference", "visible_mask", "open_dataset", "open_source",
]
