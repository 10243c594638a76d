"""Training patches and validation images from a :mod:`agan.data.sources` source.

:class:`PatchDataset` samples random training patches with flips and 90-degree
rotations (the eight symmetries) from a source; :class:`ImageDataset` yields whole
validation images with a fixed degradation seed per image, so every run sees the
same set. Samples are dicts: ``degraded`` and ``clean`` HWC float32 RGB or grey in
[0, 1], ``mask`` HW float32 in [0, 1], and ``name`` (see :mod:`agan.data.sources`).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, TypeVar

import cv2
import numpy as np

from agan.data.degradations import draw_layers, has_layers
from agan.data.degradations.batched import batchable, degrade_batch
from agan.data.io import ImageReadError, pixels_to_image
from agan.data.sources import DatasetError, MultiSource, Source, part_label, visible_mask

T = TypeVar("T")

#: Weather draws a :class:`PatchDataset` with ``share`` > 1 keeps per photo size class, used in turn.
WEATHER_POOL = 32

#: Seconds to wait before each new try at reading a training image that failed to read.
READ_RETRY_SECONDS = (0.5, 2.0)


#: OpenCV's rotation for ``np.rot90(a, k)``, k = 1, 2, 3 (counter-clockwise quarter turns).
_ROTATIONS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


def augment(arrays: list[np.ndarray], code: int) -> list[np.ndarray]:
    """Apply one of the 8 flips/90-degree rotations (``code`` 0-7) to HW or HWC arrays alike: a
    left-right flip when ``code & 4``, then ``np.rot90(a, code & 3)``; new contiguous arrays
    (OpenCV's flip and rotate, three to four times faster than numpy's strided copies)."""
    out = []
    for a in arrays:
        shape = a.shape
        if code & 4:
            a = cv2.flip(a, 1)
        if code & 3:
            a = cv2.rotate(a, _ROTATIONS[code & 3])
        elif not code & 4:
            a = a.copy()
        out.append(a.reshape(a.shape[:2] + shape[2:]))  # OpenCV drops a last axis of 1
    return out


def augment_into(source: np.ndarray, code: int, out: np.ndarray) -> None:
    """Write :func:`augment` ``([source], code)[0]`` into ``out`` (a contiguous HWC array of the result's
    shape and ``source``'s dtype, such as one patch of a batch): one OpenCV call for seven of the
    eight codes (a flip then a quarter turn is a transpose or a flip about the other axis), and no
    new array."""
    if out.ndim == 3 and out.shape[2] == 1:  # OpenCV writes into a HW view, not an HW1 array
        source, out = source[..., 0], out[..., 0]
    if code == 0:
        np.copyto(out, source)
    elif code == 4:
        cv2.flip(source, 1, dst=out)
    elif code == 5:  # rot90 of a left-right flip
        cv2.transpose(source, dst=out)
    elif code == 6:  # a half turn of a left-right flip
        cv2.flip(source, 0, dst=out)
    elif code == 7:  # three quarter turns of a left-right flip
        cv2.transpose(cv2.flip(source, -1), dst=out)
    else:
        cv2.rotate(source, _ROTATIONS[code], dst=out)


_MASK64 = (1 << 64) - 1


def position_draws(seed: int, position: int, ranges: tuple[int, ...]) -> list[int]:
    """One integer uniform in ``[0, n)`` for each ``n`` of ``ranges``, a function of ``(seed, position)``
    alone: SplitMix64 (Steele et al. 2014) from a state set by the two, scaled by a 64-bit
    multiply. A few microseconds, where building a numpy generator for the position costs
    five times as much, and a batch of noise patches needs nothing else from it."""
    state = (int(seed) * 0xD1B54A32D192ED03 + int(position)) & _MASK64
    out = []
    for n in ranges:
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        out.append(((z ^ (z >> 31)) * int(n)) >> 64)
    return out


def position_draws_array(seed: int, positions: np.ndarray, ranges: tuple[np.ndarray | int, ...]) -> list[np.ndarray]:
    """:func:`position_draws` for many positions at once, the same values: ``positions`` a 1-D int
    array, each of ``ranges`` an int or an int array like it (each below 2**32); one int64 array
    of draws per range. About twenty numpy operations whatever the count: for a batch, a fraction
    of :func:`position_draws` position by position; for one position, twenty times its cost (so
    one position keeps the Python form)."""
    u64 = np.uint64
    state = u64((int(seed) * 0xD1B54A32D192ED03) & _MASK64) + np.asarray(positions, np.int64).astype(u64)
    out = []
    for n in ranges:
        n = np.asarray(n, np.int64)
        if n.size and not (n.min() >= 1 and n.max() < 2**32):
            raise ValueError(f"position_draws_array takes ranges in [1, 2**32), got {n.min()} to {n.max()}")
        n = n.astype(u64)
        state = state + u64(0x9E3779B97F4A7C15)
        z = (state ^ (state >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
        z ^= z >> u64(31)
        # the top 64 bits of the 128-bit product z * n, from 32-bit halves (no term overflows)
        out.append(((z >> u64(32)) * n + (((z & u64(0xFFFFFFFF)) * n) >> u64(32)) >> u64(32)).astype(np.int64))
    return out


class PatchDataset:
    """Random training patches of a :class:`Source`, map-style (usable with a torch DataLoader).

    Any non-negative index is a position in an endless stream of epochs:
    position ``p`` belongs to epoch ``p // len(source)``, whose image order is a
    permutation drawn from ``default_rng([seed, epoch])``; the crop and the
    augmentation come from :func:`position_draws` ``(seed, p)``, and a synthetic
    degradation draws from ``default_rng([seed, p])``.
    So batch ``s`` of size ``b`` is positions ``s*b .. s*b+b-1`` whatever the
    number of loader workers, the process, or where a run was resumed.
    ``len()`` is one epoch (or ``length``).

    A DataLoader fetches a batch's positions together (:meth:`__getitems__`): for
    synthetic noise the patches are then degraded as one batch (several times
    faster at 40-64 pixels), the same crops with noise of the same distribution
    as one by one, drawn from ``default_rng([seed, first position, batch size])``.
    With ``share`` > 1, synthetic weather drawn for one patch (from its position's
    generator, as one by one) also degrades ``share - 1`` later patches of photos of a
    similar size, each with its own crop, photo and flip or rotation (applied after the
    weather): drawing the weather, not applying it, is the cost. The draws wait in a pool of
    :data:`WEATHER_POOL` per size class, used in turn, so a draw's patches are that many
    patches of the class apart and a batch of up to that many patches has a draw for each
    (no two of its patches share one, unlike sharing inside a batch, which costs quality).
    The pool lives in the process that fetches (each DataLoader worker has its own and
    starts empty), so with ``share`` > 1 the draws depend on the number of workers and on
    where a run was resumed; the same seed and workers give the same run.

    Args:
        source: the images.
        patch: patch side in pixels; every image must be at least this large.
        seed: base seed.
        length: reported length; default one per image.
        augment: random flips and 90-degree rotations.
        masks: narrow synthetic masks to what visibly changed (the GAN's attention
            targets); False leaves a degradation's own mask, for networks that use none.
        share: patches that one weather draw degrades (1: a draw for every patch).

    Raises:
        DatasetError: an empty source, or an image smaller than the patch (named).
    """

    def __init__(self, source: Source | MultiSource, patch: int, *, seed: int = 0, length: int | None = None,
                 augment: bool = True, masks: bool = True, share: int = 1):
        if len(source) == 0:
            raise DatasetError(f"{source.spec}: no images")
        if int(share) < 1:
            raise ValueError(f"share must be at least 1, got {share}")
        self.source, self.patch, self.seed, self.augment = source, int(patch), int(seed), augment
        self.masks, self.share = masks, int(share)
        self._pools: dict[tuple, list] = {}  # size class -> [turn, slots of [layer, uses]] (_shared_weather)
        self._pools_pid = os.getpid()  # the process the pools were filled in
        self.length = int(length) if length is not None else len(source)
        self.sizes = [source.size(i) for i in range(len(source))]
        self._heights, self._widths = (np.array([size[k] for size in self.sizes], np.int64) for k in (0, 1))
        small = list(dict.fromkeys(source.path(i) for i, (h, w) in enumerate(self.sizes) if min(h, w) < self.patch))
        if small:
            raise DatasetError(
                f"{small[0]}: image smaller than the {self.patch}-pixel patch"
                + (f" (and {len(small) - 1} more)" if len(small) > 1 else "")
            )
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.length

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """The image order of ``epoch`` (a permutation; the last one asked for is kept)."""
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.source)))
        return self._order[1]

    def image_index(self, position: int) -> int:
        """The image that stream position ``position`` crops from."""
        epoch, offset = divmod(int(position), len(self.source))
        return int(self._epoch_order(epoch)[offset])

    def _retried(self, read: Callable[[], T], rng: np.random.Generator | None = None) -> T:
        """``read()``, tried again after each of :data:`READ_RETRY_SECONDS` when a file cannot be read
        (a network disk that drops out for a moment), with ``rng`` back in its state each time."""
        state = rng.bit_generator.state if rng is not None else None
        for wait in READ_RETRY_SECONDS:
            try:
                return read()
            except (ImageReadError, OSError):
                time.sleep(wait)
                if rng is not None:
                    rng.bit_generator.state = state
        return read()

    def _load(self, image: int, rng: np.random.Generator, crop: tuple[int, int, int, int]) -> dict[str, Any]:
        """``source.load`` of a crop, :meth:`_retried`."""
        return self._retried(lambda: self.source.load(image, rng, crop=crop, masks=self.masks), rng)

    def _place(self, position: int) -> tuple[int, tuple[int, int, int, int], int]:
        """The image, the crop ``(top, left, height, width)`` and the augmentation code of ``position``
        (from :func:`position_draws`)."""
        if position < 0:
            raise IndexError(position)
        image = self.image_index(position)
        h, w = self.sizes[image]
        top, left, code = position_draws(self.seed, int(position), (h - self.patch + 1, w - self.patch + 1, 8))
        return image, (top, left, self.patch, self.patch), code

    def _places(self, positions: list[int]) -> list[tuple[int, tuple[int, int, int, int], int]]:
        """:meth:`_place` of each of ``positions``, the same values, drawn for all at once
        (:func:`position_draws_array`: cheaper for a batch, dearer for one position)."""
        at = np.asarray(positions, np.int64)
        if at.size and at.min() < 0:
            raise IndexError(int(at.min()))
        epochs, offsets = np.divmod(at, len(self.source))
        images = np.empty_like(at)
        for epoch in np.unique(epochs).tolist():  # one epoch, or two where the batch crosses into the next
            inside = epochs == epoch
            images[inside] = self._epoch_order(epoch)[offsets[inside]]
        heights, widths = self._heights[images], self._widths[images]
        tops, lefts, codes = position_draws_array(self.seed, at, (heights - self.patch + 1, widths - self.patch + 1, 8))
        size = self.patch
        return [(image, (top, left, size, size), code)
                for image, top, left, code in zip(images.tolist(), tops.tolist(), lefts.tolist(), codes.tolist())]

    def _generator(self, position: int) -> np.random.Generator:
        """The generator a synthetic degradation of ``position`` alone draws from."""
        return np.random.default_rng([self.seed, int(position)])

    def __getitem__(self, position: int) -> dict[str, Any]:
        image, crop, code = self._place(position)
        return self._augmented(self._load(image, self._generator(position), crop), code)

    def _augmented(self, sample: dict[str, Any], code: int) -> dict[str, Any]:
        if self.augment:
            sample["degraded"], sample["clean"], sample["mask"] = augment(
                [sample["degraded"], sample["clean"], sample["mask"]], code
            )
        return sample

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pools": {}}  # drawn layers are closures; a worker starts its own pool

    def _shared_weather(self, positions: list[int]) -> list[dict[str, Any]]:
        """The samples of ``positions``, each weather draw degrading ``share`` patches (see the class).

        A patch takes the next slot of its pool, one per chain, patch shape and photo size class
        (short sides within 25 %, so weather sized for one photo looks right on the others); a
        slot whose draw has degraded ``share`` patches, or none yet, draws anew from the generator
        of the patch that finds it so, under that photo's scale. Real pairs and kinds without a
        layer form load one by one."""
        if self._pools_pid != os.getpid():  # a forked worker starts its own pools, as a spawned one does
            self._pools, self._pools_pid = {}, os.getpid()
        samples = []
        for position, (image, crop, code) in zip(positions, self._places(positions)):
            chain = self.source.degradation_of(image)
            if chain is None or not has_layers(chain):
                samples.append(self._augmented(self._load(image, self._generator(position), crop), code))
                continue
            side = min(self.sizes[image])
            clean = self._retried(lambda: self.source.load_clean(image, crop))
            key = (id(chain), clean.shape, round(np.log(side) / np.log(1.25)))
            pool = self._pools.setdefault(key, [0, [None] * WEATHER_POOL])
            turn, pool[0] = pool[0] % WEATHER_POOL, pool[0] + 1
            drawn = pool[1][turn]
            if drawn is None or drawn[1] == self.share:
                drawn = pool[1][turn] = [draw_layers(chain, self._generator(position), clean.shape, side / 512.0), 0]
            drawn[1] += 1
            samples.append(self._augmented(self._synthetic(image, clean, *drawn[0](clean)), code))
        return samples

    def _synthetic(self, image: int, clean: np.ndarray, degraded: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
        """The sample of a synthetic patch of ``image``, its mask narrowed to what visibly changed
        when ``masks`` (as :meth:`Source.load` does)."""
        if self.masks:
            mask = visible_mask(mask, degraded, clean)
        return {"degraded": degraded, "clean": clean, "mask": mask, "name": self.source.name(image)}

    def _clean_batch(self, places: list[tuple[int, tuple[int, int, int, int], int]]) -> np.ndarray:
        """The clean patches of ``places`` (:meth:`_place`), augmented, as one NHWC float32 batch in [0, 1].

        Photos decoded in memory are cut and augmented as stored (uint8 for 8-bit files: a quarter
        of the bytes) and converted together, the batch seen as one tall image; the same values
        as converting each patch alone. Otherwise patch by patch."""
        stored = [self.source.clean_pixels(image, crop) for image, crop, _ in places]
        if all(s is not None for s in stored) and len({(p.dtype, p.shape[2], grey) for p, grey in stored}) == 1:
            first = stored[0][0]
            n, (h, w, c) = len(stored), first.shape
            pixels = np.empty((n, h, w, c), first.dtype)
            for (p, _), (_, _, code), out in zip(stored, places, pixels):
                augment_into(p, code if self.augment else 0, out)
            return pixels_to_image(pixels.reshape(n * h, w, c), stored[0][1]).reshape(n, h, w, -1)
        cleans = []
        for image, crop, code in places:
            clean = self._retried(lambda: self.source.load_clean(image, crop))
            cleans.append(augment([clean], code)[0] if self.augment else clean)
        return np.stack(cleans)

    def __getitems__(self, positions: list[int]) -> list[dict[str, Any]]:
        """The samples of several positions (a DataLoader's batch), noise degraded as one batch.

        When every image gets the same synthetic chain of noise kinds (those of
        :mod:`agan.data.degradations.batched`), each clean patch is cut and augmented
        as :meth:`__getitem__` does, and the batch is degraded together from
        ``default_rng([seed, positions[0], len(positions)])``. Augmenting before the
        noise instead of after is the same in distribution for these kinds (they are
        independent per pixel or have no preferred direction). Otherwise weather draws
        are reused when ``share`` > 1 (:meth:`_shared_weather`); else, and for a
        single position, position by position.
        """
        if len(positions) < 2:
            return [self[p] for p in positions]
        chain = self.source.shared_degradation
        if chain is None or not batchable(chain):
            return self._shared_weather(positions) if self.share > 1 else [self[p] for p in positions]
        places = self._places(positions)
        images = [image for image, _, _ in places]
        clean = self._clean_batch(places)
        rng = np.random.default_rng([self.seed, int(positions[0]), len(positions)])
        degraded, masks = degrade_batch(clean, chain, rng, [min(self.sizes[i]) for i in images])
        return [self._synthetic(image, clean[i], degraded[i], masks[i]) for i, image in enumerate(images)]


class ImageDataset:
    """Whole images of a :class:`Source`, for validation and evaluation.

    Synthetic degradations draw from ``numpy.random.default_rng([seed, i])``,
    ``i`` the image's place in the source: the same seed gives the same
    validation set in every run, and an image the same degradation whether the
    set is limited or not. ``limit`` keeps the first images (of each part of a
    :class:`MultiSource`), or with ``spread`` images spread evenly over the set.
    """

    def __init__(self, source: Source | MultiSource, *, seed: int = 0, limit: int | None = None,
                 spread: bool = False):
        if len(source) == 0:
            raise DatasetError(f"{source.spec}: no images")
        self.source, self.seed = source, int(seed)
        if spread and limit is not None and not isinstance(source, MultiSource) and limit < len(source):
            self.indices = sorted({int(round(i)) for i in np.linspace(0, len(source) - 1, int(limit))})
            self.labels = [part_label(source.spec)] * len(self.indices)
        elif isinstance(source, MultiSource):
            self.indices = source.first(limit)
            names = [part_label(part.spec) for part in source.parts]
            names = [f"{n}#{k + 1}" if names.count(n) > 1 else n for k, n in enumerate(names)]
            self.labels = [names[source.part(i)] for i in self.indices]
        else:
            self.indices = list(range(len(source) if limit is None else min(int(limit), len(source))))
            self.labels = [part_label(source.spec)] * len(self.indices)
        self.length = len(self.indices)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return self.source.load(self.indices[index], np.random.default_rng([self.seed, self.indices[index]]))


__all__ = ["WEATHER_POOL", "ImageDataset", "PatchDataset", "augment", "augment_into", "position_draws", "position_draws_array"]
