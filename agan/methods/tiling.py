"""Inference of a network on images of any size: whole, or in overlapping tiles blended with a weight map.

Tensors are NCHW float32 in [0, 1] (RGB or grey). Tiles of ``tile`` pixels
step by ``tile - overlap``; each tile's output is weighted by a map that is
0 in the outer third of the overlap on every side that faces another tile
(where the tile's own border would show) and rises linearly to 1 over the
middle third, so seams are smooth and a network whose receptive radius is
below ``overlap // 3`` (DnCNN-17: 17 pixels, so ``overlap >= 54``) gives
exactly the whole-image result. Sides on the image border keep weight 1.
Tiles run in batches, row by row; their weighted sums are kept for one row of
tiles at a time and each finished band of rows is normalised into the output
(channels_last memory, the HWC layout of a numpy image, so the caller takes it
without a copy; or the input itself when the caller hands it over). A
callback set with :func:`tile_progress` hears of each batch done.

:func:`autocast_forward` runs a forward under bf16 autocast on CUDA (float32
everywhere else) and returns float32; :func:`self_ensemble` averages a
forward over the eight flips and 90-degree rotations of the input (the x8
self-ensemble of KAIR's ``test_mode`` mode 3), each output mapped back first.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from typing import Callable, Iterator

import torch

from agan.nets.architectures import architecture_of

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]

#: Tile side used when an image is too large for one pass and no tile is asked for.
DEFAULT_TILE = 512

#: ``(tiles done, tiles in all)`` after each batch of tiles, set by :func:`tile_progress`.
TileCallback = Callable[[int, int], None]
_progress: contextvars.ContextVar[TileCallback | None] = contextvars.ContextVar("tile_progress", default=None)


@contextlib.contextmanager
def tile_progress(callback: TileCallback | None) -> Iterator[None]:
    """Within the block, :func:`tiled` calls ``callback(done, total)`` after each batch of tiles."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def run_network(model: torch.nn.Module) -> Forward:
    """``x -> (image, attention or None)`` for any of agan's architectures (see ``Architecture.outputs``)
    or a module of your own that returns an image."""
    outputs = architecture_of(model, foreign=True).outputs

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return outputs(model(x))

    return forward


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / stride) + 1
    return sorted({min(i * stride, length - tile) for i in range(count)})


def _ramp(size: int, overlap: int, low_side: bool, high_side: bool, device: torch.device) -> torch.Tensor:
    """1-D weights of a tile: 0 over the outer third of the overlap, a linear rise over the middle third."""
    w = torch.ones(size, device=device)
    margin = overlap // 3
    rise = max(overlap - 2 * margin, 1)
    ramp = ((torch.arange(size, device=device, dtype=torch.float32) - margin + 0.5) / rise).clamp(0, 1)
    if low_side:
        w = torch.minimum(w, ramp)
    if high_side:
        w = torch.minimum(w, ramp.flip(0))
    return w


class _RowBand:
    """The weighted sums of tile outputs (and attention maps, and weights) over the rows of the image
    that are not final yet: ``rows`` rows from ``top``, the height of one row of tiles."""

    def __init__(self, rows: int, width: int, channels: int, attention: bool, device: torch.device):
        self.top, self.rows = 0, rows
        self.image = torch.empty((1, channels, rows, width), device=device, memory_format=torch.channels_last).zero_()
        self.attention = torch.zeros(1, 1, rows, width, device=device) if attention else None
        self.weight = torch.zeros(1, 1, rows, width, device=device)

    def add(self, y: int, x0: int, output: torch.Tensor, attention: torch.Tensor | None, weight: torch.Tensor) -> None:
        """Add a tile's weighted output at image rows ``y ...`` (within the band) and columns ``x0 ...``."""
        rows, cols = slice(y - self.top, y - self.top + output.shape[-2]), slice(x0, x0 + output.shape[-1])
        self.image[..., rows, cols] += output.float() * weight
        if self.attention is not None:
            self.attention[..., rows, cols] += attention.float() * weight
        self.weight[..., rows, cols] += weight

    def finish(self, upto: int, image: torch.Tensor, attention: torch.Tensor | None) -> None:
        """Write the blended rows ``top .. upto - 1`` (no tile still to come covers them) into ``image``
        and ``attention``, and move the band down to start at ``upto``."""
        n = upto - self.top
        if n <= 0:
            return
        image[..., self.top : upto, :] = self.image[..., :n, :] / self.weight[..., :n, :]
        if attention is not None:
            attention[..., self.top : upto, :] = self.attention[..., :n, :] / self.weight[..., :n, :]
        for band in (self.image, self.attention, self.weight):
            if band is not None:
                band[..., : self.rows - n, :] = band[..., n:, :].clone()
                band[..., self.rows - n :, :] = 0
        self.top = upto


@torch.inference_mode()
def tiled(forward: Forward, x: torch.Tensor, tile: int, overlap: int, batch: int = 4,
          attention_wanted: bool = True, into_input: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run ``forward`` over overlapping tiles of ``x`` (1CHW) and blend; returns ``(image, attention or None)``.

    Tiles run row by row; the rows that no later tile covers are blended and written out as soon
    as a row of tiles is done, so the sums in flight span one row of tiles, not the image.

    Args:
        forward: the network as from :func:`run_network`.
        x: ``(1, C, H, W)`` input in [0, 1].
        tile: tile side in pixels (clipped to the image).
        overlap: pixels shared by neighbouring tiles; ``< tile``.
        batch: tiles per forward pass.
        attention_wanted: blend the network's attention maps too (False: ``attention`` is None).
        into_input: write the output into ``x`` itself (when it has the output's channels and is
            float32): its rows are overwritten only once no tile still to run reads them. For a
            caller that owns ``x`` and needs no copy of it (``agan restore`` on a big photo).

    Returns:
        ``image (1, C', H, W)`` float32 (channels_last memory, or ``x``) and ``attention (1, 1, H, W)``
        or None. Besides them, only a band of one row of tiles is allocated at the image's width.
    """
    if overlap >= tile:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({tile})")
    _, _, height, width = x.shape
    th, tw = min(tile, height), min(tile, width)
    stride_h, stride_w = max(th - overlap, 1), max(tw - overlap, 1)
    ys, xs = _starts(height, th, stride_h), _starts(width, tw, stride_w)
    boxes = [(y, x0) for y in ys for x0 in xs]
    progress = _progress.get()
    image = attention = band = None
    for first in range(0, len(boxes), batch):
        chunk = boxes[first : first + batch]
        outputs, maps = forward(torch.cat([x[..., y : y + th, x0 : x0 + tw] for y, x0 in chunk]))
        if band is None:
            channels = outputs.shape[1]
            in_place = into_input and x.shape[1] == channels and x.dtype == torch.float32
            image = x if in_place else torch.empty((1, channels, height, width), device=x.device,
                                                   memory_format=torch.channels_last)
            wanted = maps is not None and attention_wanted
            attention = torch.empty(1, 1, height, width, device=x.device) if wanted else None
            band = _RowBand(th, width, channels, wanted, x.device)
        for k, (y, x0) in enumerate(chunk):
            band.finish(y, image, attention)  # a new row of tiles starts at y: the rows above it are final
            wy = _ramp(th, overlap, y > 0, y + th < height, x.device)
            wx = _ramp(tw, overlap, x0 > 0, x0 + tw < width, x.device)
            band.add(y, x0, outputs[k : k + 1], None if maps is None else maps[k : k + 1],
                     (wy[:, None] * wx[None, :])[None, None])
        del outputs, maps  # this batch's activations go before the next batch's are made
        if progress is not None:
            progress(first + len(chunk), len(boxes))
    band.finish(height, image, attention)
    return image, attention


def autocast_forward(forward: Forward, device: torch.device, bf16: bool | None = None) -> Forward:
    """``forward`` under bf16 autocast when ``bf16`` (None: on CUDA only), else in float32; outputs are
    float32 either way."""
    bf16 = device.type == "cuda" if bf16 is None else bf16

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        context = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with context:
            image, attention = forward(x)
        return image.float(), (attention.float() if attention is not None else None)

    return run


def tile_side(height: int, width: int, tile: int | None, max_pixels: int, default: int = DEFAULT_TILE) -> int | None:
    """The tile side to use for an ``height x width`` image, or None for one whole-image forward.

    Whole when no ``tile`` is asked for and the image has at most ``max_pixels``
    pixels; otherwise ``tile`` (``default`` when None).
    """
    if tile is None and height * width <= max_pixels:
        return None
    return default if tile is None else tile


def _augment(x: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode 0-7 of the x8 ensemble on NCHW: ``mode % 4`` quarter turns, then a left-right flip if ``mode >= 4``."""
    x = torch.rot90(x, mode % 4, dims=(2, 3))
    return x.flip(3) if mode >= 4 else x


def _restore_orientation(y: torch.Tensor, mode: int) -> torch.Tensor:
    """The inverse of :func:`_augment`: undo the flip, then turn back."""
    y = y.flip(3) if mode >= 4 else y
    return torch.rot90(y, -(mode % 4), dims=(2, 3))


@torch.inference_mode()
def self_ensemble(forward: Forward, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The x8 self-ensemble: mean of ``forward`` over the 8 flips/rotations of ``x``, each mapped back.

    Args:
        forward: ``x -> (image, attention or None)``, e.g. a whole-image or a
            tiled forward; it sees (N, C, W, H) inputs for odd quarter turns.
        x: ``(N, C, H, W)`` input in [0, 1].

    Returns:
        ``(image (N, C', H, W), attention (N, 1, H, W) or None)``, float32
        means of the 8 outputs (the attention maps averaged the same way).
    """
    image_sum = attention_sum = None
    for mode in range(8):
        image, attention = forward(_augment(x, mode))
        image = _restore_orientation(image.float(), mode)
        image_sum = image if image_sum is None else image_sum + image
        if attention is not None:
            attention = _restore_orientation(attention.float(), mode)
            attention_sum = attention if attention_sum is None else attention_sum + attention
    return image_sum / 8, (attention_sum / 8 if attention_sum is not None else None)
